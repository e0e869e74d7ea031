package middleware_test

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	_ "modernc.org/sqlite"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/authonly/middleware"
	"github.com/cutover/cutover/strategies/idp"
)

// idpEnv is a mock IdP whose clock can be moved, with its signing key at hand.
type idpEnv struct {
	s      *mockidp.Server
	skew   *atomic.Int64 // nanoseconds added to the IdP's clock
	signer jose.Signer   // the IdP's own key and kid, for forged tokens
}

func startIdP(t *testing.T) *idpEnv {
	t.Helper()
	skew := &atomic.Int64{}
	// StartFast signs with mockidptest.Keys' signing key, which the forged tokens reuse.
	// Usernames are login ids here (username-only accounts sign in); `authgear init`
	// projects, the mock's default, allow email only.
	s := mockidptest.StartFast(t, mockidp.Config{
		LoginIDKeys: []string{mockidp.LoginIDEmail, mockidp.LoginIDUsername},
		Now:         func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }})
	_, signing := mockidptest.Keys()
	resp, err := http.Get(s.Config().Issuer + mockidp.PathJWKS)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("read JWKS: %v", err)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: signing},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), set.Keys[0].KeyID))
	if err != nil {
		t.Fatal(err)
	}
	return &idpEnv{s: s, skew: skew, signer: sig}
}

// importUsers creates users at the IdP (no passwords) and returns email -> id.
func (e *idpEnv) importUsers(t *testing.T, verified map[string]bool) map[string]string {
	t.Helper()
	info := e.s.Config()
	c, err := idp.New(idp.Config{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey})
	if err != nil {
		t.Fatal(err)
	}
	var recs []string
	for email, v := range verified {
		recs = append(recs, fmt.Sprintf(`{"email":%q,"email_verified":%t}`, email, v))
	}
	job, err := c.Import(context.Background(), []byte(`{"identifier":"email","records":[`+strings.Join(recs, ",")+`]}`))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, d := range job.Details {
		if d.Outcome != "inserted" {
			t.Fatalf("import: got outcome %q, want inserted", d.Outcome)
		}
	}
	pg, err := (&idp.MockClient{Client: c}).FindUsers(context.Background(), idp.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range pg.Users {
		out[u.Email] = u.ID
	}
	return out
}

// token signs email in with a one-time code, as rehearsals do, and returns the access token.
func (e *idpEnv) token(t *testing.T, id, email string) string {
	t.Helper()
	info := e.s.Config()
	adm, err := info.AdminToken(time.Now().Add(time.Duration(e.skew.Load())), 5*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := authonly.OTPSignIn(context.Background(), nil, info.Issuer, adm, mockidp.ClientID, id, email)
	if err != nil {
		t.Fatalf("sign in %s: %v", email, err)
	}
	return tok
}

// forge signs claims with the IdP's real key (only the claims are wrong).
func (e *idpEnv) forge(t *testing.T, claims map[string]any) string {
	t.Helper()
	payload, _ := json.Marshal(claims)
	obj, err := e.signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// legacyApp is a legacy users table behind the middleware, counting what it does.
type legacyApp struct {
	db      *sql.DB
	srv     *httptest.Server
	links   atomic.Int64
	creates atomic.Int64
}

type countingStore struct {
	*middleware.SQLStore
	app *legacyApp
}

func (c countingStore) LinkByEmail(ctx context.Context, email, subject string) (middleware.Row, error) {
	u, err := c.SQLStore.LinkByEmail(ctx, email, subject)
	if err == nil {
		c.app.links.Add(1)
	}
	return u, err
}

// newLegacyApp serves GET /me behind a middleware trusting issuer; tweaks adjust its
// configuration (timeouts, clients) for one test.
func newLegacyApp(t *testing.T, issuer string, tweaks ...func(*middleware.Config[middleware.Row])) *legacyApp {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "app.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	for _, q := range []string{
		`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, idp_user_id TEXT)`,
		`INSERT INTO users (id, email, name) VALUES (1, 'alice@example.com', 'Alice'), (2, 'Bob@Example.com', 'Bob'), (3, 'dave@example.com', 'Dave')`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	app := &legacyApp{db: db}
	store := &middleware.SQLStore{DB: db, Dialect: "sqlite", Table: "users", Key: "id"}
	cfg := middleware.Config[middleware.Row]{
		Issuer: issuer, ClientID: mockidp.ClientID,
		Store: countingStore{store, app},
		GetOrCreate: func(ctx context.Context, id middleware.Identity) (middleware.Row, error) {
			app.creates.Add(1)
			if !id.EmailVerified {
				return nil, middleware.ErrNoAccount
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO users (email, name, idp_user_id) VALUES (?, 'new', ?)`, id.Email, id.Subject); err != nil {
				return nil, err
			}
			return store.FindBySubject(ctx, id.Subject)
		},
	}
	for _, tweak := range tweaks {
		tweak(&cfg)
	}
	m, err := middleware.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /me", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom[middleware.Row](r.Context())
		json.NewEncoder(w).Encode(u)
	})))
	app.srv = httptest.NewServer(mux)
	t.Cleanup(app.srv.Close)
	return app
}

// get calls /me with a bearer token ("" sends none) and returns status, header and the user.
func (a *legacyApp) get(t *testing.T, token string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, a.srv.URL+"/me", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var u map[string]any
	_ = json.Unmarshal(body, &u)
	return resp.StatusCode, resp.Header, u
}

func (a *legacyApp) idOf(t *testing.T, rowID int) string {
	t.Helper()
	var v sql.NullString
	if err := a.db.QueryRow(`SELECT idp_user_id FROM users WHERE id = ?`, rowID).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v.String
}

func TestResolvesLocalUsers(t *testing.T) {
	e := startIdP(t)
	ids := e.importUsers(t, map[string]bool{"alice@example.com": true, "bob@example.com": true, "carol@example.com": true, "dave@example.com": false})
	app := newLegacyApp(t, e.s.Config().Issuer)
	// Alice was written back by `cutover run`.
	if _, err := app.db.Exec(`UPDATE users SET idp_user_id = ? WHERE id = 1`, ids["alice@example.com"]); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		email       string
		wantStatus  int
		wantRow     float64 // the local user's id; 0 for none
		wantLinks   int64
		wantCreates int64
	}{
		{"written back: found by IdP id", "alice@example.com", 200, 1, 0, 0},
		{"legacy user without an id: linked by verified email once", "bob@example.com", 200, 2, 1, 0},
		{"new IdP user: get-or-create called once", "carol@example.com", 200, 4, 1, 1},
		{"unverified email: never linked, get-or-create refuses", "dave@example.com", 403, 0, 1, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 { // the second request must resolve the same way without linking or creating again
				status, _, u := app.get(t, e.token(t, ids[tt.email], tt.email))
				if status != tt.wantStatus {
					t.Fatalf("status: got %d, want %d", status, tt.wantStatus)
				}
				if tt.wantRow != 0 && (u["id"] != tt.wantRow || u["idp_user_id"] != ids[tt.email]) {
					t.Errorf("user: got %v, want row %v with idp_user_id %s", u, tt.wantRow, ids[tt.email])
				}
			}
			if got := app.links.Load(); got != tt.wantLinks {
				t.Errorf("links so far: got %d, want %d", got, tt.wantLinks)
			}
			if got := app.creates.Load(); got != tt.wantCreates {
				t.Errorf("get-or-create calls so far: got %d, want %d", got, tt.wantCreates)
			}
		})
	}
	if got := app.idOf(t, 3); got != "" {
		t.Errorf("dave (unverified email): got idp_user_id %q, want NULL", got)
	}
}

func TestRefusesBadTokens(t *testing.T) {
	e := startIdP(t)
	ids := e.importUsers(t, map[string]bool{"alice@example.com": true})
	app := newLegacyApp(t, e.s.Config().Issuer)
	alice := ids["alice@example.com"]
	if _, err := app.db.Exec(`UPDATE users SET idp_user_id = ? WHERE id = 1`, alice); err != nil {
		t.Fatal(err)
	}
	iss := e.s.Config().Issuer
	good := e.token(t, alice, "alice@example.com")

	// Expired: issued by the IdP two hours ago (tokens live an hour).
	e.skew.Store(int64(-2 * time.Hour))
	expired := e.token(t, alice, "alice@example.com")
	e.skew.Store(0)

	// Another IdP (same signing key even) is not this issuer.
	other := startIdP(t)
	otherIDs := other.importUsers(t, map[string]bool{"alice@example.com": true})
	wrongIssuer := other.token(t, otherIDs["alice@example.com"], "alice@example.com")

	now := time.Now()
	claims := func(edit func(c map[string]any)) map[string]any {
		c := map[string]any{"iss": iss, "sub": alice, "aud": []string{iss}, "client_id": mockidp.ClientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix()}
		edit(c)
		return c
	}
	wrongAudience := e.forge(t, claims(func(c map[string]any) { c["aud"] = "https://another-idp.example" }))
	wrongClient := e.forge(t, claims(func(c map[string]any) { c["client_id"] = "some-other-client" }))
	// An ID token, as the IdP signs it: aud is the client, and there is no client_id.
	idToken := e.forge(t, claims(func(c map[string]any) {
		c["aud"], c["email"], c["email_verified"] = mockidp.ClientID, "alice@example.com", true
		delete(c, "client_id")
	}))
	forgedOK := e.forge(t, claims(func(map[string]any) {}))
	// Signed by the IdP, but naming the email twice: which one counts would depend on the parser.
	emailTwice := e.forge(t, claims(func(c map[string]any) {
		c["email"], c["Email"], c["email_verified"] = "nobody@example.com", "bob@example.com", true
	}))
	payload, _ := json.Marshal(claims(func(map[string]any) {}))
	algNone := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + base64.RawURLEncoding.EncodeToString(payload) + "."
	parts := strings.Split(good, ".")
	sig := []byte(parts[2])
	sig[10] ^= 0x01
	if sig[10] == '.' {
		sig[10] = 'A'
	}
	tampered := parts[0] + "." + parts[1] + "." + string(sig)
	// Same signature, someone else's subject.
	otherPayload, _ := json.Marshal(claims(func(c map[string]any) { c["sub"] = "someone-else" }))
	swapped := parts[0] + "." + base64.RawURLEncoding.EncodeToString(otherPayload) + "." + parts[2]

	tests := []struct {
		name   string
		token  string
		header string // raw Authorization header, when not "Bearer <token>"
		want   int
	}{
		{"valid", good, "", 200},
		{"forged with the IdP's key and right claims (control)", forgedOK, "", 200},
		{"missing", "", "", 401},
		{"not bearer", "", "Basic YWxpY2U6cHc=", 401},
		{"expired", expired, "", 401},
		{"wrong issuer", wrongIssuer, "", 401},
		{"wrong audience", wrongAudience, "", 401},
		{"another client's token", wrongClient, "", 401},
		{"an ID token is not an access token", idToken, "", 401},
		{"alg none", algNone, "", 401},
		{"tampered signature", tampered, "", 401},
		{"claims swapped under a valid signature", swapped, "", 401},
		{"garbage", "not-a-jwt", "", 401},
		{"a claim in two cases", emailTwice, "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, app.srv.URL+"/me", nil)
			switch {
			case tt.header != "":
				req.Header.Set("Authorization", tt.header)
			case tt.token != "":
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Fatalf("status: got %d, want %d", resp.StatusCode, tt.want)
			}
			if tt.want == 401 {
				if h := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, `Bearer error="invalid_token"`) {
					t.Errorf("WWW-Authenticate: got %q, want Bearer error=\"invalid_token\"", h)
				}
			}
		})
	}
	if got := app.creates.Load() + app.links.Load(); got != 0 {
		t.Errorf("links + creates: got %d, want 0 (alice was linked? %q)", got, app.idOf(t, 1))
	}
}

func TestNewNeedsDiscovery(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	_, err := middleware.New(context.Background(), middleware.Config[middleware.Row]{Issuer: srv.URL, ClientID: "x", Store: &middleware.SQLStore{}})
	if err == nil || !strings.Contains(err.Error(), srv.URL) {
		t.Errorf("got %v, want an error naming the issuer", err)
	}
	var zero middleware.Config[middleware.Row]
	if _, err := middleware.New(context.Background(), zero); err == nil || errors.Is(err, context.Canceled) {
		t.Errorf("empty config: got %v, want an error", err)
	}
}
