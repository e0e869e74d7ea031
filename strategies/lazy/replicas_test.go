package lazy

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

// TestReplicasShareLimitAndStore performs issue 13 item 17 on a real Postgres and a
// real MariaDB: two
// bridge replicas, each with its own plan file directory (as on two machines), behind a
// load balancer that alternates between them. Without a shared store each replica
// allowed per_identifier failures of its own, and status, reading one replica's file,
// did not count the other's migrations.
func TestReplicasShareLimitAndStore(t *testing.T) {
	for _, db := range []struct {
		name   string
		source func(t *testing.T) strategies.SourceSpec
	}{
		{"postgres", func(t *testing.T) strategies.SourceSpec {
			dsn := sourcetest.Postgres(t)
			postgresLegacy(t, dsn, fixtures, bcrypt.MinCost)
			return strategies.SourceSpec{Kind: strategies.SourcePostgres, DSN: dsn, Table: "users"}
		}},
		{"mariadb", func(t *testing.T) strategies.SourceSpec {
			return strategies.SourceSpec{Kind: strategies.SourceMySQL, DSN: mariadbUnicodeCI(t, fixtures), Table: "users"}
		}},
	} {
		t.Run(db.name, func(t *testing.T) { testReplicas(t, db.source(t)) })
	}
}

func testReplicas(t *testing.T, src strategies.SourceSpec) {
	replica := func() (*testBridge, *strategies.Plan) {
		p := lazyPlan(t, src, t.TempDir())
		p.Lazy.StoreTable = "cutover_bridge"
		p.Lazy.RateLimit.PerIdentifier = 3
		return startBridge(t, p, Config{}), p
	}
	a, p := replica()
	b, _ := replica()
	ctx := context.Background()
	lb := []*testBridge{a, b}
	for i := range 3 {
		if res, err := lb[i%2].Verify(ctx, bob.email, "wrong"); err != nil || res.Limited {
			t.Fatalf("wrong attempt %d: got %+v, %v, want a counted failure", i+1, res, err)
		}
	}
	for i, r := range lb {
		if res, err := r.Verify(ctx, bob.email, bob.password); err != nil || !res.Limited {
			t.Errorf("replica %d after 3 failures across both: got %+v, %v, want rate-limited", i, res, err)
		}
	}
	for i, r := range lb {
		if res, err := r.Verify(ctx, alice.email, alice.password); err != nil || !res.OK {
			t.Fatalf("replica %d, alice: got %+v, %v, want OK", i, res, err)
		}
	}
	if res, err := b.Verify(ctx, erin.email, erin.password); err != nil || !res.OK {
		t.Fatalf("replica 1, erin: got %+v, %v, want OK", res, err)
	}
	st, err := OpenPlanStore(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	m, err := st.Migrated(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1", "5"} {
		if !m.Has(&strategies.User{LegacyID: id}) {
			t.Errorf("the store does not hold legacy user %s, verified by a replica", id)
		}
	}
	status, err := GetStatus(ctx, p, st)
	if err != nil {
		t.Fatal(err)
	}
	if status.Migrated != 2 || status.NotInSource != 0 {
		t.Errorf("status over both replicas: got migrated %d, not in source %d, want 2 (alice on both counts once, erin), 0", status.Migrated, status.NotInSource)
	}
	if len(status.PerDay) != 1 || status.PerDay[0].Users != 2 {
		t.Errorf("per day: got %+v, want one day with 2 users", status.PerDay)
	}
}

// TestMetrics reads /metrics in the Prometheus text format after a few verifications,
// from two bridges in one process (each has a registry of its own).
func TestMetrics(t *testing.T) {
	legacy := sqliteLegacy(t, fixtures, bcrypt.MinCost)
	bridge := func() *testBridge {
		p := lazyPlan(t, strategies.SourceSpec{Kind: strategies.SourceSQLite, Path: legacy, Table: "users"}, t.TempDir())
		p.Lazy.RateLimit.PerIdentifier = 1
		return startBridge(t, p, Config{})
	}
	tb, other := bridge(), bridge()
	tb.verifyForm(t, alice.email, alice.password)
	tb.verifyForm(t, erin.email, "wrong")
	tb.verifyForm(t, erin.email, "wrong")
	other.verifyForm(t, bob.email, bob.password)
	resp, err := http.Get(tb.URL + PathMetrics)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	text := string(body)
	for _, want := range []string{
		`cutover_bridge_verifications_total{dialect="authproject",format="bcrypt",outcome="verified"} 1`,
		`cutover_bridge_verifications_total{dialect="authproject",format="phpass",outcome="wrong_password"} 1`,
		`cutover_bridge_verifications_total{dialect="authproject",format="none",outcome="rate_limited"} 1`,
		`cutover_bridge_rate_limit_refusals_total{dialect="authproject",limit="user"} 1`,
		`cutover_bridge_verification_seconds_count{dialect="authproject"} 3`,
		`cutover_bridge_queue_depth 0`,
		`cutover_bridge_queue_capacity `,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/metrics lacks %q:\n%s", want, text)
		}
	}
	if regexp.MustCompile(`(?i)bob|alice|erin|password_hash|` + testSecret).MatchString(text) {
		t.Errorf("/metrics names a user or the secret:\n%s", text)
	}
}
