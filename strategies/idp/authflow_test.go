package idp

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// flowExchange is one request of a sign-in and the answer a real Authgear gave.
type flowExchange struct {
	Path    string          `json:"path"`
	Request json.RawMessage `json:"request"` // the password replaced by "<password>"
	Status  int             `json:"status"`
	Answer  json.RawMessage `json:"answer"`
}

// flowRecording is testdata/authflow.json: sign-ins at a real Authgear, by scenario.
type flowRecording struct {
	Authgear  string                    `json:"authgear"`
	Scenarios map[string][]flowExchange `json:"scenarios"`
}

const authFlowFile = "testdata/authflow.json"

// recordingTransport keeps every Authentication Flow exchange it carries.
type recordingTransport struct {
	mu        sync.Mutex
	exchanges []flowExchange
	password  string
}

func (rt *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(req.Body)
	req.Body = io.NopCloser(bytes.NewReader(body))
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	if rt.password != "" {
		body = bytes.ReplaceAll(body, []byte(rt.password), []byte("<password>"))
	}
	rt.mu.Lock()
	rt.exchanges = append(rt.exchanges, flowExchange{Path: req.URL.Path, Request: compactJSON(body), Status: resp.StatusCode, Answer: compactJSON(answer)})
	rt.mu.Unlock()
	return resp, nil
}

func compactJSON(b []byte) json.RawMessage {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		s, _ := json.Marshal(string(b))
		return s
	}
	return buf.Bytes()
}

// flowScenario is one recorded sign-in: who, with what, and what SignIn must say.
type flowScenario struct {
	name, login, password string
	ok                    bool
	reason                string // the start of SignInResult.Reason
}

// TestRecordAuthFlow signs users in at a real Authgear and writes the exchanges to
// testdata/authflow.json. It runs only with AUTHGEAR_PUBLIC_URL set:
//
//	AUTHGEAR_PUBLIC_URL=http://127.0.0.1:3100 AUTHGEAR_ADMIN_URL=http://127.0.0.1:3102 \
//	AUTHGEAR_PROJECT=myapp AUTHGEAR_KEY_FILE=admin-key.pem AUTHGEAR_KEY_ID=<kid> \
//	AUTHGEAR_COMMIT=<authgear-server commit> go test ./strategies/idp -run TestRecordAuthFlow -count=1 -v
//
// It imports its own users first (a fresh nonce in their emails each time).
func TestRecordAuthFlow(t *testing.T) {
	public := os.Getenv("AUTHGEAR_PUBLIC_URL")
	if public == "" {
		t.Skip("set AUTHGEAR_PUBLIC_URL (and AUTHGEAR_ADMIN_URL, AUTHGEAR_PROJECT, AUTHGEAR_KEY_FILE, AUTHGEAR_KEY_ID, AUTHGEAR_COMMIT) to record")
	}
	key, err := LoadKey(os.Getenv("AUTHGEAR_KEY_FILE"))
	if err != nil {
		t.Fatal(err)
	}
	admin, err := New(Config{BaseURL: os.Getenv("AUTHGEAR_ADMIN_URL"), Project: os.Getenv("AUTHGEAR_PROJECT"), KeyID: os.Getenv("AUTHGEAR_KEY_ID"), Key: key, PollInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 4)
	_, _ = rand.Read(nonce)
	n := hex.EncodeToString(nonce)
	const pass = "recorded-pass-1"
	hash, _ := bcrypt.GenerateFromPassword([]byte(pass), 4)
	mail := func(who string) string { return who + "-" + n + "@example.com" }
	body, _ := json.Marshal(map[string]any{"identifier": "email", "records": []map[string]any{
		{"email": mail("ok"), "password": map[string]string{"type": "bcrypt", "password_hash": string(hash)}},
		{"email": mail("disabled"), "disabled": true, "password": map[string]string{"type": "bcrypt", "password_hash": string(hash)}},
		{"email": mail("nopassword")},
	}})
	ctx := context.Background()
	job, err := admin.Import(ctx, body)
	if err != nil {
		t.Fatal(err)
	}
	if job.Summary == nil || job.Summary.Inserted != 3 {
		t.Fatalf("import: got %+v, want 3 inserted", job.Summary)
	}
	rec := flowRecording{Authgear: os.Getenv("AUTHGEAR_COMMIT"), Scenarios: map[string][]flowExchange{}}
	for _, s := range []struct{ name, login, password string }{
		{"ok", mail("ok"), pass},
		{"ok-mixed-case", strings.ToUpper(mail("ok")[:1]) + mail("ok")[1:], pass},
		{"wrong-password", mail("ok"), "not-the-password"},
		{"disabled", mail("disabled"), pass},
		{"disabled-wrong-password", mail("disabled"), "not-the-password"},
		{"no-password", mail("nopassword"), pass},
		{"unknown-user", mail("nobody"), pass},
	} {
		rt := &recordingTransport{password: s.password}
		af, err := NewAuthFlow(AuthFlowConfig{BaseURL: public, HTTP: &http.Client{Transport: rt, Timeout: 30 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		res, err := af.SignIn(ctx, s.login, s.password)
		t.Logf("%s: %+v, err %v", s.name, res, err)
		for i := range rt.exchanges {
			rt.exchanges[i].Request = json.RawMessage(strings.ReplaceAll(string(rt.exchanges[i].Request), n, "NONCE"))
			rt.exchanges[i].Answer = json.RawMessage(strings.ReplaceAll(string(rt.exchanges[i].Answer), n, "NONCE"))
		}
		rec.Scenarios[s.name] = rt.exchanges
	}
	data, _ := json.MarshalIndent(rec, "", "  ")
	if err := os.WriteFile(authFlowFile, append(data, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

var stateTokenRe = regexp.MustCompile(`"state_token":"[^"]*"`)

// replayFlow serves one recorded scenario's answers in order and checks the client
// sends the recorded requests (state tokens aside).
func replayFlow(t *testing.T, exchanges []flowExchange, password string) *httptest.Server {
	t.Helper()
	var mu sync.Mutex
	next := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(exchanges) {
			t.Errorf("request %d to %s: the recording has only %d", next+1, r.URL.Path, len(exchanges))
			http.Error(w, "no more recorded answers", http.StatusTeapot)
			return
		}
		ex := exchanges[next]
		next++
		body, _ := io.ReadAll(r.Body)
		body = bytes.ReplaceAll(body, []byte(password), []byte("<password>"))
		got := stateTokenRe.ReplaceAllString(string(compactJSON(body)), `"state_token":""`)
		want := stateTokenRe.ReplaceAllString(string(compactJSON(ex.Request)), `"state_token":""`)
		if r.URL.Path != ex.Path || !sameJSON(got, want) {
			t.Errorf("request %d: got %s %s, want %s %s", next, r.URL.Path, got, ex.Path, want)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(ex.Status)
		_, _ = w.Write(ex.Answer)
	}))
	t.Cleanup(func() {
		srv.Close()
		mu.Lock()
		defer mu.Unlock()
		if next != len(exchanges) {
			t.Errorf("the client sent %d requests, the recording has %d", next, len(exchanges))
		}
	})
	return srv
}

func sameJSON(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return a == b
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return string(xa) == string(ya)
}

// TestAuthFlowReplaysRealAnswers runs SignIn against a real Authgear's recorded
// answers: success, wrong password, disabled, imported without a password, unknown.
func TestAuthFlowReplaysRealAnswers(t *testing.T) {
	data, err := os.ReadFile(authFlowFile)
	if err != nil {
		t.Fatal(err)
	}
	var rec flowRecording
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	const pass = "recorded-pass-1"
	tests := []flowScenario{
		{name: "ok", login: "ok-NONCE@example.com", password: pass, ok: true},
		{name: "ok-mixed-case", login: "Ok-NONCE@example.com", password: pass, ok: true},
		{name: "wrong-password", login: "ok-NONCE@example.com", password: "not-the-password", reason: ReasonInvalidCredentials + ": InvalidCredentials"},
		{name: "disabled", login: "disabled-NONCE@example.com", password: pass, reason: ReasonDisabled + ": DisabledUser"},
		{name: "disabled-wrong-password", login: "disabled-NONCE@example.com", password: "not-the-password", reason: ReasonInvalidCredentials},
		// Authgear offers the password to a user imported without one, then answers as
		// for a wrong password: the flow alone cannot tell the two apart.
		{name: "no-password", login: "nopassword-NONCE@example.com", password: pass, reason: ReasonInvalidCredentials + ": InvalidCredentials"},
		{name: "unknown-user", login: "nobody-NONCE@example.com", password: pass, reason: ReasonUnknownUser},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ex, ok := rec.Scenarios[tt.name]
			if !ok {
				t.Fatalf("%s has no scenario %q", authFlowFile, tt.name)
			}
			srv := replayFlow(t, ex, tt.password)
			af, err := NewAuthFlow(AuthFlowConfig{BaseURL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			res, err := af.SignIn(context.Background(), tt.login, tt.password)
			if err != nil {
				t.Fatalf("SignIn: %v", err)
			}
			if res.OK != tt.ok || !strings.HasPrefix(res.Reason, tt.reason) {
				t.Errorf("got %+v, want ok %v and a reason starting %q", res, tt.ok, tt.reason)
			}
			if strings.Contains(fmt.Sprint(res), tt.password) {
				t.Errorf("the result %+v holds the password", res)
			}
		})
	}
}

// TestSignInKnownPasswords signs every user of a known-passwords file (email,password
// per line, a header first) in at a real Authgear and logs the counts by outcome. It
// is a hand-run check, skipped unless AUTHGEAR_KNOWN_PASSWORDS and AUTHGEAR_PUBLIC_URL
// are set; each refusal is logged with Authgear's reason.
func TestSignInKnownPasswords(t *testing.T) {
	path, public := os.Getenv("AUTHGEAR_KNOWN_PASSWORDS"), os.Getenv("AUTHGEAR_PUBLIC_URL")
	if path == "" || public == "" {
		t.Skip("set AUTHGEAR_KNOWN_PASSWORDS and AUTHGEAR_PUBLIC_URL to sign users in at a real Authgear")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	af, err := NewAuthFlow(AuthFlowConfig{BaseURL: public})
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]int{}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")[1:]
	for _, line := range lines {
		login, password, _ := strings.Cut(strings.TrimSpace(line), ",")
		res, err := af.SignIn(context.Background(), login, password)
		switch {
		case err != nil:
			counts["error"]++
			t.Logf("%s: error: %v", login, err)
		case res.OK:
			counts["ok"]++
		default:
			k, _, _ := strings.Cut(res.Reason, ":")
			counts[k]++
			t.Logf("%s: refused: %s", login, res.Reason)
		}
	}
	t.Logf("%d users: %v", len(lines), counts)
}

// lookupFunc is a Looker made of a function.
type lookupFunc func(ctx context.Context, identifier, value string) (*TargetUser, error)

func (f lookupFunc) LookupUser(ctx context.Context, identifier, value string) (*TargetUser, error) {
	return f(ctx, identifier, value)
}

// TestAuthFlowSubjectFromLookup checks a successful sign-in names the user through
// Lookup (the flow's answers do not), asking by the login's kind.
func TestAuthFlowSubjectFromLookup(t *testing.T) {
	data, err := os.ReadFile(authFlowFile)
	if err != nil {
		t.Fatal(err)
	}
	var rec flowRecording
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	srv := replayFlow(t, rec.Scenarios["ok"], "recorded-pass-1")
	var asked string
	af, err := NewAuthFlow(AuthFlowConfig{BaseURL: srv.URL, Lookup: lookupFunc(func(_ context.Context, identifier, value string) (*TargetUser, error) {
		asked = identifier + "=" + value
		return &TargetUser{ID: "user-1"}, nil
	})})
	if err != nil {
		t.Fatal(err)
	}
	res, err := af.SignIn(context.Background(), "ok-NONCE@example.com", "recorded-pass-1")
	if err != nil || !res.OK || res.Subject != "user-1" {
		t.Fatalf("got %+v, %v; want ok with subject user-1", res, err)
	}
	if asked != "email=ok-NONCE@example.com" {
		t.Errorf("lookup: got %q, want email=ok-NONCE@example.com", asked)
	}
}
