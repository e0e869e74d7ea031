package lazy

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

// TestMockIDPThroughBridge is the acceptance test: mock IdP hook -> bridge -> legacy
// SQLite and Postgres.
func TestMockIDPThroughBridge(t *testing.T) {
	sources := []struct {
		name string
		plan func(t *testing.T) *strategies.Plan
	}{
		{"sqlite", func(t *testing.T) *strategies.Plan { return sqlitePlan(t, fixtures, bcrypt.MinCost) }},
		{"postgres", func(t *testing.T) *strategies.Plan {
			dsn := sourcetest.Postgres(t)
			postgresLegacy(t, dsn, fixtures, bcrypt.MinCost)
			return lazyPlan(t, strategies.SourceSpec{Kind: strategies.SourcePostgres, DSN: dsn, Table: "users"}, t.TempDir())
		}},
	}
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			ctx := context.Background()
			tb := startBridge(t, src.plan(t), Config{})
			idpSrv := startMockIDP(t, tb.URL+PathVerify, testSecret)

			tok, err := passwordGrant(ctx, idpSrv, "alice@example.com", alice.password)
			if err != nil {
				t.Fatalf("first sign-in with the old password: %v", err)
			}
			if got := tb.Calls.Load(); got != 1 {
				t.Fatalf("bridge calls after the first sign-in: got %d, want 1", got)
			}
			info := userinfo(t, idpSrv, tok)
			for k, want := range map[string]any{"legacy_id": "1", "name": "Alice Archer", "given_name": "Alice", "family_name": "Archer",
				"custom_attributes": map[string]any{"plan": "pro"}} {
				if got := mustJSON(t, info[k]); got != mustJSON(t, want) {
					t.Errorf("userinfo %s: got %s, want %s", k, got, mustJSON(t, want))
				}
			}
			if sub, _ := info["sub"].(string); sub == "" {
				t.Errorf("userinfo has no sub: %v", info)
			}

			if _, err := passwordGrant(ctx, idpSrv, "alice@example.com", alice.password); err != nil {
				t.Fatalf("second sign-in: %v", err)
			}
			if got := tb.Calls.Load(); got != 1 {
				t.Errorf("bridge calls after the second sign-in: got %d, want still 1", got)
			}

			refused := []struct{ name, login, password string }{
				{"wrong password", "bob@example.com", "not-bobs-password"},
				{"unknown email", "nobody@example.com", "some-guess"},
				{"disabled legacy user", carol.email, carol.password},
			}
			for _, r := range refused {
				before := tb.Calls.Load()
				if _, err := passwordGrant(ctx, idpSrv, r.login, r.password); err == nil {
					t.Errorf("%s: sign-in worked, want it refused", r.name)
				}
				if got := tb.Calls.Load(); got != before+1 {
					t.Errorf("%s: bridge calls went from %d to %d, want one call", r.name, before, got)
				}
			}

			logs := tb.Log.String()
			if !strings.Contains(logs, "verified") {
				t.Fatalf("the bridge logged nothing useful:\n%s", logs)
			}
			for _, pw := range []string{alice.password, "not-bobs-password", "some-guess", carol.password, testSecret} {
				if strings.Contains(logs, pw) {
					t.Errorf("the bridge's log contains a password or the secret %q:\n%s", pw, logs)
				}
			}
		})
	}
}

func userinfo(t *testing.T, s *mockidp.Server, tok *oauth2.Token) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", s.Config().Issuer+mockidp.PathUserinfo, nil)
	tok.SetAuthHeader(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET userinfo: got HTTP %d, want 200", resp.StatusCode)
	}
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStatusAndSweep: after some users sign in, status counts them; sweep imports
// exactly the rest.
func TestStatusAndSweep(t *testing.T) {
	ctx := context.Background()
	users := append(append([]legacyUser{}, fixtures...), extraUsers(20)...)
	p := sqlitePlan(t, users, bcrypt.MinCost)
	clk := &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	tb := startBridge(t, p, Config{Now: clk.Now})
	idpSrv := startMockIDP(t, tb.URL+PathVerify, testSecret)

	signedIn := []legacyUser{alice, bob, users[7], users[8]}
	for i, u := range signedIn {
		if i == 2 {
			clk.Add(24 * time.Hour)
		}
		if _, err := passwordGrant(ctx, idpSrv, u.email, u.password); err != nil {
			t.Fatalf("sign-in of user %d: %v", u.id, err)
		}
	}
	// A failed sign-in is not a migration.
	if _, err := passwordGrant(ctx, idpSrv, users[9].email, "wrong"); err == nil {
		t.Fatal("a wrong password signed in")
	}

	st, err := GetStatus(ctx, p, tb.Store())
	if err != nil {
		t.Fatalf("GetStatus: %v", err)
	}
	total := int64(len(users))
	want := Status{Total: total, Migrated: 4, Remaining: total - 4, Percent: 15.4, Invalid: 1, Store: tb.Store().Path(),
		PerDay: []DayCount{{"2026-03-01", 2}, {"2026-03-02", 2}}}
	if mustJSON(t, st) != mustJSON(t, want) {
		t.Errorf("status:\n got %s\nwant %s", mustJSON(t, st), mustJSON(t, want))
	}

	// The bridge said yes for users[11], but the IdP never saved them (it crashed, or
	// refused the user_info): the sweep must import them rather than trust the store.
	lost := users[11]
	if err := tb.Store().Record(ctx, Migration{At: clk.Now(), LegacyID: strconv.Itoa(lost.id), Email: lost.email, Dialect: "authproject"}); err != nil {
		t.Fatal(err)
	}

	admin := idpSrv.Config()
	client, err := idp.New(idp.Config{BaseURL: admin.Issuer, Project: admin.Project, KeyID: admin.KeyID, Key: admin.AdminKey})
	if err != nil {
		t.Fatal(err)
	}
	mc := &idp.MockClient{Client: client}
	r := &bulk.Runner{OpenTarget: func(context.Context, *strategies.Plan) (*idp.Target, error) {
		return &idp.Target{Importer: mc, Hashes: idp.ProfileHashes(strategies.ProfileAuthgear), Name: "mockidp-test", URL: admin.Issuer}, nil
	}}
	rep, err := Sweep(ctx, p, tb.Store(), r, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	// Everyone not migrated is imported, except frank, whose hash is malformed (invalid).
	wantIns := st.Remaining - st.Invalid
	if rep.Inserted != wantIns || rep.Skipped != 4 || rep.Invalid != 1 || rep.Failed != 0 || !rep.Reconciles() {
		t.Errorf("sweep: got inserted %d skipped %d invalid %d failed %d (reconciles %v), want inserted %d skipped 4 invalid 1 failed 0",
			rep.Inserted, rep.Skipped, rep.Invalid, rep.Failed, rep.Reconciles(), wantIns)
	}
	if got := rep.Reasons[reasonKeyOf(ReasonSwept)]; got != 4 {
		t.Errorf("sweep reasons: got %v, want 4 rows skipped as migrated lazily", rep.Reasons)
	}
	if rep.Rescued != 1 || !strings.Contains(strings.Join(rep.NextSteps, "\n"), "1 users the bridge had verified were missing at the IdP") {
		t.Errorf("sweep: got rescued %d, next steps %q; want the one verified user missing at the IdP imported and reported", rep.Rescued, rep.NextSteps)
	}
	// Every user that reaches the target with no hash counts, whatever the cause (issue 12).
	if rep.WithoutPassword != 2 {
		t.Errorf("sweep: got %d users without password, want 2 (erin's phpass hash cannot go to an authgear target; dave has none)", rep.WithoutPassword)
	}
	pg, err := mc.FindUsers(ctx, idp.Query{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, u := range pg.Users {
		seen[strings.ToLower(u.Email)]++
	}
	for _, u := range users {
		n := seen[strings.ToLower(u.email)]
		switch {
		case u.id == frank.id && n != 0:
			t.Errorf("the invalid user is at the IdP")
		case u.id != frank.id && n != 1:
			t.Errorf("user %d is at the IdP %d times, want once", u.id, n)
		}
	}
	// Users swept in with their bcrypt hash sign in at the IdP without the bridge.
	calls := tb.Calls.Load()
	if _, err := passwordGrant(ctx, idpSrv, users[10].email, users[10].password); err != nil {
		t.Errorf("a swept user cannot sign in with the old password: %v", err)
	}
	if _, err := passwordGrant(ctx, idpSrv, lost.email, lost.password); err != nil {
		t.Errorf("the rescued user cannot sign in with the old password: %v", err)
	}
	if _, err := passwordGrant(ctx, idpSrv, lost.email, "not-"+lost.password); err == nil {
		t.Errorf("the rescued user signed in with a wrong password")
	}
	if tb.Calls.Load() != calls {
		t.Errorf("a swept user's sign-in reached the bridge")
	}

	st, err = GetStatus(ctx, p, tb.Store())
	if err != nil {
		t.Fatal(err)
	}
	if st.Migrated != 5 {
		t.Errorf("status after the sweep: got migrated %d, want 5, the four sign-ins and the lost user's record (the sweep does not count as lazy sign-ins)", st.Migrated)
	}
}

// reasonKeyOf is how bulk groups reasons in a report: the text before the first ':'.
func reasonKeyOf(reason string) string {
	k, _, _ := strings.Cut(reason, ":")
	return k
}
