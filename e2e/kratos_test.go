package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/e2e/images"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly/middleware"
	"github.com/cutover/cutover/strategies/idp/kratos"
	"golang.org/x/crypto/bcrypt"
)

// kratosIDP is a real Ory Kratos (images.KratosVersion, built from the module proxy) in
// a container on the scenario's network, keeping its identities in a database of its
// own on a Postgres container of the scenario. The test signs users in through its
// public API from this process, as an app's login page would.
type kratosIDP struct {
	c      *container
	Alias  string
	client *kratos.Client // admin and public APIs as published on this host
	db     *sql.DB        // Kratos's own database, to count identities fast
}

// kratosHook points Kratos's password-migration hook at a bridge (its URL on the
// scenario network, and the shared secret Kratos sends as a bearer token).
type kratosHook struct{ URL, Secret string }

// Kratos starts Kratos reachable as alias (admin http://ALIAS:4434, public :4433) with
// the identity schema "user" (as `cutover plan kratos-schema` prints it for the plan),
// its database created in pg, and the migration hook on when hook is set. It waits
// until both APIs are ready.
func (sc *scenario) Kratos(alias string, pg *database, schema string, hook *kratosHook) *kratosIDP {
	t := sc.t
	t.Helper()
	start := time.Now()
	dbName := "kratos_" + randomHex(4)
	if _, err := pg.DB.ExecContext(t.Context(), "CREATE DATABASE "+dbName); err != nil {
		t.Fatalf("create Kratos's database: %v", err)
	}
	schemas, err := json.Marshal([]map[string]string{{"id": "user", "url": "base64://" + base64.StdEncoding.EncodeToString([]byte(schema))}})
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"DSN=" + pg.url(pg.NetAddr(), dbName),
		"IDENTITY_SCHEMAS=" + string(schemas),
		"SERVE_PUBLIC_BASE_URL=http://" + alias + ":4433/",
		"SERVE_ADMIN_BASE_URL=http://" + alias + ":4434/",
	}
	if hook != nil {
		const cfg = "SELFSERVICE_METHODS_PASSWORD_CONFIG_MIGRATE_HOOK_"
		env = append(env, cfg+"ENABLED=true", cfg+"CONFIG_URL="+hook.URL, cfg+"CONFIG_METHOD=POST",
			cfg+"CONFIG_AUTH_TYPE=api_key", cfg+"CONFIG_AUTH_CONFIG_NAME=Authorization",
			cfg+"CONFIG_AUTH_CONFIG_VALUE=Bearer "+hook.Secret, cfg+"CONFIG_AUTH_CONFIG_IN=header")
	}
	img := sc.s.kratos
	c, err := sc.start(t.Context(), containerSpec{
		Image:      img.Ref,
		Aliases:    []string{alias},
		Entrypoint: img.Entrypoint,
		User:       img.User,
		Env:        env,
		Ports:      []string{images.KratosPublicPort, images.KratosAdminPort},
	})
	if err != nil {
		t.Fatalf("start kratos (image %s): %v", img.Ref, err)
	}
	k := &kratosIDP{c: c, Alias: alias}
	if k.db, err = sql.Open(pg.driver(), pg.dsn(pg.HostAddr, dbName)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.db.Close() })
	k.client, err = kratos.New(kratos.Config{AdminURL: "http://" + c.HostAddr(images.KratosAdminPort),
		PublicURL: "http://" + c.HostAddr(images.KratosPublicPort), SchemaID: "user"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.ready(c, func(ctx context.Context) error {
		if err := k.client.Ping(ctx); err != nil {
			return err
		}
		return k.client.PingPublic(ctx)
	}); err != nil {
		t.Fatalf("kratos did not become ready: %v", err)
	}
	t.Logf("kratos %s ready in %s", images.KratosVersion, time.Since(start).Round(time.Millisecond))
	return k
}

// Target is the plan's target block for this Kratos.
func (k *kratosIDP) Target() string {
	return fmt.Sprintf("target:\n  kind: kratos\n  url: http://%[1]s:4434\n  public_url: http://%[1]s:4433\n  schema_id: user\n", k.Alias)
}

// Count returns how many identities Kratos holds, from its own database (its admin
// API pages a thousand at a time).
func (k *kratosIDP) Count(t *testing.T) int {
	t.Helper()
	var n int
	if err := k.db.QueryRowContext(t.Context(), "SELECT count(*) FROM identities").Scan(&n); err != nil {
		t.Fatalf("count Kratos identities: %v", err)
	}
	return n
}

// SignIn signs a user in through Kratos's login API flow.
func (k *kratosIDP) SignIn(t *testing.T, login, password string) strategies.SignInResult {
	t.Helper()
	r, err := k.client.SignIn(t.Context(), login, password)
	if err != nil {
		t.Fatalf("sign %s in at Kratos: %v", login, err)
	}
	return r
}

// kratosSchema asks cutover for the identity schema that fits plan.
func (sc *scenario) kratosSchema(plan string) string {
	sc.t.Helper()
	res := sc.RunCutover(time.Minute, cutoverSpec{Args: []string{"plan", "kratos-schema", "--plan", "plan.yaml"},
		Files: map[string]string{"plan.yaml": plan}})
	if res.ExitCode != 0 || !json.Valid([]byte(res.Stdout)) {
		sc.t.Fatalf("cutover plan kratos-schema: got exit code %d and no JSON\n%s", res.ExitCode, res)
	}
	return res.Stdout
}

// keptAtKratos says which legacy formats of the fixtures keep their password when
// bulk-imported into Kratos, from the translation table's verdicts.
var keptAtKratos = map[string]bool{
	"django pbkdf2_sha256": true, "django bcrypt": true, "django argon2": true,
	"django bcrypt_sha256":    false, // bcrypt over hex(sha256): no Kratos form
	"phpass":                  false, // md5 iterated 2^n times: no Kratos form
	"wordpress bcrypt ($wp$)": false, // bcrypt over HMAC-SHA384: no Kratos form
	"md5":                     true,
	"django unusable":         false,
}

// wordpressBulkPlan is a bulk plan for wp_users: lazyPlan's source and mapping.
func wordpressBulkPlan(target string) string {
	plan, _, _ := strings.Cut(lazyPlan(target), "lazy:\n")
	return strings.Replace(plan, "strategy: lazy", "strategy: bulk", 1) + "bulk:\n  unsupported_hash: without_password\n"
}

// TestKratosBulk moves a Django site (PostgreSQL) and a WordPress site (MariaDB) into
// real Kratos servers with `cutover run`: hashes Kratos can verify are translated into
// its syntax, the others arrive without a password. Then every user signs in through
// Kratos's login API with the old password, and with a wrong one: exactly the users
// whose format the translation table keeps get in.
func TestKratosBulk(t *testing.T) {
	t.Parallel()
	start := time.Now()
	sc := newScenario(t)
	requireCommand(t, sc.s, "run")
	pg := sc.Postgres("db")
	maria := sc.MariaDB("wpdb")
	t.Cleanup(func() { t.Logf("scenario kratos bulk took %s", time.Since(start).Round(time.Millisecond)) })
	for _, site := range []struct {
		name  string
		users []legacyUser
		load  func(*scenario, *database, []legacyUser)
		db    *database
		plan  func(target string) string
	}{
		{"django", djangoUsers(t), loadDjango, pg, func(tg string) string { return djangoPlan(tg, "without_password") }},
		{"wordpress", wordpressUsers(t), loadWordPress, maria, wordpressBulkPlan},
	} {
		t.Run(site.name, func(t *testing.T) {
			t.Parallel()
			sc := sc.in(t)
			site.load(sc, site.db, site.users)
			k := sc.Kratos("kratos-"+site.name, pg, sc.kratosSchema(site.plan("target:\n  kind: kratos\n  url: http://x:4434\n")), nil)
			sc.checkLockouts(site.plan(k.Target()), site.db.NetURL(), site.users)
			vol := sc.Volume() // the run directory, for undo
			rep, _ := sc.RunBulk(5*time.Minute, bulkRun{Plan: site.plan(k.Target()), DSN: site.db.NetURL(), Volumes: map[string]string{vol: "/work"}}, 0)
			var kept int64
			for _, u := range site.users {
				if keptAtKratos[u.Format] {
					kept++
				}
			}
			n := int64(len(site.users))
			if rep.Inserted != n || rep.WithoutPassword != n-kept || rep.Failed != 0 || rep.Invalid != 0 {
				t.Errorf("report: got %s; want all %d inserted, %d without password", rep, n, n-kept)
			}
			if got := k.Count(t); got != len(site.users) {
				t.Errorf("identities at Kratos: got %d, want %d", got, len(site.users))
			}
			signedIn, could := 0, 0
			for _, u := range site.users {
				if !u.CanSignIn {
					continue
				}
				could++
				want := keptAtKratos[u.Format]
				if r := k.SignIn(t, u.Email, u.Password); r.OK != want {
					t.Errorf("%s (%s) with the old password: got signed in %v (%s), want %v", u.Login, u.Format, r.OK, r.Reason, want)
				} else if r.OK {
					signedIn++
				}
				if r := k.SignIn(t, u.Email, u.Password+"x"); r.OK {
					t.Errorf("%s (%s) with a wrong password: signed in, want refused", u.Login, u.Format)
				}
			}
			for _, u := range site.users {
				if !u.Active && u.Password != "" {
					if r := k.SignIn(t, u.Email, u.Password); r.OK {
						t.Errorf("%s is inactive in the legacy site: signed in at Kratos, want refused", u.Login)
					}
				}
			}
			t.Logf("%s: %d of %d users who could sign in before signed in at Kratos with their old passwords after bulk alone", site.name, signedIn, could)

			// undo deletes exactly what the run inserted, one identity at a time.
			res := sc.RunCutover(2*time.Minute, cutoverSpec{Args: []string{"undo", rep.RunDir}, Env: []string{"LEGACY_DSN=" + site.db.NetURL()},
				Volumes: map[string]string{vol: "/work"}})
			if res.ExitCode != 0 || !strings.Contains(res.Stdout+res.Stderr, fmt.Sprintf("deleted %d of the %d", n, n)) {
				t.Errorf("cutover undo: exit %d, want 0 and %d deleted\n%s", res.ExitCode, n, res)
			}
			if got := k.Count(t); got != 0 {
				t.Errorf("identities at Kratos after undo: got %d, want 0", got)
			}
		})
	}
}

// checkLockouts runs `cutover plan check --json` and checks its lockouts against the
// fixtures: per target, who keeps their password, whose format cannot be imported,
// who is disabled, and (no email_verified mapped) whose email is unverified.
func (sc *scenario) checkLockouts(plan, dsn string, users []legacyUser) {
	t := sc.t
	t.Helper()
	res := sc.RunCutover(2*time.Minute, cutoverSpec{Args: []string{"plan", "check", "--plan", "plan.yaml", "--json"},
		Env: []string{"LEGACY_DSN=" + dsn}, Files: map[string]string{"plan.yaml": plan}})
	var rep struct {
		Lockouts []struct {
			Target   string `json:"target"`
			Keep     int64  `json:"keep_password"`
			Lockouts []struct {
				Rule  string `json:"rule"`
				Users int64  `json:"users"`
			} `json:"lockouts"`
		} `json:"lockouts"`
	}
	if res.ExitCode != 0 || json.Unmarshal([]byte(res.Stdout), &rep) != nil {
		t.Fatalf("cutover plan check --json: exit %d\n%s", res.ExitCode, res)
	}
	want := map[string]map[string]int64{"kratos": {"keep": 0}, "authgear": {"keep": 0}}
	for _, u := range users {
		if u.Format == "django unusable" {
			continue // no hash: no hash rule applies
		}
		if keptAtKratos[u.Format] {
			want["kratos"]["keep"]++
		} else {
			want["kratos"]["hash_not_importable"]++
		}
		if u.Format == "django bcrypt" {
			want["authgear"]["keep"]++
		} else {
			want["authgear"]["hash_not_importable"]++
		}
	}
	for _, u := range users {
		want["kratos"]["unverified_email"]++
		if !u.Active {
			want["kratos"]["disabled"]++
			want["authgear"]["disabled"]++
		}
	}
	for _, tl := range rep.Lockouts {
		got := map[string]int64{"keep": tl.Keep}
		for _, l := range tl.Lockouts {
			if l.Users != 0 {
				got[l.Rule] = l.Users
			}
		}
		w := want[tl.Target]
		w["bcrypt_72_bytes"] = -1 // told at sign-in
		if tl.Target == "kratos" {
			w["password_over_72_bytes"] = -1
		}
		if fmt.Sprint(got) != fmt.Sprint(w) {
			t.Errorf("plan check lockouts at %s: got %v, want %v", tl.Target, got, w)
		}
	}
	if len(rep.Lockouts) != 2 || rep.Lockouts[0].Target != "kratos" {
		t.Errorf("plan check lockouts: got %d targets, want kratos (the plan's) then authgear", len(rep.Lockouts))
	}
}

// djangoLazyPlan is a lazy plan for auth_user into Kratos: the bridge on the scenario
// network, the store and the sweep's runs on the volume mounted at /work.
func djangoLazyPlan(target string) string {
	return strings.Replace(djangoPlan(target, "without_password"), "strategy: bulk", "strategy: lazy", 1) + `  run_dir: state/runs
lazy:
  listen: 0.0.0.0:8788
  secret: ${BRIDGE_SECRET}
  store: state/lazy.db
  caller_timeout: 20s
`
}

// TestKratosLazy migrates a Django site into a real Kratos lazily: `cutover run`
// pre-imports every user flagged for Kratos's password-migration hook, Kratos asks
// `cutover bridge` (kratos dialect) at each first sign-in and keeps the password, the
// users bulk could not carry (bcrypt_sha256) among them; `status` counts them; after
// the bridge is stopped, `cutover sweep` has given everyone else their translated hash,
// so they sign in without it.
func TestKratosLazy(t *testing.T) {
	t.Parallel()
	start := time.Now()
	sc := newScenario(t)
	for _, cmd := range []string{"run", "bridge", "status", "sweep"} {
		requireCommand(t, sc.s, cmd)
	}
	t.Cleanup(func() { t.Logf("scenario kratos lazy took %s", time.Since(start).Round(time.Millisecond)) })
	pg := sc.Postgres("db")
	// gus chose a 100-byte password; Django's bcrypt hashed its first 72 bytes, so the
	// legacy hash accepts the full password and that prefix alike (issue 19).
	long := strings.Repeat("a long passphrase, for safety ", 4)[:100]
	users := append(djangoUsers(t), legacyUser{ID: 7, Login: "gus", Email: "gus@example.com", First: "Gus", Last: "Long",
		Password: long, Hash: djangoBcrypt(t, long[:72], false), Format: "django bcrypt", Active: true, CanSignIn: true})
	loadDjango(sc, pg, users)
	by := map[string]legacyUser{}
	for _, u := range users {
		by[u.Login] = u
	}
	secret := randomHex(16)
	vol := sc.Volume()
	env := []string{"LEGACY_DSN=" + pg.NetURL(), "BRIDGE_SECRET=" + secret}
	plan := djangoLazyPlan("target:\n  kind: kratos\n  url: http://kratos:4434\n  public_url: http://kratos:4433\n  schema_id: user\n")
	k := sc.Kratos("kratos", pg, sc.kratosSchema(plan), &kratosHook{URL: "http://bridge:8788/password-migration", Secret: secret})
	state := cutoverSpec{Env: env, Files: map[string]string{"plan.yaml": plan}, Volumes: map[string]string{vol: "/work"}}

	rep, _ := sc.RunBulk(5*time.Minute, bulkRun{Plan: plan, DSN: pg.NetURL(), Env: env[1:], Volumes: state.Volumes}, 0)
	if rep.Inserted != int64(len(users)) || rep.Failed != 0 || rep.WithoutPassword != 1 {
		t.Fatalf("pre-import: got %s; want all %d inserted, 1 (frank, unusable) without password", rep, len(users))
	}
	// Before the bridge runs, Kratos cannot reach its hook: an error (502), never a sign-in.
	if r, err := k.client.SignIn(t.Context(), by["alice"].Email, by["alice"].Password); err == nil && r.OK {
		t.Fatalf("alice signed in before the bridge runs: the hook cannot have answered")
	}
	bridge := sc.ServeCutover(8788, "/healthz", cutoverSpec{Args: []string{"bridge", "--plan", "plan.yaml"},
		Env: env, Files: state.Files, Volumes: state.Volumes, Aliases: []string{"bridge"}})

	steps := []struct {
		name, login, password string
		wantOK                bool
		wantVerified          int64 // the bridge's verified count afterwards
	}{
		{"a wrong password is refused through the bridge", "alice", "not her password", false, 0},
		{"bcrypt_sha256, which bulk cannot carry, migrates through the hook", "carol", by["carol"].Password, true, 1},
		{"PBKDF2 migrates", "alice", by["alice"].Password, true, 2},
		{"a second sign-in is Kratos's own: the bridge is not asked", "alice", by["alice"].Password, true, 2},
		{"a 72-byte prefix of a longer password does not migrate", "gus", long[:72], false, 2},
		{"a password Kratos refuses (100 bytes) gets the reset path, not verified", "gus", long, false, 2},
	}
	for _, st := range steps {
		if !t.Run(st.name, func(t *testing.T) {
			if r := k.SignIn(t, by[st.login].Email, st.password); r.OK != st.wantOK {
				t.Errorf("%s: got signed in %v (%s), want %v", st.login, r.OK, r.Reason, st.wantOK)
			}
			if got := bridgeStats(t, bridge); got.Verified != st.wantVerified {
				t.Errorf("bridge verified: got %d, want %d (%+v)", got.Verified, st.wantVerified, got)
			}
		}) {
			t.FailNow()
		}
	}

	if got := bridgeStats(t, bridge); got.TargetRefused != 2 {
		t.Errorf("bridge target_refused: got %d, want 2 (gus twice)", got.TargetRefused)
	}
	stdout, stderr, _ := bridge.Logs(t.Context())
	logs := stdout + stderr
	if !strings.Contains(logs, "password_over_72_bytes") || !strings.Contains(logs, "bcrypt_72_bytes") || strings.Contains(logs, long[:30]) {
		t.Errorf("bridge log: want both rules named and never the password")
	}

	// status counts exactly the users Kratos holds with a password of their own.
	st := state
	st.Args = []string{"status", "--plan", "plan.yaml", "--json"}
	res := sc.RunCutover(time.Minute, st)
	var status lazyStatus
	if res.ExitCode != 0 || json.Unmarshal([]byte(res.Stdout), &status) != nil {
		t.Fatalf("cutover status: got exit %d\n%s", res.ExitCode, res)
	}
	holding := 0
	for _, u := range users {
		if k.hasOwnPassword(t, u.Email) {
			holding++
		}
	}
	if status.Migrated != 2 || int(status.Migrated) != holding {
		t.Errorf("cutover status: %d migrated; Kratos holds %d users with a password of their own; want 2 and 2", status.Migrated, holding)
	}

	sw := state
	sw.Args = []string{"sweep", "--plan", "plan.yaml", "--json"}
	res = sc.RunCutover(5*time.Minute, sw)
	var swept runReport
	if err := json.Unmarshal([]byte(res.Stdout), &swept); err != nil || res.ExitCode != 0 {
		t.Fatalf("cutover sweep: exit %d, %v\n%s", res.ExitCode, err, res)
	}
	// bob, dave, erin and gus waited for the hook and get their hash; alice and carol
	// are Kratos's own now; frank had no password to give.
	if swept.Updated != 4 || swept.Skipped != 3 || swept.Failed != 0 || swept.Inserted != 0 || swept.reasonCount("migrated_lazily") != 2 {
		t.Errorf("sweep: got %s; want 4 updated (hash given), 3 skipped (2 migrated lazily, frank)", swept)
	}
	if err := bridge.Kill(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := k.SignIn(t, by["erin"].Email, by["erin"].Password); r.OK {
		t.Errorf("erin is inactive in the legacy site: signed in at Kratos, want refused")
	}
	for _, u := range []legacyUser{by["bob"], by["dave"], by["alice"], by["carol"]} {
		if r := k.SignIn(t, u.Email, u.Password); !r.OK {
			t.Errorf("%s (%s) after the sweep, bridge stopped: refused (%s), want signed in", u.Login, u.Format, r.Reason)
		}
		if r := k.SignIn(t, u.Email, u.Password+"x"); r.OK {
			t.Errorf("%s after the sweep with a wrong password: signed in, want refused", u.Login)
		}
	}
	if got := k.Count(t); got != len(users) {
		t.Errorf("identities at Kratos: got %d, want %d (one per user)", got, len(users))
	}
}

// TestKratosAuthOnly moves sign-in of an app that keeps its users table to a real
// Kratos: `cutover run` imports identifiers only (no credentials) and writes each
// identity's id into users.idp_user_id. Then one user sets a password at Kratos (as a
// recovery flow would), signs in through the login API, and the app's middleware
// verifies the Kratos session (/sessions/whoami) and hands the request that user's
// own row; no session, or a made-up one, is refused.
func TestKratosAuthOnly(t *testing.T) {
	t.Parallel()
	start := time.Now()
	sc := newScenario(t)
	requireCommand(t, sc.s, "run")
	t.Cleanup(func() { t.Logf("scenario kratos authonly took %s", time.Since(start).Round(time.Millisecond)) })
	db := sc.Postgres("db")
	appUsers := appUsersFixture()
	before := loadAppUsers(sc, db, appUsers)
	valid := validAppUsers(appUsers)
	plan := authonlyPlan("target:\n  kind: kratos\n  url: http://kratos:4434\n  public_url: http://kratos:4433\n  schema_id: user\n")
	k := sc.Kratos("kratos", db, sc.kratosSchema(plan), nil)
	out := sc.runAuthOnly(bulkRun{Plan: plan, DSN: db.NetURL()})
	if out.Inserted != int64(valid) || out.Invalid != int64(len(appUsers)-valid) || out.WriteBack.Updated != int64(valid) {
		t.Fatalf("authonly run: got %s, write-back %d updated; want %d inserted and written back", out.runReport, out.WriteBack.Updated, valid)
	}
	ids := idpIDs(sc, db)
	for _, u := range appUsers {
		found, err := k.client.FindByIdentifier(t.Context(), u.Email)
		switch {
		case err != nil:
			t.Fatal(err)
		case !u.Valid && (found != nil || ids[u.Email] != ""):
			t.Errorf("%s: got identity %v and idp_user_id %q; want neither (the row is invalid)", u.Email, found, ids[u.Email])
		case u.Valid && (found == nil || ids[u.Email] != found.ID):
			t.Errorf("%s: users.idp_user_id %q, want the Kratos identity's id (found %+v)", u.Email, ids[u.Email], found)
		}
	}
	if r := k.SignIn(t, "ana@example.net", "app password of ana@example.net"); r.OK {
		t.Errorf("ana signed in with a password before setting one: authonly must not move passwords")
	}

	// Ana sets a password at Kratos, as a recovery flow would let her, and signs in.
	const pw = "a brand new passphrase"
	hash, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	anaID := ids["ana@example.net"]
	setKratosPassword(t, k, anaID, "ana@example.net", string(hash))
	sess, reason, err := k.client.Login(t.Context(), "ana@example.net", pw)
	if err != nil || sess == nil {
		t.Fatalf("ana's sign-in at Kratos: %v (%s)", err, reason)
	}

	mw, err := middleware.New(t.Context(), middleware.Config[middleware.Row]{
		Store:    &middleware.SQLStore{DB: db.DB, Dialect: "postgres", Table: "users", Key: "id"},
		Sessions: &middleware.KratosSessions{PublicURL: k.client.PublicURL()},
	})
	if err != nil {
		t.Fatal(err)
	}
	app := httptest.NewServer(mw.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom[middleware.Row](r.Context())
		json.NewEncoder(w).Encode(map[string]any{"id": u["id"], "email": u["email"], "idp_user_id": u["idp_user_id"]})
	})))
	defer app.Close()
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"ana's session", sess.Token, http.StatusOK},
		{"no session", "", http.StatusUnauthorized},
		{"a made-up session", "ory_st_" + randomHex(16), http.StatusUnauthorized},
	} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, app.URL+"/account", nil)
		if tc.token != "" {
			req.Header.Set("X-Session-Token", tc.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("GET /account with %s: got status %d, want %d", tc.name, resp.StatusCode, tc.want)
			continue
		}
		if tc.want == http.StatusOK && (fmt.Sprint(got["id"]) != fmt.Sprint(before["ana@example.net"].ID) || got["idp_user_id"] != anaID) {
			t.Errorf("GET /account with ana's session: got %v, want her own row (id %d, idp_user_id %s)", got, before["ana@example.net"].ID, anaID)
		}
	}
}

// hasOwnPassword reports whether the identity holding email has a password hash of
// its own (not an identity still waiting for the migration hook).
func (k *kratosIDP) hasOwnPassword(t *testing.T, email string) bool {
	t.Helper()
	f, err := k.client.FindByIdentifier(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	if f == nil {
		return false
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, k.client.AdminURL()+kratos.PathIdentities+"/"+f.ID+"?include_credential=password", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var id struct {
		Credentials struct {
			Password struct {
				Config struct {
					HashedPassword string `json:"hashed_password"`
				} `json:"config"`
			} `json:"password"`
		} `json:"credentials"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&id); err != nil {
		t.Fatal(err)
	}
	return id.Credentials.Password.Config.HashedPassword != ""
}

// setKratosPassword gives an identity a password hash through the admin API.
func setKratosPassword(t *testing.T, k *kratosIDP, id, email, hash string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"schema_id": "user", "state": "active", "traits": map[string]any{"email": email},
		"credentials": map[string]any{"password": map[string]any{"config": map[string]any{"hashed_password": hash}}}})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, k.client.AdminURL()+kratos.PathIdentities+"/"+id, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("set a password for %s at Kratos: status %d", email, resp.StatusCode)
	}
}

// kratosCrashRows is the Kratos crash scenario's table: Kratos imports a few hundred
// users a second here, so a kill at a fifth lands in the middle.
const kratosCrashRows = 8_000

// TestKratosCrashResume is TestBulkCrashResume against a real Kratos: SIGKILL in the
// middle of a bulk run, --resume, and exactly one identity per valid row.
func TestKratosCrashResume(t *testing.T) {
	t.Parallel()
	start := time.Now()
	t.Cleanup(func() { t.Logf("scenario kratos crash took %s", time.Since(start).Round(time.Millisecond)) })
	sc := newScenario(t)
	requireCommand(t, sc.s, "run")
	db := sc.Postgres("db")
	plan := generatedUsersPlan("target:\n  kind: kratos\n  url: http://x:4434\n", "")
	k := sc.Kratos("kratos", db, sc.kratosSchema(plan), nil)
	crashResume(t, sc, db, kratosCrashRows, crashTarget{block: k.Target(), count: k.Count, bulk: "  batch_size: 250\n  concurrency: 4\n"})
}
