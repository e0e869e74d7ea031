package lazy

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
)

func TestVerify(t *testing.T) {
	p := sqlitePlan(t, fixtures, bcrypt.MinCost)
	tb := startBridge(t, p, Config{})
	ctx := context.Background()
	tests := []struct {
		name, login, password string
		wantOK                bool
		wantReason            string
	}{
		{"right password", "Alice@Example.com", alice.password, true, ""},
		{"email in another case", "alice@EXAMPLE.com", alice.password, true, ""},
		{"wrong password", "bob@example.com", "not-bobs", false, ReasonWrong},
		{"unknown email", "nobody@example.com", "whatever", false, ReasonUnknown},
		{"disabled user with the right password", carol.email, carol.password, false, ReasonDisabled},
		{"user without a password", dave.email, "anything", false, ReasonNoPassword},
		{"malformed hash", frank.email, frank.password, false, ReasonUnusable},
		{"phpass hash", erin.email, erin.password, true, ""},
		{"empty password", "bob@example.com", "", false, ReasonMissing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tb.Verify(ctx, tc.login, tc.password)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.OK != tc.wantOK || res.Reason != tc.wantReason {
				t.Fatalf("got ok=%v reason=%q, want ok=%v reason=%q", res.OK, res.Reason, tc.wantOK, tc.wantReason)
			}
			if res.User != nil && (res.User.PasswordHash != "" || res.User.PasswordSalt != "") {
				t.Errorf("the result carries the legacy hash; it must not")
			}
		})
	}
	t.Run("user_info is the mapped profile", func(t *testing.T) {
		res, err := tb.Verify(ctx, "alice@example.com", alice.password)
		if err != nil || !res.OK {
			t.Fatalf("got %+v, %v; want a verified user", res, err)
		}
		want := map[string]any{"legacy_id": "1", "email": "Alice@Example.com", "name": "Alice Archer", "given_name": "Alice",
			"family_name": "Archer", "custom_attributes": map[string]any{"plan": "pro"}}
		if got, _ := json.Marshal(res.UserInfo); string(got) != mustJSON(t, want) {
			t.Errorf("got user_info %s, want %s", got, mustJSON(t, want))
		}
	})
	t.Run("successes are recorded, failures are not", func(t *testing.T) {
		m, err := tb.Store().Migrated(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Users != 2 {
			t.Errorf("got %d migrated users, want 2 (alice, erin)", m.Users)
		}
		for _, u := range []legacyUser{alice, erin} {
			if !m.Has(&strategies.User{LegacyID: itoa(u.id)}) {
				t.Errorf("user %d is not recorded as migrated", u.id)
			}
		}
	})
}

func TestUserInfoOption(t *testing.T) {
	p := sqlitePlan(t, fixtures, bcrypt.MinCost)
	p.Lazy.UserInfo = []string{"email", "given_name", "custom_attributes.plan"}
	tb := startBridge(t, p, Config{})
	res, err := tb.Verify(context.Background(), "bob@example.com", bob.password)
	if err != nil || !res.OK {
		t.Fatalf("got %+v, %v; want a verified user", res, err)
	}
	want := `{"custom_attributes":{"plan":"free"},"email":"bob@example.com","given_name":"Bob"}`
	if got, _ := json.Marshal(res.UserInfo); string(got) != want {
		t.Errorf("got user_info %s, want %s", got, want)
	}

	p.Lazy.UserInfo = []string{"password_hash"}
	if _, err := New(context.Background(), Config{Plan: p, Secret: testSecret}); strategies.CodeOf(err) != strategies.CodePlan {
		t.Errorf("user_info listing password_hash: got %v, want a plan error", err)
	}
}

// TestDialects speaks each dialect's exact contract.
func TestDialects(t *testing.T) {
	legacy := sqliteLegacy(t, fixtures, bcrypt.MinCost)
	bridgeFor := func(t *testing.T, dialect string) *testBridge {
		p := lazyPlan(t, strategies.SourceSpec{Kind: strategies.SourceSQLite, Path: legacy, Table: "users"}, t.TempDir())
		p.Lazy.Dialect = dialect
		return startBridge(t, p, Config{})
	}
	bearer := "Bearer " + testSecret
	type step struct {
		name, method, path, ctype, auth, body string
		wantStatus                            int
		wantBody                              string // a regular expression the body must match ("" = anything)
	}
	tests := []struct {
		dialect string
		steps   []step
	}{
		{strategies.DialectAuthproject, []step{
			{"right password", "POST", "/verify", "application/x-www-form-urlencoded", bearer, "email=alice%40example.com&password=alice-old-pw",
				200, `^\{"success":true,"user_info":\{.*"email":"Alice@Example.com".*"legacy_id":"1".*\}\}\n$`},
			{"wrong password", "POST", "/verify", "application/x-www-form-urlencoded", bearer, "email=alice%40example.com&password=nope", 200, `^\{"success":false\}\n$`},
			{"unknown email", "POST", "/verify", "application/x-www-form-urlencoded", bearer, "email=x%40example.com&password=nope", 200, `^\{"success":false\}\n$`},
			{"JSON instead of a form", "POST", "/verify", "application/json", bearer, `{"email":"alice@example.com"}`, 415, ""},
			{"GET", "GET", "/verify", "", bearer, "", 405, ""},
		}},
		{strategies.DialectKeycloak, []step{
			{"GET a user by email", "GET", "/users/alice@example.com", "", bearer, "",
				200, `"id":"1","username":"Alice@Example.com","email":"Alice@Example.com","firstName":"Alice","lastName":"Archer","enabled":true,"emailVerified":false,"attributes":\{.*"plan":\["pro"\].*\},"roles":\[\],"groups":\[\],"requiredActions":\[\]`},
			{"GET an unknown user", "GET", "/users/nobody@example.com", "", bearer, "", 404, ""},
			{"GET a disabled user", "GET", "/users/" + carol.email, "", bearer, "", 404, ""},
			{"POST the right password", "POST", "/users/alice@example.com", "application/json", bearer, `{"password":"alice-old-pw"}`, 200, ""},
			{"POST a wrong password", "POST", "/users/alice@example.com", "application/json", bearer, `{"password":"nope"}`, 401, ""},
			// A legacy id is not a login (issue 13 item 3): a guessable number signs nobody in.
			{"POST to the legacy id", "POST", "/users/2", "application/json", bearer, `{"password":"bob-old-pw"}`, 401, ""},
			{"Basic auth with the secret", "POST", "/users/bob@example.com", "application/json",
				"Basic " + base64.StdEncoding.EncodeToString([]byte("keycloak:"+testSecret)), `{"password":"bob-old-pw"}`, 200, ""},
		}},
		{strategies.DialectKratos, []step{
			{"match", "POST", "/password-migration", "application/json", bearer, `{"identifier":"alice@example.com","password":"alice-old-pw"}`,
				200, `^\{"status":"password_match"\}\n$`},
			{"mismatch", "POST", "/password-migration", "application/json", bearer, `{"identifier":"alice@example.com","password":"nope"}`, 403, ""},
			{"unknown", "POST", "/password-migration", "application/json", bearer, `{"identifier":"x@example.com","password":"nope"}`, 403, ""},
			{"not JSON", "POST", "/password-migration", "application/json", bearer, `identifier=x`, 400, ""},
		}},
		{strategies.DialectFusionAuth, []step{
			{"success", "POST", "/authenticate", "application/json", bearer,
				`{"applicationId":"3c219e58-ed0e-4b18-ad48-f4f92793ae32","eventInfo":{"ipAddress":"10.0.0.1"},"loginId":"alice@example.com","newDevice":false,"noJWT":false,"password":"alice-old-pw"}`,
				200, `^\{"user":\{"active":true,"data":\{.*"plan":"pro".*\},"email":"Alice@Example.com","firstName":"Alice","fullName":"Alice Archer","id":"[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}","lastName":"Archer"\}\}\n$`},
			{"wrong password", "POST", "/authenticate", "application/json", bearer, `{"loginId":"alice@example.com","password":"nope"}`, 404, `^$`},
			{"disabled", "POST", "/authenticate", "application/json", bearer, `{"loginId":"` + carol.email + `","password":"carol-old-pw"}`, 404, `^$`},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.dialect, func(t *testing.T) {
			tb := bridgeFor(t, tc.dialect)
			for _, s := range tc.steps {
				status, body := tb.do(t, s.method, s.path, s.ctype, s.auth, s.body)
				if status != s.wantStatus {
					t.Errorf("%s: got HTTP %d (%s), want %d", s.name, status, body, s.wantStatus)
					continue
				}
				if s.wantBody != "" && !regexp.MustCompile(s.wantBody).MatchString(body) {
					t.Errorf("%s: got body %s, want one matching %s", s.name, body, s.wantBody)
				}
			}
		})
	}
}

func TestFusionAuthIDIsStable(t *testing.T) {
	a := fusionAuthID(&strategies.User{LegacyID: "42"})
	if b := fusionAuthID(&strategies.User{LegacyID: "42"}); a != b {
		t.Errorf("got %s then %s for the same legacy id, want the same", a, b)
	}
	if c := fusionAuthID(&strategies.User{LegacyID: "43"}); a == c {
		t.Errorf("got %s for two legacy ids, want different ids", a)
	}
	const u = "0F0F65EE-4C7D-45A0-A740-BCBBFD3FCF06"
	if got := fusionAuthID(&strategies.User{LegacyID: u}); got != strings.ToLower(u) {
		t.Errorf("got %s for a UUID legacy id, want it kept (%s)", got, strings.ToLower(u))
	}
}

func TestCallerAuthentication(t *testing.T) {
	p := sqlitePlan(t, fixtures, bcrypt.MinCost)
	tb := startBridge(t, p, Config{})
	form := "email=bob%40example.com&password=bob-old-pw"
	tests := []struct {
		name, auth string
		want       int
	}{
		{"no secret", "", http.StatusUnauthorized},
		{"unknown scheme", "Token " + testSecret, http.StatusUnauthorized},
		{"wrong secret", "Bearer not-the-secret", http.StatusForbidden},
		{"secret as a prefix", "Bearer " + testSecret + "x", http.StatusForbidden},
		{"wrong Basic password", "Basic " + base64.StdEncoding.EncodeToString([]byte("u:nope")), http.StatusForbidden},
		{"right secret", "Bearer " + testSecret, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, body := tb.do(t, "POST", PathVerify, "application/x-www-form-urlencoded", tc.auth, form); got != tc.want {
				t.Errorf("got HTTP %d (%s), want %d", got, body, tc.want)
			}
		})
	}
	t.Run("health needs no secret", func(t *testing.T) {
		if got, body := tb.do(t, "GET", PathHealth, "", "", ""); got != 200 || !strings.Contains(body, `"status":"ok"`) {
			t.Errorf("got HTTP %d %s, want 200 with status ok", got, body)
		}
	})
	t.Run("a body over the limit is refused", func(t *testing.T) {
		big := form + "&pad=" + strings.Repeat("x", MaxBody)
		if got, _ := tb.do(t, "POST", PathVerify, "application/x-www-form-urlencoded", "Bearer "+testSecret, big); got != http.StatusRequestEntityTooLarge {
			t.Errorf("got HTTP %d, want 413", got)
		}
	})
	t.Run("no secret configured is a plan error", func(t *testing.T) {
		_, err := New(context.Background(), Config{Plan: p})
		var e *strategies.Error
		if !errors.As(err, &e) || e.Field != "lazy.secret" {
			t.Errorf("got %v, want a plan error on lazy.secret", err)
		}
	})
	t.Run("no_auth opts out explicitly", func(t *testing.T) {
		q := *p
		q.Lazy.NoAuth = true
		nb := startBridge(t, &q, Config{})
		if got, body := nb.do(t, "POST", PathVerify, "application/x-www-form-urlencoded", "", form); got != 200 || !strings.Contains(body, `"success":true`) {
			t.Errorf("got HTTP %d %s, want 200 success", got, body)
		}
	})
}

// fakeClock is an injectable clock for the rate limits.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestRateLimits(t *testing.T) {
	t.Run("the 11th wrong attempt for one email within a minute is refused", func(t *testing.T) {
		clk := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		tb := startBridge(t, sqlitePlan(t, fixtures, bcrypt.MinCost), Config{Now: clk.Now})
		for i := 1; i <= 10; i++ {
			if got, body := tb.verifyForm(t, "bob@example.com", "wrong"); got != 200 || !strings.Contains(body, `"success":false`) {
				t.Fatalf("attempt %d: got HTTP %d %s, want 200 success false", i, got, body)
			}
			clk.Add(5 * time.Second)
		}
		if got, _ := tb.verifyForm(t, "bob@example.com", "wrong"); got != http.StatusTooManyRequests {
			t.Fatalf("11th wrong attempt: got HTTP %d, want 429", got)
		}
		if got, _ := tb.verifyForm(t, "BOB@example.com", bob.password); got != http.StatusTooManyRequests {
			t.Errorf("right password while limited (other case): got HTTP %d, want 429", got)
		}
		if got, body := tb.verifyForm(t, "Alice@Example.com", alice.password); got != 200 || !strings.Contains(body, `"success":true`) {
			t.Errorf("another email: got HTTP %d %s, want 200 success", got, body)
		}
		clk.Add(15 * time.Second) // the first failure is now a minute old
		if got, body := tb.verifyForm(t, "bob@example.com", bob.password); got != 200 || !strings.Contains(body, `"success":true`) {
			t.Errorf("a minute after the first failure: got HTTP %d %s, want 200 success", got, body)
		}
	})
	t.Run("configurable per identifier", func(t *testing.T) {
		p := sqlitePlan(t, fixtures, bcrypt.MinCost)
		p.Lazy.RateLimit.PerIdentifier = 3
		tb := startBridge(t, p, Config{})
		for i := 1; i <= 3; i++ {
			tb.verifyForm(t, "bob@example.com", "wrong")
		}
		if got, _ := tb.verifyForm(t, "bob@example.com", "wrong"); got != http.StatusTooManyRequests {
			t.Errorf("4th wrong attempt with per_identifier 3: got HTTP %d, want 429", got)
		}
	})
	t.Run("per client", func(t *testing.T) {
		clk := &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
		p := sqlitePlan(t, fixtures, bcrypt.MinCost)
		p.Lazy.RateLimit.PerClient = 5
		tb := startBridge(t, p, Config{Now: clk.Now})
		for i := 1; i <= 5; i++ {
			if got, _ := tb.verifyForm(t, "Alice@Example.com", alice.password); got != 200 {
				t.Fatalf("request %d: got HTTP %d, want 200", i, got)
			}
		}
		if got, _ := tb.verifyForm(t, "Alice@Example.com", alice.password); got != http.StatusTooManyRequests {
			t.Errorf("6th request with per_client 5: got HTTP %d, want 429", got)
		}
		clk.Add(time.Minute)
		if got, _ := tb.verifyForm(t, "Alice@Example.com", alice.password); got != 200 {
			t.Errorf("a minute later: got HTTP %d, want 200", got)
		}
	})
}

func TestLimiterForgetsIdleKeys(t *testing.T) {
	clk := &fakeClock{t: time.Unix(0, 0)}
	l := newLimiter(2, clk.Now)
	for i := range pruneAbove {
		l.add(itoa(i))
	}
	clk.Add(time.Minute)
	l.add("fresh")
	if got := len(l.keys); got != 1 {
		t.Errorf("got %d tracked keys after a minute, want 1", got)
	}
}

// legacyApp is a legacy login endpoint for delegation tests.
type legacyApp struct {
	mu    sync.Mutex
	forms []map[string]string
	delay time.Duration
	// arrived, when set, is sent a value as each request arrives.
	arrived chan struct{}
}

func (a *legacyApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if a.arrived != nil {
		a.arrived <- struct{}{}
	}
	if a.delay > 0 {
		time.Sleep(a.delay)
	}
	got := map[string]string{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		_ = json.NewDecoder(r.Body).Decode(&got)
	} else {
		_ = r.ParseForm()
		for k := range r.PostForm {
			got[k] = r.PostForm.Get(k)
		}
	}
	a.mu.Lock()
	a.forms = append(a.forms, got)
	a.mu.Unlock()
	ok := got["login"] == "bob@example.com" && got["pass"] == "bob-secret-in-app" ||
		got["email"] == "bob@example.com" && got["password"] == "bob-secret-in-app"
	switch r.URL.Path {
	case "/json-field":
		writeJSON(w, http.StatusOK, map[string]any{"result": map[string]any{"ok": ok}})
	default:
		if !ok {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

func TestDelegation(t *testing.T) {
	app := &legacyApp{}
	legacy := httptest.NewServer(app)
	defer legacy.Close()
	tests := []struct {
		name     string
		delegate strategies.Delegate
	}{
		{"form, status decides", strategies.Delegate{URL: legacy.URL + "/login"}},
		{"json with field names, status decides", strategies.Delegate{URL: legacy.URL + "/login", Encoding: "json", EmailField: "login", PasswordField: "pass"}},
		{"json field decides", strategies.Delegate{URL: legacy.URL + "/json-field", Encoding: "json", SuccessField: "result.ok"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := sqlitePlan(t, fixtures, bcrypt.MinCost)
			d := tc.delegate
			p.Lazy.Delegate = &d
			tb := startBridge(t, p, Config{})
			if _, body := tb.verifyForm(t, "bob@example.com", "bob-secret-in-app"); !strings.Contains(body, `"success":true`) || !strings.Contains(body, `"name":"Bob Baker"`) {
				t.Errorf("the app's password: got %s, want success with the profile from the source", body)
			}
			if _, body := tb.verifyForm(t, "bob@example.com", bob.password); body != "{\"success\":false}\n" {
				t.Errorf("the hash's password the app refuses: got %s, want success false", body)
			}
		})
	}
	if !strings.Contains(mustJSON(t, app.forms), `"login":"bob@example.com"`) {
		t.Errorf("the legacy app never saw the configured field names: %v", len(app.forms))
	}
}

func TestGracefulShutdown(t *testing.T) {
	app := &legacyApp{delay: 400 * time.Millisecond, arrived: make(chan struct{}, 1)}
	legacy := httptest.NewServer(app)
	defer legacy.Close()
	p := sqlitePlan(t, fixtures, bcrypt.MinCost)
	p.Lazy.Delegate = &strategies.Delegate{URL: legacy.URL + "/login"}
	b, err := New(context.Background(), Config{Plan: p, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- b.Serve(ctx, ln) }()
	type reply struct {
		status int
		body   string
		err    error
	}
	got := make(chan reply, 1)
	go func() {
		req, _ := http.NewRequest("POST", "http://"+ln.Addr().String()+PathVerify, strings.NewReader("email=bob%40example.com&password=bob-secret-in-app"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+testSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- reply{err: err}
			return
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		got <- reply{status: resp.StatusCode, body: string(body), err: err}
	}()
	select {
	case <-app.arrived: // the request is in flight at the legacy app
	case r := <-got:
		t.Fatalf("the request ended before reaching the legacy app: %d %q %v", r.status, r.body, r.err)
	}
	stop()
	r := <-got
	if r.err != nil || r.status != 200 || !strings.Contains(r.body, `"success":true`) {
		t.Errorf("in-flight request across shutdown: got %d %q %v, want 200 success", r.status, r.body, r.err)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: got %v, want nil after a graceful shutdown", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Errorf("the bridge still accepts connections after shutdown")
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func itoa(i int) string {
	b, _ := json.Marshal(i)
	return string(b)
}

func TestNewChecksTheLookupColumn(t *testing.T) {
	p := sqlitePlan(t, fixtures, bcrypt.MinCost)
	p.Mapping.Email = strategies.FieldRef{Column: "mail"}
	_, err := New(context.Background(), Config{Plan: p, Secret: testSecret})
	var e *strategies.Error
	if !errors.As(err, &e) || e.Field != "mapping.email" || !strings.Contains(e.Message, `"mail"`) {
		t.Errorf("got %v, want an error on mapping.email naming the column", err)
	}
}
