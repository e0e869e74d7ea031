package lazy

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // the MariaDB legacy fixture
	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources/demo"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

// demoPlan is a lazy plan over the bundled demo database (bcrypt, Django PBKDF2,
// phpass and salted SHA-256 users), and the emails of active users of each format
// (unique ignoring case), keyed by category. bcryptCost, when not 0, rehashes the
// bcrypt users at that cost (the race detector makes cost 10 take seconds).
func demoPlan(t testing.TB, bcryptCost int) (*strategies.Plan, map[string][]string) {
	t.Helper()
	dir := t.TempDir()
	path, err := demo.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	p := demo.Plan(path)
	p.Strategy = strategies.StrategyLazy
	p.Lazy = strategies.LazyOptions{Store: filepath.Join(dir, "lazy.db"), RateLimit: strategies.RateLimit{PerIdentifier: 1 << 20, PerClient: 1 << 30}}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if bcryptCost != 0 {
		h, err := bcrypt.GenerateFromPassword([]byte("demo-bcrypt-password"), bcryptCost)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec("UPDATE users SET password = ? WHERE password LIKE '$2%'", string(h)); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := db.Query(`SELECT email, password, coalesce(salt, '') FROM users u WHERE is_active AND password IS NOT NULL AND
		(SELECT count(*) FROM users v WHERE lower(v.email) = lower(u.email)) = 1 ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byCat := map[string][]string{}
	for rows.Next() {
		var email, hash, salt string
		if err := rows.Scan(&email, &hash, &salt); err != nil {
			t.Fatal(err)
		}
		cat := ""
		switch {
		case strings.HasPrefix(hash, "$2"):
			cat = "bcrypt"
		case strings.HasPrefix(hash, "pbkdf2_sha256$"):
			cat = "pbkdf2"
		case strings.HasPrefix(hash, "$P$"):
			cat = "phpass"
		case salt != "":
			cat = "salted_sha256"
		}
		if cat != "" {
			byCat[cat] = append(byCat[cat], email)
		}
	}
	for i := range 400 {
		byCat["unknown"] = append(byCat["unknown"], fmt.Sprintf("nobody%03d@example.org", i))
	}
	return p, byCat
}

// TestTimingDoesNotTellFormat performs issue 13 item 1: wrong-password probes told a
// PBKDF2, phpass or salted SHA-256 user apart from an unknown email (bcrypt decoy) by
// the answer's time. It asserts only a lower bound, which padding guarantees whatever
// the load: the fastest probe of every category takes at least half the fastest
// bcrypt probe (before: PBKDF2 ~1 ms against bcrypt ~100 ms at cost 10; here the
// bcrypt users are rehashed at cost 6 to keep the test short under -race).
func TestTimingDoesNotTellFormat(t *testing.T) {
	p, byCat := demoPlan(t, 6)
	b, err := New(context.Background(), Config{Plan: p, Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fastest := map[string]time.Duration{}
	for cat, emails := range byCat {
		if len(emails) < 3 {
			t.Fatalf("the demo database has %d %s users, want at least 3", len(emails), cat)
		}
		for _, e := range emails[:3] {
			start := time.Now()
			res, err := b.Verify(context.Background(), e, "not-the-password")
			d := time.Since(start)
			if err != nil || res.OK {
				t.Fatalf("%s %s: got %+v, %v, want a failed verification", cat, e, res, err)
			}
			if f, ok := fastest[cat]; !ok || d < f {
				fastest[cat] = d
			}
		}
	}
	for cat, d := range fastest {
		if d < fastest["bcrypt"]/2 {
			t.Errorf("%s: fastest wrong-password answer %v, bcrypt's %v: the time tells the format", cat, d, fastest["bcrypt"])
		}
	}
}

// mariadbUnicodeCI creates the users table with utf8mb4_unicode_ci text columns, which
// compare "víctor", "victor" and a full-width "ｖictor" as equal.
func mariadbUnicodeCI(t *testing.T, us []legacyUser) string {
	t.Helper()
	dsn := sourcetest.MariaDB(t)
	db, err := sql.Open("mysql", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE users (id INT PRIMARY KEY, email VARCHAR(255) COLLATE utf8mb4_unicode_ci NOT NULL,
		name VARCHAR(255) COLLATE utf8mb4_unicode_ci, given_name TEXT, family_name TEXT, is_active BOOLEAN NOT NULL,
		password TEXT, plan TEXT, INDEX (email)) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`); err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if _, err := db.Exec("INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?)", u.id, u.email, u.name, u.given, u.family, u.active, hashOf(t, u, bcrypt.MinCost), u.plan); err != nil {
			t.Fatal(err)
		}
	}
	return dsn
}

// TestCollationVariantsDoNotReachTheRecord performs issue 13 item 2 on a real MariaDB:
// variants the collation folds onto victor's address each had a fresh bucket and were
// checked against his record, and one with the right password migrated while the plain
// address was rate-limited.
func TestCollationVariantsDoNotReachTheRecord(t *testing.T) {
	victor := legacyUser{id: 1, email: "victor.novak@example.com", name: "Victor Novak", active: true, password: "maple-harbor-87"}
	dsn := mariadbUnicodeCI(t, []legacyUser{victor, bob})
	p := lazyPlan(t, strategies.SourceSpec{Kind: strategies.SourceMySQL, DSN: dsn, Table: "users"}, t.TempDir())
	p.Lazy.RateLimit.PerIdentifier = 3
	tb := startBridge(t, p, Config{})
	ctx := context.Background()
	for range 3 {
		if res, err := tb.Verify(ctx, victor.email, "wrong"); err != nil || res.OK || res.Limited {
			t.Fatalf("wrong password: got %+v, %v, want a counted failure", res, err)
		}
	}
	if res, _ := tb.Verify(ctx, victor.email, victor.password); !res.Limited {
		t.Fatalf("right password after 3 failures: got %+v, want rate-limited", res)
	}
	// The last is spelled with the Kelvin sign (U+212A), which Unicode lower-cases to k.
	for _, variant := range []string{"víctor.novak@example.com", "victor.növak@example.com", "ｖictor.novak@example.com", "VÍCTOR.NOVAK@example.com", "victor.nova\u212a@example.com"} {
		res, err := tb.Verify(ctx, variant, victor.password)
		if err != nil {
			t.Fatal(err)
		}
		if res.OK || res.User != nil {
			t.Errorf("%s with the right password while %s is limited: got OK %v user %v, want neither", variant, victor.email, res.OK, res.User)
		}
	}
	if res, _ := tb.Verify(ctx, "BOB@Example.com", bob.password); !res.OK {
		t.Errorf("a case variant is the same login: got %+v, want OK", res)
	}
}

// TestOneLimitPerRecord performs issue 13 item 3: email, username and legacy id had
// 10 tries each, and a numeric legacy id signed in as that user.
func TestOneLimitPerRecord(t *testing.T) {
	p := sqlitePlan(t, fixtures, bcrypt.MinCost)
	p.Mapping.PreferredUsername = strategies.FieldRef{Column: "name"}
	p.Lazy.RateLimit.PerIdentifier = 3
	tb := startBridge(t, p, Config{})
	ctx := context.Background()
	if res, _ := tb.Verify(ctx, "1", alice.password); res.OK {
		t.Errorf("legacy id 1 with alice's password: got OK, want no sign-in (a legacy id is not a login)")
	}
	if res, _ := tb.Verify(ctx, "Bob Baker", bob.password); !res.OK {
		t.Fatalf("username with the right password: got %+v, want OK", res)
	}
	for _, login := range []string{bob.email, "Bob Baker", bob.email} {
		if res, _ := tb.Verify(ctx, login, "wrong"); res.Limited {
			t.Fatalf("%s: limited before 3 failures", login)
		}
	}
	for _, login := range []string{"Bob Baker", bob.email, "2"} {
		if res, _ := tb.Verify(ctx, login, bob.password); res.OK {
			t.Errorf("%s after 3 failures through email and username: got OK, want refused (one limit per record)", login)
		}
	}
}

// TestSecretBeforeClientLimit performs issue 13 item 4: unauthenticated requests used
// up the per-client allowance and locked the real IdP out.
func TestSecretBeforeClientLimit(t *testing.T) {
	p := sqlitePlan(t, fixtures, bcrypt.MinCost)
	p.Lazy.RateLimit.PerClient = 5
	tb := startBridge(t, p, Config{})
	form := "email=bob%40example.com&password=x"
	for i := range 50 {
		if got, _ := tb.do(t, "POST", PathVerify, "application/x-www-form-urlencoded", "Bearer wrong", form); got != http.StatusForbidden && got != http.StatusTooManyRequests {
			t.Fatalf("unauthenticated request %d: got HTTP %d, want 403 or 429", i, got)
		}
	}
	if got, body := tb.verifyForm(t, bob.email, bob.password); got != 200 || !strings.Contains(body, `"success":true`) {
		t.Errorf("the IdP after 50 unauthenticated requests: got HTTP %d %s, want 200 success", got, body)
	}
	for range DefaultPerAnonymous {
		tb.do(t, "POST", PathVerify, "application/x-www-form-urlencoded", "", form)
	}
	if got, _ := tb.do(t, "POST", PathVerify, "application/x-www-form-urlencoded", "Bearer wrong", form); got != http.StatusTooManyRequests {
		t.Errorf("past the unauthenticated limit: got HTTP %d, want 429", got)
	}
}

// TestBusyBridgeAnswersRetryInTime performs issue 13 item 5: with every verification
// slot taken (a burst), a request waited past the IdP's hook timeout. It must get a
// fast retryable answer before the caller gives up instead.
func TestBusyBridgeAnswersRetryInTime(t *testing.T) {
	p := sqlitePlan(t, fixtures, bcrypt.MinCost)
	p.Lazy.CallerTimeout = "1s"
	tb := startBridge(t, p, Config{MaxConcurrent: 1})
	tb.sem <- struct{}{} // the burst holds the only slot
	defer func() { <-tb.sem }()
	client := &http.Client{Timeout: time.Second} // the IdP gives up after its timeout
	req, _ := http.NewRequest("POST", tb.URL+PathVerify, strings.NewReader("email=bob%40example.com&password=bob-old-pw"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+testSecret)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("the caller gave up: %v; want a retryable answer before its timeout", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "1" {
		t.Errorf("got HTTP %d Retry-After %q, want 503 Retry-After 1", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if !strings.Contains(tb.Log.String(), "could not start before the caller gives up") {
		t.Errorf("the busy answer was not logged:\n%s", tb.Log.String())
	}
}

// TestDialectRefusals performs issue 13 item 6 against each dialect's caller: Kratos
// read a wrong secret's 403 as a wrong password and held a rate-limited login for a
// minute on 429 + Retry-After: 60.
func TestDialectRefusals(t *testing.T) {
	legacy := sqliteLegacy(t, fixtures, bcrypt.MinCost)
	type want struct {
		status     int
		retryAfter string
	}
	tests := []struct {
		dialect, path, body      string
		wrongSecret, userLimited want
	}{
		{strategies.DialectAuthproject, PathVerify, "", want{403, ""}, want{429, "60"}},
		{strategies.DialectKeycloak, "/users/bob@example.com", `{"password":"wrong"}`, want{403, ""}, want{429, "60"}},
		{strategies.DialectKratos, PathKratos, `{"identifier":"bob@example.com","password":"wrong"}`, want{401, ""}, want{403, ""}},
		{strategies.DialectFusionAuth, PathFusionAuth, `{"loginId":"bob@example.com","password":"wrong"}`, want{403, ""}, want{429, ""}},
	}
	for _, tc := range tests {
		t.Run(tc.dialect, func(t *testing.T) {
			p := lazyPlan(t, strategies.SourceSpec{Kind: strategies.SourceSQLite, Path: legacy, Table: "users"}, t.TempDir())
			p.Lazy.Dialect = tc.dialect
			p.Lazy.RateLimit.PerIdentifier = 1
			tb := startBridge(t, p, Config{})
			send := func(auth string) *http.Response {
				ctype, body := "application/json", tc.body
				if tc.dialect == strategies.DialectAuthproject {
					ctype, body = "application/x-www-form-urlencoded", "email=bob%40example.com&password=wrong"
				}
				req, _ := http.NewRequest("POST", tb.URL+tc.path, strings.NewReader(body))
				req.Header.Set("Content-Type", ctype)
				req.Header.Set("Authorization", auth)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				return resp
			}
			check := func(what string, resp *http.Response, w want) {
				if resp.StatusCode != w.status || resp.Header.Get("Retry-After") != w.retryAfter {
					t.Errorf("%s: got HTTP %d Retry-After %q, want %d %q", what, resp.StatusCode, resp.Header.Get("Retry-After"), w.status, w.retryAfter)
				}
			}
			check("wrong secret", send("Bearer not-the-secret"), tc.wrongSecret)
			send("Bearer " + testSecret) // the one failure the limit allows
			check("rate-limited user", send("Bearer "+testSecret), tc.userLimited)
		})
	}
}

// TestDelegationTakesTheAcceptedRecord proves issue 13 item 7: two legacy records
// whose emails differ only in case, and a legacy app that compares them exactly. The
// bridge returned the first case-insensitive match, another person than the one the
// app signed in.
func TestDelegationTakesTheAcceptedRecord(t *testing.T) {
	sam1 := legacyUser{id: 1, email: "Sam@example.com", name: "Sam One", active: true}
	sam2 := legacyUser{id: 2, email: "sam@example.com", name: "Sam Two", active: true}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		pw := map[string]string{"Sam@example.com": "pw-one", "sam@example.com": "pw-two"}
		if p, ok := pw[r.PostForm.Get("email")]; !ok || p != r.PostForm.Get("password") {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer app.Close()
	p := sqlitePlan(t, []legacyUser{sam1, sam2}, bcrypt.MinCost)
	p.Lazy.Delegate = &strategies.Delegate{URL: app.URL}
	tb := startBridge(t, p, Config{})
	ctx := context.Background()
	for _, tc := range []struct{ login, password, wantID string }{
		{"sam@example.com", "pw-two", "2"},
		{"Sam@example.com", "pw-one", "1"},
	} {
		res, err := tb.Verify(ctx, tc.login, tc.password)
		if err != nil || !res.OK {
			t.Fatalf("%s: got %+v, %v, want OK", tc.login, res, err)
		}
		if res.User.LegacyID != tc.wantID {
			b, _ := json.Marshal(res.UserInfo)
			t.Errorf("%s accepted by the app: got legacy user %s (%s), want %s", tc.login, res.User.LegacyID, b, tc.wantID)
		}
	}
}

// TestUnicodeLowerCaseIsNotTheLogin: a file source finds records by Unicode
// lower-casing, which maps the Kelvin sign (U+212A) to k; the bridge's own
// normalisation must not, or "\u212aate@" signs in (and, at the IdP, creates a second
// account) as kate@.
func TestUnicodeLowerCaseIsNotTheLogin(t *testing.T) {
	kate := legacyUser{id: 7, email: "kate@example.com", name: "Kate", active: true, password: "kate-old-pw"}
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "users.csv")
	content := "id,email,name,given_name,family_name,is_active,password,plan\n" +
		fmt.Sprintf("7,%s,Kate,,,true,%s,\n", kate.email, hashOf(t, kate, bcrypt.MinCost))
	if err := os.WriteFile(csvPath, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	p := lazyPlan(t, strategies.SourceSpec{Kind: strategies.SourceCSV, Path: csvPath}, dir)
	tb := startBridge(t, p, Config{})
	ctx := context.Background()
	if res, err := tb.Verify(ctx, "KATE@example.com", kate.password); err != nil || !res.OK {
		t.Fatalf("KATE@: got %+v, %v, want OK", res, err)
	}
	if res, _ := tb.Verify(ctx, "\u212aate@example.com", kate.password); res.OK || res.User != nil {
		t.Errorf("Kelvin-sign variant: got OK %v user %v, want neither", res.OK, res.User)
	}
}
