package e2e

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// crashRows is the size of the crash scenario's users table: big enough that a run is
// still importing when it is killed, small enough to stay a few seconds on 2 cores.
const crashRows = 30_000

// crashInvalidEvery makes every n-th row invalid (an email without "@"): a resumed run
// must account for them again without sending them.
const crashInvalidEvery = 1000

// generatedUsersPlan imports the generated users table (loadGeneratedUsers) into the
// mock IdP target with the given bulk options (indented YAML lines).
func generatedUsersPlan(target, bulk string) string {
	return `version: 1
strategy: bulk
source:
  kind: postgres
  dsn: ${LEGACY_DSN}
  table: users
mapping:
  legacy_id: id
  email: email
  name: full_name
  password_hash: password_hash
` + target + "bulk:\n" + bulk
}

// TestBulkCrashResume kills the cutover container with SIGKILL in the middle of a bulk
// run (as an OOM kill or a lost node would), starts it again with --resume on the same
// run directory, and checks what the cutover promises: every valid row ends up as
// exactly one user at the IdP, and every row has exactly one outcome in the report.
func TestBulkCrashResume(t *testing.T) {
	t.Parallel()
	start := time.Now()
	t.Cleanup(func() { t.Logf("scenario bulk crash took %s", time.Since(start).Round(time.Millisecond)) })
	sc := newScenario(t)
	requireCommand(t, sc.s, "run")
	requireCommand(t, sc.s, "mockidp")
	db := sc.Postgres("db")
	idp := sc.MockIDP("idp", "authgear")
	valid := crashResume(t, sc, db, crashRows, crashTarget{block: idp.Target("authgear"), idp: idp, count: idp.Count,
		bulk: "  batch_bytes: 50000\n  concurrency: 4\n"})

	// Exactly one user per valid row: none missing, none twice, none for an invalid row.
	users := idp.All(t)
	if len(users) != valid {
		t.Errorf("users at the IdP: got %d, want %d (one per valid row)", len(users), valid)
	}
	seen := make(map[string]bool, len(users))
	for _, u := range users {
		if seen[u.Email] {
			t.Errorf("user %s is at the IdP twice", u.Email)
		}
		seen[u.Email] = true
		if !strings.Contains(u.Email, "@") {
			t.Errorf("user %q from an invalid row reached the IdP", u.Email)
		}
	}
}

// crashTarget is where a crash scenario imports.
type crashTarget struct {
	block string   // the plan's target block
	idp   *mockIDP // its admin key goes into the container; nil for other targets
	count func(t *testing.T) int
	bulk  string // more bulk options (indented YAML lines)
}

// crashResume loads rows generated users into db, kills a bulk run into tg once a fifth
// of them are there, checks a plain rerun refuses, resumes it, and checks the report
// and the count at the target: one user per valid row. It returns the valid rows.
func crashResume(t *testing.T, sc *scenario, db *database, rows int, tg crashTarget) int {
	t.Helper()
	loadGeneratedUsers(sc, db, rows, crashInvalidEvery)
	invalid := rows / crashInvalidEvery
	valid := rows - invalid
	vol := sc.Volume()
	run := bulkRun{
		// The run directory is on the volume mounted at /work, so it outlives the
		// container that is killed.
		Plan: generatedUsersPlan(tg.block, "  run_dir: /work/runs\n"+tg.bulk), DSN: db.NetURL(), IDP: tg.idp,
		Volumes: map[string]string{vol: "/work"},
	}

	// Kill the run once a fifth of the users have arrived, well before the end.
	first := sc.StartCutover(run.spec())
	killAt := valid / 5
	deadline := time.Now().Add(2 * time.Minute)
	before := 0
	for {
		if exited, code, err := first.Exited(t.Context()); err != nil {
			t.Fatal(err)
		} else if exited {
			stdout, stderr, _ := first.Logs(t.Context())
			t.Fatalf("the first run ended (exit code %d) before it could be killed with %d of %d users imported; make the table bigger\n--- stdout ---\n%s\n--- stderr ---\n%s", code, before, valid, stdout, stderr)
		}
		if before = tg.count(t); before >= killAt {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first run imported %d users in 2 minutes, want at least %d", before, killAt)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := first.Kill(t.Context()); err != nil {
		t.Fatal(err)
	}
	code, err := first.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if code != 137 {
		t.Errorf("killed run: got exit code %d, want 137 (SIGKILL)", code)
	}
	// Requests the killed run had started may still be finishing inside the IdP: wait
	// until the count holds still.
	atKill := tg.count(t)
	for range 50 {
		time.Sleep(200 * time.Millisecond)
		n := tg.count(t)
		if n == atKill {
			break
		}
		atKill = n
	}
	t.Logf("killed the first run with %d of %d valid rows at the IdP", atKill, valid)
	if atKill >= valid {
		t.Fatalf("the first run had imported everyone (%d) before the kill: not a mid-run crash", atKill)
	}

	// A plain rerun refuses to start over on top of the interrupted one.
	res := sc.RunCutover(time.Minute, run.spec())
	if res.ExitCode != 2 || !strings.Contains(res.Stderr, "--resume") {
		t.Errorf("rerun without --resume: got exit code %d, want 2 and advice to use --resume\n%s", res.ExitCode, res)
	}

	run.Args = []string{"--resume"}
	rep, res := sc.RunBulk(5*time.Minute, run, 0)
	t.Logf("resumed run: %s in %s", rep, res.Took.Round(time.Millisecond))
	if rep.Rows != int64(rows) || rep.Invalid != int64(invalid) || rep.Failed != 0 || rep.Updated != 0 {
		t.Errorf("resumed report: got %s; want %d rows, %d invalid, none failed or updated", rep, rows, invalid)
	}
	if got := rep.Inserted + rep.Skipped; got != int64(valid) {
		t.Errorf("resumed report: inserted + skipped = %d, want %d valid rows", got, valid)
	}
	// Rows the killed run sent but never recorded come back as skipped ("already at the
	// target"): only the batches in flight at the kill, not everyone it had imported. A
	// run that lost or ignored its run directory would skip all of them.
	if rep.Skipped >= int64(atKill) {
		t.Errorf("resumed report: %d skipped, want fewer than the %d users the first run imported: the resumed run re-sent rows the first one had recorded", rep.Skipped, atKill)
	}
	// A skipped row's user is at the target: either it was there before ("exists"), or
	// the killed run's batch reached the target but its answer was lost, so nothing
	// proves this run created it ("uncertain": undo leaves and lists those).
	if got := rep.reasonCount("exists") + rep.reasonCount("uncertain"); got != rep.Skipped {
		t.Errorf("resumed report: %d of %d skipped rows say the user exists at the target or is uncertain, want all (reasons %v)", got, rep.Skipped, rep.Reasons)
	}
	if got := tg.count(t); got != valid {
		t.Errorf("users at the target: got %d, want %d (one per valid row)", got, valid)
	}
	return valid
}

// generatedPassword is the password of every generated user.
const generatedPassword = "same for all"

// loadGeneratedUsers creates a users table (id, email, full_name, password_hash) with n
// rows made by generate_series: user<id>@example.com, all with one low-cost bcrypt hash
// of generatedPassword (hashing per row would only slow the test), and every
// invalidEvery-th email without "@" so that some rows are invalid.
func loadGeneratedUsers(sc *scenario, db *database, n, invalidEvery int) {
	sc.t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(generatedPassword), bcrypt.MinCost)
	if err != nil {
		sc.t.Fatalf("bcrypt: %v", err)
	}
	db.Exec(sc, `CREATE TABLE users (
  id bigint PRIMARY KEY,
  email text NOT NULL,
  full_name text NOT NULL,
  password_hash text NOT NULL
)`)
	_, err = db.DB.ExecContext(sc.t.Context(), `INSERT INTO users
SELECT g,
       CASE WHEN g % $2 = 0 THEN 'user' || g || '.example.com' ELSE 'user' || g || '@example.com' END,
       'User ' || g,
       $1
FROM generate_series(1, $3) AS g`, string(hash), invalidEvery, n)
	if err != nil {
		sc.t.Fatalf("generate %d users: %v", n, err)
	}
}
