package e2e

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// lazyPlan is a lazy plan for WordPress's wp_users in MariaDB: the bridge listens on
// the scenario network, the shared secret and the DSN come from the environment, and
// the tracking store and the sweep's run directory live on the volume mounted at /work.
func lazyPlan(target string) string {
	return `version: 1
strategy: lazy
source:
  kind: mysql
  dsn: ${LEGACY_DSN}
  table: wp_users
mapping:
  legacy_id: ID
  email: user_email
  preferred_username: user_login
  name: display_name
  password_hash: user_pass
` + target + `lazy:
  listen: 0.0.0.0:8788
  secret: ${BRIDGE_SECRET}
  store: state/lazy.db
bulk:
  run_dir: state/runs
`
}

// bridgeCounts mirrors the counts of the bridge's GET /healthz.
type bridgeCounts struct {
	Verified    int64 `json:"verified"`
	Failed      int64 `json:"failed"`
	RateLimited int64 `json:"rate_limited"`
	Errors      int64 `json:"errors"`
	// TargetRefused counts right passwords the target's rules refused (a reset).
	TargetRefused int64 `json:"target_refused"`
}

// bridgeStats reads how many verifications the bridge has answered since it started.
func bridgeStats(t *testing.T, bridge *service) bridgeCounts {
	t.Helper()
	resp, err := http.Get(bridge.HostURL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz on the bridge: %v", err)
	}
	defer resp.Body.Close()
	var h struct {
		Counts bridgeCounts `json:"counts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatalf("GET /healthz on the bridge: decode: %v", err)
	}
	return h.Counts
}

// lazyStatus mirrors `cutover status --json`.
type lazyStatus struct {
	Total     int64   `json:"total"`
	Migrated  int64   `json:"migrated"`
	Remaining int64   `json:"remaining"`
	Percent   float64 `json:"percent"`
	Invalid   int64   `json:"invalid"`
}

// TestLazyWordPress migrates a WordPress site lazily: wp_users (phpass, WordPress 6.8
// bcrypt and a bare MD5) in MariaDB, `cutover bridge` in a container, and the mock IdP
// with its lazy hook on the bridge. Users who sign in with their old password are
// created at the IdP on the way (a wrong password creates nobody), and from then on the
// IdP signs them in without asking the bridge. `cutover status` counts them, and
// `cutover sweep` imports everyone else, so that the IdP ends with exactly one user per
// valid row and the swept users sign in with their old passwords too.
func TestLazyWordPress(t *testing.T) {
	t.Parallel()
	start := time.Now()
	sc := newScenario(t)
	for _, cmd := range []string{"bridge", "status", "sweep", "mockidp", "login"} {
		requireCommand(t, sc.s, cmd)
	}
	// Timed from the start, reported only when the scenario ran.
	t.Cleanup(func() { t.Logf("scenario lazy took %s", time.Since(start).Round(time.Millisecond)) })
	db := sc.MariaDB("db")
	users := wordpressUsers(t)
	// A row with no email: nobody can sign in with it, and the sweep must report it.
	loadWordPress(sc, db, append(users, legacyUser{ID: 5, Login: "noemail", Email: "", First: "No", Last: "Email",
		Password: "unused pass", Hash: phpass("unused pass", "Zz9Yy8Xx", 13)}))
	rows, valid := len(users)+1, len(users)
	byLogin := map[string]legacyUser{}
	for _, u := range users {
		byLogin[u.Login] = u
	}

	secret := randomHex(16)
	vol := sc.Volume() // /work: the plan, the tracking store and the sweep's run directory
	env := []string{"LEGACY_DSN=" + db.NetURL(), "BRIDGE_SECRET=" + secret}
	// The bridge starts first: the IdP's hook points at it. Its plan names the target
	// without the Admin API key: the bridge only reads the legacy store.
	bridge := sc.ServeCutover(8788, "/healthz", cutoverSpec{
		Args:    []string{"bridge", "--plan", "bridge.yaml"},
		Env:     env,
		Files:   map[string]string{"bridge.yaml": lazyPlan("target:\n  kind: mockidp\n  url: http://idp:8080\n  profile: permissive\n")},
		Volumes: map[string]string{vol: "/work"},
		Aliases: []string{"bridge"},
	})
	idp := sc.MockIDPEnv("idp", "permissive", []string{"LAZY_SECRET=" + secret},
		"--lazy-hook", bridge.NetURL+"/verify", "--lazy-secret-env", "LAZY_SECRET")
	plan := lazyPlan(idp.Target("mockidp"))
	if got := idp.Count(t); got != 0 {
		t.Fatalf("users at the IdP before any sign-in: got %d, want 0", got)
	}

	t.Run("the bridge refuses callers without the secret", func(t *testing.T) {
		u := byLogin["admin"]
		for _, tc := range []struct {
			name, auth string
			want       int
		}{
			{"no secret", "", http.StatusUnauthorized},
			{"wrong secret", "Bearer " + randomHex(16), http.StatusForbidden},
		} {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, bridge.HostURL+"/verify",
				strings.NewReader(url.Values{"email": {u.Email}, "password": {u.Password}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("POST /verify on the bridge: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("POST /verify with %s: got status %d, want %d", tc.name, resp.StatusCode, tc.want)
			}
		}
		if got := bridgeStats(t, bridge); got.Verified != 0 {
			t.Errorf("bridge counts after unauthenticated calls: got %+v, want nothing verified", got)
		}
	})

	// signIn signs a user in through `cutover login` and checks the outcome, the number
	// of users at the IdP, and whether the IdP asked the bridge. A refused `cutover
	// login` may ask twice (x/oauth2 retries a failed grant with the client id in the
	// body), so a refusal is checked as "asked and said no", not by an exact count.
	signIn := func(t *testing.T, u legacyUser, password string, wantOK bool, wantIdP int, wantAsked bool) {
		t.Helper()
		before := bridgeStats(t, bridge)
		res, claims := sc.in(t).SignIn(idp, u.Email, password)
		switch {
		case wantOK && res.ExitCode != 0:
			t.Fatalf("%s (%s): got exit code %d, want 0 (signed in)\n%s", u.Login, u.Format, res.ExitCode, res)
		case wantOK:
			if got, _ := claims["email"].(string); got != u.Email {
				t.Errorf("%s: ID token email: got %q, want %q", u.Login, got, u.Email)
			}
		case res.ExitCode != 1 || !strings.Contains(res.Stderr, "refused"):
			t.Errorf("%s (%s): got exit code %d, want 1 and a refusal\n%s", u.Login, u.Format, res.ExitCode, res)
		}
		if got := idp.Count(t); got != wantIdP {
			t.Errorf("after %s's sign-in: users at the IdP: got %d, want %d", u.Login, got, wantIdP)
		}
		got := bridgeStats(t, bridge)
		switch {
		case !wantAsked:
			if got != before {
				t.Errorf("after %s's sign-in: bridge counts went from %+v to %+v, want unchanged (the IdP knows the user)", u.Login, before, got)
			}
		case wantOK:
			if want := (bridgeCounts{Verified: before.Verified + 1, Failed: before.Failed}); got != want {
				t.Errorf("after %s's sign-in: bridge counts: got %+v, want %+v (one verification)", u.Login, got, want)
			}
		default:
			if got.Verified != before.Verified || got.Failed <= before.Failed || got.Errors != 0 {
				t.Errorf("after %s's sign-in: bridge counts went from %+v to %+v, want more failed verifications and no other change", u.Login, before, got)
			}
		}
	}
	admin, gina, hank := byLogin["admin"], byLogin["gina"], byLogin["hank"]
	steps := []struct {
		name      string
		user      legacyUser
		password  string
		wantOK    bool
		wantIdP   int  // users at the IdP afterwards
		wantAsked bool // whether the IdP asks the bridge
	}{
		// The steps run in order: each one's IdP count follows from the ones before.
		{"first sign-in with the old phpass password migrates", admin, admin.Password, true, 1, true},
		{"a wrong password is refused and creates nobody", gina, gina.Password + "!", false, 1, true},
		{"a second sign-in does not ask the bridge", admin, admin.Password, true, 1, false},
		{"a migrated user's wrong password is refused by the IdP itself", admin, "hunter3 hunter3", false, 1, false},
		{"WordPress 6.8 bcrypt migrates", hank, hank.Password, true, 2, true},
	}
	for _, st := range steps {
		if !t.Run(st.name, func(t *testing.T) {
			signIn(t, st.user, st.password, st.wantOK, st.wantIdP, st.wantAsked)
		}) {
			t.FailNow() // the next steps' counts assume this one
		}
	}
	if got, ok := idp.User(t, admin.Email); !ok || got.Source != "lazy" {
		t.Errorf("%s at the IdP: got %+v (found %v), want a user created by the lazy hook", admin.Login, got, ok)
	}

	state := cutoverSpec{
		Env:     env,
		Files:   map[string]string{"plan.yaml": plan, idpKeyFile: idp.KeyPEM},
		Volumes: map[string]string{vol: "/work"},
	}
	t.Run("status counts the migrated users", func(t *testing.T) {
		spec := state
		spec.Args = []string{"status", "--plan", "plan.yaml", "--json"}
		res := sc.in(t).RunCutover(time.Minute, spec)
		if res.ExitCode != 0 {
			t.Fatalf("cutover status: got exit code %d, want 0\n%s", res.ExitCode, res)
		}
		var st lazyStatus
		if err := json.Unmarshal([]byte(res.Stdout), &st); err != nil {
			t.Fatalf("cutover status --json: stdout is not the status: %v\n%s", err, res)
		}
		want := lazyStatus{Total: int64(rows), Migrated: 2, Remaining: int64(rows - 2), Percent: 40, Invalid: 1}
		if st != want {
			t.Errorf("cutover status: got %+v, want %+v", st, want)
		}
		if strings.Contains(res.Stdout+res.Stderr, db.Password) || strings.Contains(res.Stdout+res.Stderr, secret) {
			t.Errorf("cutover status printed the database password or the bridge secret")
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	t.Run("sweep moves the rest", func(t *testing.T) {
		spec := state
		spec.Args = []string{"sweep", "--plan", "plan.yaml", "--json"}
		sc := sc.in(t)
		res := sc.RunCutover(3*time.Minute, spec)
		if res.ExitCode != 0 {
			t.Fatalf("cutover sweep: got exit code %d, want 0\n%s", res.ExitCode, res)
		}
		sc.checkNoSecrets(res, bulkRun{DSN: db.NetURL()})
		if strings.Contains(res.Stdout+res.Stderr, secret) {
			t.Errorf("cutover sweep printed the bridge secret")
		}
		var rep runReport
		if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
			t.Fatalf("cutover sweep --json: stdout is not the report: %v\n%s", err, res)
		}
		if !rep.reconciles() || rep.Rows != int64(rows) || rep.Inserted != int64(valid-2) || rep.Skipped != 2 || rep.Invalid != 1 || rep.Failed != 0 {
			t.Errorf("sweep report: got %s; want %d rows: %d inserted, 2 skipped (migrated lazily), 1 invalid", rep, rows, valid-2)
		}
		if got := rep.reasonCount("migrated_lazily"); got != 2 {
			t.Errorf("sweep: rows skipped as migrated_lazily: got %d, want 2 (reasons %v)", got, rep.Reasons)
		}

		// Exactly one user per valid row, nobody else.
		all := idp.All(t)
		perEmail := map[string]int{}
		for _, u := range all {
			perEmail[u.Email]++
		}
		if len(all) != valid {
			t.Errorf("users at the IdP after the sweep: got %d, want %d (one per valid row)", len(all), valid)
		}
		for _, u := range users {
			if perEmail[u.Email] != 1 {
				t.Errorf("%s at the IdP: got %d users, want exactly 1", u.Email, perEmail[u.Email])
			}
		}

		// Swept users sign in with their old passwords at the IdP; the bridge is not asked.
		before := bridgeStats(t, bridge)
		for _, u := range []legacyUser{gina, byLogin["ivy"]} {
			for _, tc := range []struct {
				name, password string
				want           bool
			}{{"old password", u.Password, true}, {"wrong password", u.Password + "!", false}} {
				res, _ := sc.SignIn(idp, u.Email, tc.password)
				if got := res.ExitCode == 0; got != tc.want {
					t.Errorf("%s (%s) after the sweep with the %s: got exit code %d (signed in %v), want signed in %v\n%s", u.Login, u.Format, tc.name, res.ExitCode, got, tc.want, res)
				}
			}
		}
		if got := bridgeStats(t, bridge); got != before {
			t.Errorf("bridge counts after swept users signed in: got %+v, want %+v (unchanged)", got, before)
		}
	})
}
