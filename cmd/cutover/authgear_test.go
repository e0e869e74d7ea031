package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
	"github.com/cutover/cutover/strategies/rehearse"
)

// recordedFlow is strategies/idp/testdata/authflow.json: a real Authgear's answers to
// login flows, by scenario (start, identify, authenticate).
type recordedFlow struct {
	Scenarios map[string][]struct {
		Status int             `json:"status"`
		Answer json.RawMessage `json:"answer"`
	} `json:"scenarios"`
}

// replayAuthgear serves the recorded Authentication Flow answers: the scenario is
// chosen by the login id the flow identifies (scenarios maps login -> scenario), and
// followed by the state token it hands out, as Authgear follows its flows.
func replayAuthgear(t *testing.T, scenarios map[string]string) string {
	t.Helper()
	data, err := os.ReadFile("../../strategies/idp/testdata/authflow.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec recordedFlow
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	byToken := map[string]string{} // state token -> scenario
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			StateToken string `json:"state_token"`
			Input      struct {
				LoginID string `json:"login_id"`
			} `json:"input"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		defer mu.Unlock()
		scenario, step := "ok", 0
		switch {
		case r.URL.Path == "/api/v1/authentication_flows":
		case req.Input.LoginID != "":
			scenario, step = scenarios[req.Input.LoginID], 1
		default:
			scenario, step = byToken[req.StateToken], 2
		}
		ex := rec.Scenarios[scenario]
		if step >= len(ex) {
			http.Error(w, fmt.Sprintf("no recorded step %d of %q", step, scenario), http.StatusTeapot)
			return
		}
		var ans struct {
			Result struct {
				StateToken string `json:"state_token"`
			} `json:"result"`
		}
		if json.Unmarshal(ex[step].Answer, &ans) == nil && ans.Result.StateToken != "" {
			byToken[ans.Result.StateToken] = scenario
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ex[step].Status)
		_, _ = w.Write(ex[step].Answer)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// authgearPlan writes a bulk plan whose target is of kind authgear: its Admin API is
// the in-process mock IdP reached by URL (as Authgear), its sign-ins at signinURL.
// Users: ok, wrong (a wrong known password), disabled, nopw (a hash Authgear cannot
// take, imported without a password).
func authgearPlan(t *testing.T, signinURL string) string {
	t.Helper()
	keyDir := t.TempDir()
	info := mockidptest.Start(t, mockidp.Config{AdminKeyDir: keyDir, BcryptCost: bcrypt.MinCost}).Config()
	adminURL := withAuthenticators(t, info.Issuer)
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const django = "pbkdf2_sha256$1000$c2FsdA$bm90LWEtcmVhbC1oYXNoLWJ1dC13ZWxsLWZvcm1lZA=="
	users := fmt.Sprintf("id,email,password,disabled\n1,ok@example.com,%[1]s,false\n2,wrong@example.com,%[1]s,false\n3,disabled@example.com,%[1]s,true\n4,nopw@example.com,%[2]s,false\n", h, django)
	known := "email,password\nok@example.com,s3cret\nwrong@example.com,not-it\ndisabled@example.com,s3cret\nnopw@example.com,s3cret\n"
	plan := fmt.Sprintf(`version: 1
strategy: bulk
source: {kind: csv, path: users.csv}
mapping: {legacy_id: id, email: email, password_hash: password, disabled: {column: disabled, transform: bool}}
target: {kind: authgear, url: %q, signin_url: %q, project: %s, key_id: %s, key_file: %q}
bulk: {unsupported_hash: without_password}
`, adminURL, signinURL, info.Project, info.KeyID, filepath.Join(keyDir, mockidp.AdminKeyPEMFile))
	for name, body := range map[string]string{"users.csv": users, "known-passwords.csv": known, "plan.yaml": plan} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, "plan.yaml")
}

// withAuthenticators stands in front of the mock IdP's Admin API and answers the
// getUserByLoginID query for a user's authenticators, which the mock does not serve
// (Authgear does: see idp.Client.HasPrimaryPassword); all else goes to the mock.
func withAuthenticators(t *testing.T, mock string) string {
	t.Helper()
	u, err := url.Parse(mock)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var q struct {
			Query     string            `json:"query"`
			Variables map[string]string `json:"variables"`
		}
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.URL.Path != "/_api/admin/graphql" || json.Unmarshal(body, &q) != nil || !strings.Contains(q.Query, "authenticators") {
			proxy.ServeHTTP(w, r)
			return
		}
		var user any // unknown: null
		switch v := q.Variables["value"]; {
		case v == "nopw@example.com":
			user = map[string]any{"id": "u-nopw", "authenticators": map[string]any{"edges": []any{}}}
		case authgearScenarios[v] != "" && authgearScenarios[v] != "unknown-user":
			user = map[string]any{"id": "u-" + v, "authenticators": map[string]any{"edges": []any{
				map[string]any{"node": map[string]any{"type": "PASSWORD", "kind": "PRIMARY"}}}}}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"data": map[string]any{"getUserByLoginID": user}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

var authgearScenarios = map[string]string{"ok@example.com": "ok", "wrong@example.com": "wrong-password",
	"disabled@example.com": "disabled", "nopw@example.com": "no-password", "nobody@example.com": "unknown-user"}

// TestRehearseAtAuthgear: a bulk plan with an authgear target imports at the target and
// signs the known users in through the Authentication Flow API at target.signin_url
// (replaying a real Authgear's answers), each refusal with Authgear's reason; the
// records stay in the plan's run directory for undo.
func TestRehearseAtAuthgear(t *testing.T) {
	plan := authgearPlan(t, replayAuthgear(t, authgearScenarios))
	code, out, errOut := runCLI(t, "", "rehearse", "--plan", plan, "--json")
	if code != exitPartial {
		t.Fatalf("exit code: got %d, want %d (stdout %q, stderr %q)", code, exitPartial, out, errOut)
	}
	var got struct {
		Inserted        int64
		WithoutPassword int64             `json:"without_password"`
		RunDir          string            `json:"run_dir"`
		SignIns         []rehearse.SignIn `json:"sign_ins"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout: %v: %q", err, out)
	}
	if got.Inserted != 4 || got.WithoutPassword != 1 || !strings.HasPrefix(got.RunDir, filepath.Dir(plan)) {
		t.Errorf("got %d inserted, %d without password, run dir %q; want 4, 1, under the plan's directory", got.Inserted, got.WithoutPassword, got.RunDir)
	}
	want := map[string]string{"ok@example.com": "", "wrong@example.com": "sign-in refused: invalid_credentials: InvalidCredentials",
		"disabled@example.com": "sign-in refused: disabled: DisabledUser", "nopw@example.com": "sign-in refused: no_password"}
	if len(got.SignIns) != len(want) {
		t.Fatalf("got %d sign-ins, want %d: %+v", len(got.SignIns), len(want), got.SignIns)
	}
	for _, s := range got.SignIns {
		if s.OK != (want[s.Email] == "") || !strings.HasPrefix(s.Reason, want[s.Email]) {
			t.Errorf("%s: got ok=%v reason %q, want reason starting %q", s.Email, s.OK, s.Reason, want[s.Email])
		}
	}
	// --mock rehearses the same plan at the mock IdP, as before: nothing in the plan's
	// run directory, and the wrong password refused by the mock.
	if code, out, errOut = runCLI(t, "", "rehearse", "--plan", plan, "--mock", "--json"); code != exitPartial || strings.Contains(out, `"run_dir": "/`) {
		t.Errorf("--mock: got exit %d, %q (stderr %q)", code, out, errOut)
	}
}

// TestLoginAuthgear signs in through the Authentication Flow API with --plan (the
// Admin API names the user and tells no_password) and --authgear.
func TestLoginAuthgear(t *testing.T) {
	signinURL := replayAuthgear(t, authgearScenarios)
	plan := authgearPlan(t, signinURL)
	if code, out, errOut := runCLI(t, "", "run", "--plan", plan); code != exitOK {
		t.Fatalf("run: exit %d, %q, %q", code, out, errOut)
	}
	tests := []struct {
		args     []string
		password string
		code     int
		want     string // in stdout when 0, else in stderr
	}{
		{[]string{"--plan", plan, "--email", "ok@example.com"}, "s3cret", exitOK, `"subject": "`},
		{[]string{"--plan", plan, "--email", "wrong@example.com"}, "not-it", exitFailure, "refused: invalid_credentials"},
		{[]string{"--plan", plan, "--email", "disabled@example.com"}, "s3cret", exitFailure, "refused: disabled: DisabledUser"},
		{[]string{"--plan", plan, "--email", "nopw@example.com"}, "s3cret", exitFailure, "refused: no_password"},
		{[]string{"--authgear", signinURL, "--email", "nobody@example.com"}, "s3cret", exitFailure, "refused: unknown_user"},
		// Without the Admin API the flow alone cannot tell no password from a wrong one.
		{[]string{"--authgear", signinURL, "--email", "nopw@example.com"}, "s3cret", exitFailure, "refused: invalid_credentials"},
		{[]string{"--authgear", signinURL, "--plan", plan, "--email", "ok@example.com"}, "s3cret", exitUsage, "exactly one of"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errOut := runCLI(t, tt.password+"\n", append([]string{"login"}, tt.args...)...)
			where := errOut
			if tt.code == exitOK {
				where = out
			}
			if code != tt.code || !strings.Contains(where, tt.want) || strings.Contains(out+errOut, tt.password) {
				t.Errorf("got exit %d, stdout %q, stderr %q; want %d and %q", code, out, errOut, tt.code, tt.want)
			}
		})
	}
}
