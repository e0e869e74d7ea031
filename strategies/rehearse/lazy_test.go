package rehearse_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/rehearse"
)

// TestLazyRehearsalShowsEachSignIn: a lazy rehearsal reports the bridge going up, then
// every sign-in as it arrives (not 0 of N, then a jump), then the sweep as a phase of
// its own with a sentence saying what it does (issue 17, item 2).
func TestLazyRehearsalShowsEachSignIn(t *testing.T) {
	dir := t.TempDir()
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	var users, known strings.Builder
	users.WriteString("id,email,password\n")
	known.WriteString("email,password\n")
	for _, u := range []string{"a", "b", "c", "d", "e"} {
		users.WriteString(u + "," + u + "@example.com," + string(h) + "\n")
		if u != "e" {
			known.WriteString(u + "@example.com,pw\n")
		}
	}
	for name, data := range map[string]string{"users.csv": users.String(), "known.csv": known.String()} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := csvPlan(t, dir, "lazy")
	tgt := mockTarget(t)
	var mu sync.Mutex
	var events []strategies.Progress
	res, err := rehearse.Run(context.Background(), rehearse.Config{Plan: p, Known: filepath.Join(dir, "known.csv"),
		Progress: func(pr strategies.Progress) { mu.Lock(); events = append(events, pr); mu.Unlock() },
		Open: func(_ context.Context, hook *rehearse.Hook) (*rehearse.Target, error) {
			return &rehearse.Target{Bulk: tgt,
				SignIn: hookSignIn(t, hook), Name: "a test target"}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.SignedIn() != 4 || res.Rows != 5 || !res.Reconciles() {
		t.Fatalf("got %d signed in, %d rows; want 4 and 5, reconciled", res.SignedIn(), res.Rows)
	}
	var phases []string
	var signInDone []int64
	for _, e := range events {
		if len(phases) == 0 || phases[len(phases)-1] != e.Phase {
			phases = append(phases, e.Phase)
		}
		if e.Phase == rehearse.PhaseSignIns {
			signInDone = append(signInDone, e.Done)
			if e.Unit != "sign-ins" || e.Note == "" {
				t.Errorf("sign-in progress: got unit %q, note %q; want sign-ins and a note", e.Unit, e.Note)
			}
		}
	}
	if len(phases) < 3 || phases[0] != rehearse.PhaseBridge || phases[1] != rehearse.PhaseSignIns || !strings.HasPrefix(phases[2], rehearse.PhaseSweep) {
		t.Errorf("phases: got %q, want the bridge, the sign-ins, then the sweep", phases)
	}
	if want := []int64{1, 2, 3, 4}; !slicesEqual(signInDone, want) {
		t.Errorf("sign-ins reported: got %v, want one report per sign-in %v", signInDone, want)
	}
}

func slicesEqual(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// hookSignIn is a target's password sign-in that asks the lazy hook about users it
// does not know yet and keeps those the hook vouches for.
func hookSignIn(t *testing.T, hook *rehearse.Hook) strategies.SignIner {
	var mu sync.Mutex
	known := map[string]bool{}
	return signInFunc(func(login, password string) strategies.SignInResult {
		mu.Lock()
		ok := known[login]
		mu.Unlock()
		if ok {
			return strategies.SignInResult{OK: true, Subject: login}
		}
		req, _ := http.NewRequest(http.MethodPost, hook.URL, strings.NewReader(url.Values{"email": {login}, "password": {password}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+hook.Secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("hook: %v", err)
			return strategies.SignInResult{Reason: err.Error()}
		}
		defer resp.Body.Close()
		var body struct {
			Success bool `json:"success"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		if !body.Success {
			return strategies.SignInResult{Reason: "invalid_credentials"}
		}
		mu.Lock()
		known[login] = true
		mu.Unlock()
		return strategies.SignInResult{OK: true, Subject: login}
	})
}

// TestLazyReportSaysNothingForAnotherStrategy: the report the wizard shows for a lazy
// rehearsal does not advise the lazy strategy, nor to stop a bridge that is not running.
func TestLazyReportSaysNothingForAnotherStrategy(t *testing.T) {
	r := &rehearse.Result{Report: &strategies.Report{Strategy: strategies.StrategyLazy, Rows: 3, Inserted: 3, NextSteps: []string{
		"2 users were imported without a password (see x.csv): they must reset it; where their hash format was the cause, the lazy strategy would keep their passwords",
		"every legacy user is now at the IdP: turn the IdP's migration hook off, then stop 'cutover bridge'",
	}}}
	steps := strings.Join(r.LazyReport().NextSteps, "\n")
	for _, bad := range []string{"the lazy strategy would", "stop 'cutover bridge'"} {
		if strings.Contains(steps, bad) {
			t.Errorf("next steps say %q:\n%s", bad, steps)
		}
	}
}
