package lazy

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the Postgres legacy fixture
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
)

// legacyUser is one row of the fixture users table.
type legacyUser struct {
	id       int
	email    string
	name     string
	given    string
	family   string
	active   bool
	password string // plaintext, known to the test; "" = no password column value
	hash     string // overrides the hash made from password (malformed rows)
	format   string // "" = bcrypt; "phpass"
	plan     string
}

// Fixture users: what each one tests is in its name.
var (
	alice    = legacyUser{id: 1, email: "Alice@Example.com", name: "Alice Archer", given: "Alice", family: "Archer", active: true, password: "alice-old-pw", plan: "pro"}
	bob      = legacyUser{id: 2, email: "bob@example.com", name: "Bob Baker", given: "Bob", family: "Baker", active: true, password: "bob-old-pw", plan: "free"}
	carol    = legacyUser{id: 3, email: "carol.disabled@example.com", name: "Carol", active: false, password: "carol-old-pw"}
	dave     = legacyUser{id: 4, email: "dave.nopassword@example.com", name: "Dave", active: true}
	erin     = legacyUser{id: 5, email: "erin.phpass@example.com", name: "Erin", active: true, password: "erin-old-pw", format: "phpass"}
	frank    = legacyUser{id: 6, email: "frank.malformed@example.com", name: "Frank", active: true, password: "frank-old-pw", hash: "$2a$10$tooshort"}
	fixtures = []legacyUser{alice, bob, carol, dave, erin, frank}
)

// extraUsers returns n more active bcrypt users, ids from 100.
func extraUsers(n int) []legacyUser {
	out := make([]legacyUser, n)
	for i := range out {
		out[i] = legacyUser{id: 100 + i, email: fmt.Sprintf("user%03d@example.com", i), name: fmt.Sprintf("User %d", i), active: true, password: fmt.Sprintf("pw-%03d", i)}
	}
	return out
}

// hashCache makes each fixture hash once per test binary (bcrypt is slow under -race).
var hashCache sync.Map

func hashOf(t testing.TB, u legacyUser, cost int) string {
	t.Helper()
	if u.hash != "" {
		return u.hash
	}
	if u.password == "" {
		return ""
	}
	key := fmt.Sprintf("%s/%d/%s", u.format, cost, u.password)
	if h, ok := hashCache.Load(key); ok {
		return h.(string)
	}
	var h string
	if u.format == "phpass" {
		s, err := passwords.Hash("phpass", u.password)
		if err != nil {
			t.Fatal(err)
		}
		h = s.Hash
	} else {
		b, err := bcrypt.GenerateFromPassword([]byte(u.password), cost)
		if err != nil {
			t.Fatal(err)
		}
		h = string(b)
	}
	hashCache.Store(key, h)
	return h
}

// fillUsers creates the users table in db and inserts us; ph renders placeholder i.
func fillUsers(t testing.TB, db *sql.DB, ph func(i int) string, us []legacyUser, cost int) {
	t.Helper()
	ctx := context.Background()
	stmts := []string{
		`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, given_name TEXT, family_name TEXT,
			is_active BOOLEAN NOT NULL, password TEXT, plan TEXT)`,
		`CREATE INDEX users_email_lower ON users (lower(email))`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	q := fmt.Sprintf("INSERT INTO users VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", ph(1), ph(2), ph(3), ph(4), ph(5), ph(6), ph(7), ph(8))
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		var pw any
		if h := hashOf(t, u, cost); h != "" {
			pw = h
		}
		if _, err := tx.ExecContext(ctx, q, u.id, u.email, u.name, u.given, u.family, u.active, pw, u.plan); err != nil {
			t.Fatalf("insert user %d: %v", u.id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// sqliteLegacy writes the users into a new SQLite file and returns its path.
func sqliteLegacy(t testing.TB, us []legacyUser, cost int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "legacy.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillUsers(t, db, func(int) string { return "?" }, us, cost)
	return path
}

// postgresLegacy fills the users table of a Postgres server at dsn.
func postgresLegacy(t testing.TB, dsn string, us []legacyUser, cost int) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fillUsers(t, db, func(i int) string { return fmt.Sprintf("$%d", i) }, us, cost)
}

// lazyPlan is a lazy plan over the fixture table; dir holds the plan's own files.
func lazyPlan(t testing.TB, src strategies.SourceSpec, dir string) *strategies.Plan {
	t.Helper()
	col := func(c string) strategies.FieldRef { return strategies.FieldRef{Column: c} }
	p := &strategies.Plan{
		Version:  strategies.PlanVersion,
		Strategy: strategies.StrategyLazy,
		Source:   src,
		Mapping: strategies.Mapping{
			LegacyID: col("id"), Email: col("email"), Name: col("name"), GivenName: col("given_name"), FamilyName: col("family_name"),
			Disabled: strategies.FieldRef{Column: "is_active", Transform: "not"}, PasswordHash: col("password"),
			CustomAttributes: map[string]strategies.FieldRef{"plan": col("plan")},
		},
		Target: strategies.Target{Kind: strategies.TargetMockIDP, Profile: strategies.ProfileAuthgear},
		Bulk:   strategies.BulkOptions{RunDir: filepath.Join(dir, "runs"), UnsupportedHash: strategies.UnsupportedWithoutPassword},
		Lazy:   strategies.LazyOptions{Store: filepath.Join(dir, "lazy.db")},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

func sqlitePlan(t testing.TB, us []legacyUser, cost int) *strategies.Plan {
	t.Helper()
	path := sqliteLegacy(t, us, cost)
	return lazyPlan(t, strategies.SourceSpec{Kind: strategies.SourceSQLite, Path: path, Table: "users"}, t.TempDir())
}

const testSecret = "bridge-test-secret"

// testBridge is a bridge served over loopback HTTP.
type testBridge struct {
	*Bridge
	URL   string
	Log   *mockidptest.SyncBuffer // the bridge writes it concurrently; tests read it after
	Calls atomic.Int64            // requests that reached the bridge
}

// startBridge builds a bridge for p and serves it with httptest; cfg.Plan is set from p.
func startBridge(t testing.TB, p *strategies.Plan, cfg Config) *testBridge {
	t.Helper()
	tb := &testBridge{Log: &mockidptest.SyncBuffer{}}
	cfg.Plan = p
	if cfg.Secret == "" && !p.Lazy.NoAuth {
		cfg.Secret = testSecret
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.NewTextHandler(tb.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	b, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	tb.Bridge = b
	h := b.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tb.Calls.Add(1)
		h.ServeHTTP(w, r)
	}))
	tb.URL = srv.URL
	t.Cleanup(func() {
		srv.Close()
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return tb
}

// do sends a request to the bridge with the given Authorization header ("" = none).
func (tb *testBridge) do(t testing.TB, method, path, ctype, auth, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, tb.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// verifyForm posts the authproject form with the test secret.
func (tb *testBridge) verifyForm(t testing.TB, email, password string) (int, string) {
	t.Helper()
	return tb.do(t, http.MethodPost, PathVerify, "application/x-www-form-urlencoded", "Bearer "+testSecret,
		url.Values{"email": {email}, "password": {password}}.Encode())
}

// startMockIDP starts the mock IdP on loopback, its lazy hook pointing at hookURL.
func startMockIDP(t testing.TB, hookURL, secret string) *mockidp.Server {
	t.Helper()
	// StartFast: keys made once per binary and the minimum bcrypt cost, so the many
	// IdPs these tests start stay cheap under -race.
	return mockidptest.StartFast(t, mockidp.Config{
		LazyHook: mockidp.LazyHook{URL: hookURL, Secret: secret, Timeout: 30 * time.Second}})
}

// passwordGrant signs in at the mock IdP with the OAuth 2.0 password grant.
func passwordGrant(ctx context.Context, s *mockidp.Server, login, password string) (*oauth2.Token, error) {
	iss := s.Config().Issuer
	conf := oauth2.Config{ClientID: mockidp.ClientID, Endpoint: oauth2.Endpoint{TokenURL: iss + mockidp.PathToken, AuthStyle: oauth2.AuthStyleInParams},
		Scopes: []string{"openid", "email", "profile"}}
	return conf.PasswordCredentialsToken(ctx, login, password)
}
