package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/lazy"
	"github.com/cutover/cutover/strategies/rehearse"
)

// writeLazyFixture writes users.csv (n users, password "pw-<i>"; user 3 is disabled),
// known.csv and a lazy plan into a new directory and returns the plan's path.
func writeLazyFixture(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	var users, known strings.Builder
	users.WriteString("id,email,name,active,password\n")
	known.WriteString("email,password\n")
	for i := 1; i <= n; i++ {
		h, err := bcrypt.GenerateFromPassword([]byte(fmt.Sprintf("pw-%d", i)), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		active := "true"
		if i == 3 {
			active = "false"
		}
		fmt.Fprintf(&users, "%d,user%d@example.com,User %d,%s,%s\n", i, i, i, active, h)
		if i <= 4 {
			fmt.Fprintf(&known, "user%d@example.com,pw-%d\n", i, i)
		}
	}
	plan := `version: 1
strategy: lazy
source: {kind: csv, path: users.csv}
mapping:
  legacy_id: id
  email: email
  name: name
  disabled: {column: active, transform: not}
  password_hash: password
target: {kind: mockidp, profile: authgear}
lazy:
  listen: 127.0.0.1:0
  secret: ${CUTOVER_TEST_BRIDGE_SECRET}
`
	for name, body := range map[string]string{"users.csv": users.String(), "known.csv": known.String(), "plan.yaml": plan} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "plan.yaml")
}

func TestLazyCommands(t *testing.T) {
	const secret = "cmd-test-secret"
	t.Setenv("CUTOVER_TEST_BRIDGE_SECRET", secret)
	plan := writeLazyFixture(t, 12)

	t.Run("run points to bridge, status and sweep", func(t *testing.T) {
		code, _, errOut := runCLI(t, "", "run", "--plan", plan)
		if code != exitUsage || !strings.Contains(errOut, "cutover bridge --plan") || !strings.Contains(errOut, "cutover sweep --plan") {
			t.Errorf("got exit %d, stderr %q; want 2 and the commands to use", code, errOut)
		}
	})
	t.Run("status before the bridge ran", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "status", "--plan", plan)
		if code != exitOK || !strings.Contains(out, "0 of 12 users migrated by the bridge (0.0%), 12 remaining") || !strings.Contains(errOut, "No verification recorded yet") {
			t.Errorf("got exit %d, stdout %q, stderr %q", code, out, errOut)
		}
	})

	// The bridge, served until the test stops it as a signal would.
	ctx, stop := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"bridge", "--plan", plan}, strings.NewReader(""), &stdout, &stderr) }()
	base := waitForBridge(t, &stderr, done)
	for _, i := range []int{1, 2} {
		form := url.Values{"email": {fmt.Sprintf("user%d@example.com", i)}, "password": {fmt.Sprintf("pw-%d", i)}}
		req, _ := http.NewRequest("POST", base+lazy.PathVerify, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct {
			Success bool `json:"success"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !body.Success {
			t.Fatalf("verify user%d: got HTTP %d success=%v, want 200 success", i, resp.StatusCode, body.Success)
		}
	}
	stop()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("bridge exit code after the signal: got %d, want 0 (stderr %s)", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the bridge did not stop within 10s of the signal")
	}
	if strings.Contains(stderr.String(), "pw-1") || strings.Contains(stderr.String(), secret) {
		t.Errorf("the bridge's log holds a password or the secret:\n%s", stderr.String())
	}

	t.Run("status counts the verified users", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "status", "--plan", plan, "--json")
		var st lazy.Status
		if code != exitOK || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("got exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if st.Total != 12 || st.Migrated != 2 || st.Remaining != 10 || len(st.PerDay) != 1 || st.PerDay[0].Users != 2 {
			t.Errorf("got %+v, want 12 total, 2 migrated today, 10 remaining", st)
		}
	})
	// The bridge was called directly, so the sweep's in-process mock IdP has never seen
	// users 1 and 2: trusting the tracking store would leave them out for good.
	t.Run("sweep imports everyone the IdP lacks, verified users included", func(t *testing.T) {
		code, out, errOut := runCLI(t, "", "sweep", "--plan", plan, "--json")
		var rep strategies.Report
		if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil {
			t.Fatalf("got exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if rep.Strategy != strategies.StrategyLazy || rep.Rows != 12 || rep.Inserted != 12 || rep.Rescued != 2 || rep.Skipped != 0 || !rep.Reconciles() {
			t.Errorf("got %+v, want 12 rows inserted, 2 of them rescued (verified by the bridge, missing at the IdP)", rep)
		}
		if !strings.Contains(strings.Join(rep.NextSteps, "\n"), "2 users the bridge had verified were missing at the IdP") {
			t.Errorf("next steps %q: want them to name the 2 rescued users", rep.NextSteps)
		}
	})
	t.Run("bridge refuses a bulk plan", func(t *testing.T) {
		bulkPlan := filepath.Join(t.TempDir(), "bulk.yaml")
		data, _ := os.ReadFile(plan)
		os.WriteFile(bulkPlan, []byte(strings.Replace(string(data), "strategy: lazy", "strategy: bulk", 1)), 0o600)
		os.WriteFile(filepath.Join(filepath.Dir(bulkPlan), "users.csv"), []byte("id,email\n"), 0o600)
		if code, _, errOut := runCLI(t, "", "bridge", "--plan", bulkPlan); code != exitUsage || !strings.Contains(errOut, "for lazy plans") {
			t.Errorf("got exit %d, stderr %q; want 2 saying bridge is for lazy plans", code, errOut)
		}
	})
}

var listeningRe = regexp.MustCompile(`"bridge listening" url=(http://[0-9.:]+)`)

// waitForBridge waits for the bridge's "listening" log line and returns its URL.
func waitForBridge(t *testing.T, stderr *syncBuffer, done chan int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if m := listeningRe.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("bridge exited with %d: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("the bridge did not say where it listens: %s", stderr.String())
	return ""
}

func TestRehearseLazy(t *testing.T) {
	plan := writeLazyFixture(t, 12)
	known := filepath.Join(filepath.Dir(plan), "known.csv")
	code, out, errOut := runCLI(t, "", "rehearse", "--plan", plan, "--passwords", known, "--json")
	var got struct {
		strategies.Report
		SignIns []rehearse.SignIn `json:"sign_ins"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout is not the JSON report: %v\n%s\nstderr %s", err, out, errOut)
	}
	// user3 is disabled: its sign-in fails, so the rehearsal is a partial success.
	if code != exitPartial {
		t.Errorf("exit code: got %d, want 3 (one known user is disabled)", code)
	}
	if len(got.SignIns) != 4 {
		t.Fatalf("got %d sign-ins, want 4", len(got.SignIns))
	}
	for _, s := range got.SignIns {
		wantOK := s.Email != "user3@example.com"
		if s.OK != wantOK {
			t.Errorf("sign-in %s: got ok=%v (%s), want %v", s.Email, s.OK, s.Reason, wantOK)
		}
	}
	if got.Rows != 12 || got.Skipped != 3 || got.Inserted != 9 || !got.Reconciles() {
		t.Errorf("sweep after the sign-ins: got %d rows, %d skipped, %d inserted; want 12, 3 (signed in), 9", got.Rows, got.Skipped, got.Inserted)
	}
}

// TestStatusCountsTheSweep: once a sweep has run, status counts the users it imported
// as at the IdP; it used to go on saying they remained for a sweep to import.
func TestStatusCountsTheSweep(t *testing.T) {
	plan := writeLazyFixture(t, 12)
	code, out, errOut := runCLI(t, "", "sweep", "--plan", plan, "--json")
	var rep strategies.Report
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || rep.Inserted != 12 {
		t.Fatalf("sweep: got exit %d, %q (stderr %q); want 12 inserted", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "status", "--plan", plan, "--json")
	var st lazy.Status
	if code != exitOK || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("status: got exit %d, %q (stderr %q)", code, out, errOut)
	}
	if st.Total != 12 || st.Remaining != 0 || st.Swept != 12 || st.Sweep == nil || st.Sweep.RunDir != rep.RunDir {
		t.Errorf("status after the sweep: got total %d, remaining %d, swept %d, sweep %+v; want 12, 0, 12 by the sweep in %s",
			st.Total, st.Remaining, st.Swept, st.Sweep, rep.RunDir)
	}
	_, out, _ = runCLI(t, "", "status", "--plan", plan)
	if !strings.Contains(out, "12 imported by the sweep") || strings.Contains(out, "imports the remaining users") {
		t.Errorf("status text after the sweep: got %q, want it to count the sweep and not ask for one", out)
	}
}

// TestBridgeWithoutSecretSaysWhatToAdd: a lazy plan without lazy.secret (as the wizard
// used to save one) is refused with the exact line to add, where, and what to export.
func TestBridgeWithoutSecretSaysWhatToAdd(t *testing.T) {
	plan := writeLazyFixture(t, 3)
	data, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(plan, []byte(strings.Replace(string(data), "  secret: ${CUTOVER_TEST_BRIDGE_SECRET}\n", "", 1)), 0o600)
	code, _, errOut := runCLI(t, "", "bridge", "--plan", plan)
	for _, want := range []string{"lazy.secret", "add `secret: ${BRIDGE_SECRET}` under `lazy:` in " + plan, "export BRIDGE_SECRET=$(openssl rand -hex 32)", "no_auth: true"} {
		if code != exitUsage || !strings.Contains(errOut, want) {
			t.Errorf("got exit %d, stderr %q; want 2 and %q", code, errOut, want)
		}
	}
}

// TestStatusCountsOnlySweeps: a bulk run of the same input beside the lazy plan (the
// wizard's demo walks share one) is not a sweep; once a sweep finds those users at the
// IdP, they count as swept.
func TestStatusCountsOnlySweeps(t *testing.T) {
	plan := writeLazyFixture(t, 12)
	data, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	bulkPlan := filepath.Join(filepath.Dir(plan), "bulk.yaml")
	os.WriteFile(bulkPlan, []byte(strings.Replace(string(data), "strategy: lazy", "strategy: bulk", 1)), 0o600)
	if code, out, errOut := runCLI(t, "", "run", "--plan", bulkPlan); code != exitOK {
		t.Fatalf("bulk run: got exit %d, %q (stderr %q)", code, out, errOut)
	}
	status := func() lazy.Status {
		t.Helper()
		code, out, errOut := runCLI(t, "", "status", "--plan", plan, "--json")
		var st lazy.Status
		if code != exitOK || json.Unmarshal([]byte(out), &st) != nil {
			t.Fatalf("status: got exit %d, %q (stderr %q)", code, out, errOut)
		}
		return st
	}
	if st := status(); st.Swept != 0 || st.Sweep != nil || st.Remaining != 12 {
		t.Errorf("status after a bulk run: got swept %d by %+v, remaining %d; want no sweep, 12 remaining", st.Swept, st.Sweep, st.Remaining)
	}
	if code, out, errOut := runCLI(t, "", "sweep", "--plan", plan); code != exitOK {
		t.Fatalf("sweep: got exit %d, %q (stderr %q)", code, out, errOut)
	}
	if st := status(); st.Swept != 12 || st.Remaining != 0 {
		t.Errorf("status after the sweep found everyone at the IdP: got swept %d, remaining %d; want 12, 0", st.Swept, st.Remaining)
	}
}
