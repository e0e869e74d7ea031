package e2e

import (
	"testing"
	"time"
)

// faultRows and faultInvalidEvery size the faults scenario: enough small batches
// (bulk.batch_bytes 10000, a few dozen users each) that the injected faults hit many of them.
const (
	faultRows         = 3000
	faultInvalidEvery = 500
)

// TestBulkFaults runs a bulk import against a mock IdP having a bad day: one import call
// in ten answers 500, 502 or 503, and above 20 admin requests a second it answers 429
// with Retry-After. The run must still complete, with every row accounted for, every
// valid user at the IdP exactly once, and the report saying it had to retry.
func TestBulkFaults(t *testing.T) {
	t.Parallel()
	start := time.Now()
	t.Cleanup(func() { t.Logf("scenario faults took %s", time.Since(start).Round(time.Millisecond)) })
	sc := newScenario(t)
	requireCommand(t, sc.s, "run")
	requireCommand(t, sc.s, "mockidp")
	requireCommand(t, sc.s, "login")
	db := sc.Postgres("db")
	loadGeneratedUsers(sc, db, faultRows, faultInvalidEvery)
	invalid := faultRows / faultInvalidEvery
	valid := faultRows - invalid

	idp := sc.MockIDP("idp", "authgear", "--fault-error-rate", "0.1", "--fault-rate-limit", "20")
	rep, res := sc.RunBulk(5*time.Minute, bulkRun{Plan: generatedUsersPlan(idp.Target("authgear"), "  batch_bytes: 10000\n  concurrency: 4\n"), DSN: db.NetURL(), IDP: idp}, 0)
	t.Logf("run under faults: %s in %s", rep, res.Took.Round(time.Millisecond))

	if rep.Rows != faultRows || rep.Inserted != int64(valid) || rep.Invalid != int64(invalid) || rep.Failed != 0 || rep.Skipped != 0 {
		t.Errorf("report: got %s; want %d rows, %d inserted, %d invalid, none failed or skipped", rep, faultRows, valid, invalid)
	}
	if rep.Retries == 0 {
		t.Errorf("report: got 0 retries, want some: the IdP answered 5xx and 429 on purpose")
	}
	if got := idp.Count(t); got != valid {
		t.Errorf("users at the IdP: got %d, want %d (one per valid row)", got, valid)
	}
	// The faults hit the admin API only; imported users sign in as usual.
	for _, tc := range []struct {
		email    string
		password string
		want     int
	}{
		{"user7@example.com", generatedPassword, 0},
		{"user7@example.com", generatedPassword + "!", 1},
		{"user500.example.com", generatedPassword, 1}, // an invalid row: never imported
	} {
		if res, _ := sc.SignIn(idp, tc.email, tc.password); res.ExitCode != tc.want {
			t.Errorf("sign-in of %s: got exit code %d, want %d\n%s", tc.email, res.ExitCode, tc.want, res)
		}
	}
}
