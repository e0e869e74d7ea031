package idp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/cutover/cutover/strategies"
)

// testKey is generated once per test binary; RSA generation is slow under -race.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fakeImportAPI speaks the Authgear import contract closely enough to test the client:
// it checks the token, answers POST with a pending job and GET with the completed one.
// respond, when set, may answer a request itself (to inject faults).
type fakeImportAPI struct {
	t        *testing.T
	bare     bool // answer bare objects instead of {"result": ...}
	respond  func(w http.ResponseWriter, r *http.Request, n int) bool
	requests atomic.Int64
	mu       sync.Mutex
	jobs     map[string]*Job
	bodies   [][]byte
}

func (f *fakeImportAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := int(f.requests.Add(1))
	if f.respond != nil && f.respond(w, r, n) {
		return
	}
	if err := checkToken(r.Header.Get("Authorization"), &testKey().PublicKey, "proj"); err != nil {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	write := func(v any) {
		w.Header().Set("Content-Type", "application/json")
		if f.bare {
			json.NewEncoder(w).Encode(v)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"result": v})
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == PathImport:
		body, _ := io.ReadAll(r.Body)
		if len(body) > BodyMaxSize {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"name": "RequestEntityTooLarge", "reason": "JSONTooLarge", "code": 413}})
			return
		}
		var req struct {
			Upsert     bool              `json:"upsert"`
			Identifier string            `json:"identifier"`
			Records    []json.RawMessage `json:"records"`
		}
		if err := json.Unmarshal(body, &req); err != nil || len(req.Records) == 0 {
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"name": "Invalid", "reason": "ValidationFailed", "message": "bad body", "code": 400}})
			return
		}
		f.mu.Lock()
		id := fmt.Sprintf("userimport_%d", len(f.jobs)+1)
		j := &Job{ID: id, Status: StatusCompleted, Summary: &Summary{Total: len(req.Records)}}
		for i := range req.Records {
			j.Details = append(j.Details, Detail{Index: i, Outcome: "inserted", UserID: fmt.Sprintf("u-%s-%d", id, i)})
			j.Summary.Inserted++
		}
		f.jobs[id] = j
		f.bodies = append(f.bodies, body)
		f.mu.Unlock()
		write(map[string]any{"id": id, "status": "pending"})
	case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, PathImport+"/"):
		f.mu.Lock()
		j := f.jobs[strings.TrimPrefix(r.URL.Path, PathImport+"/")]
		f.mu.Unlock()
		if j == nil {
			w.WriteHeader(http.StatusNotFound)
			json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"name": "NotFound", "reason": "JobNotFound", "code": 404}})
			return
		}
		write(j)
	default:
		http.NotFound(w, r)
	}
}

func checkToken(h string, pub *rsa.PublicKey, project string) error {
	raw, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return fmt.Errorf("no bearer token")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return err
	}
	if len(tok.Headers) != 1 || tok.Headers[0].KeyID != "kid-1" {
		return fmt.Errorf("kid: got %v, want kid-1", tok.Headers)
	}
	var c jwt.Claims
	if err := tok.Claims(pub, &c); err != nil {
		return err
	}
	if err := c.ValidateWithLeeway(jwt.Expected{AnyAudience: jwt.Audience{project}, Time: time.Now()}, 0); err != nil {
		return err
	}
	if c.IssuedAt == nil || c.Expiry == nil || c.Expiry.Time().Sub(c.IssuedAt.Time()) != 5*time.Minute {
		return fmt.Errorf("iat/exp: got %v/%v, want 5 minutes apart", c.IssuedAt, c.Expiry)
	}
	return nil
}

func newTestClient(t *testing.T, h http.Handler, project string) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(Config{BaseURL: srv.URL, Project: project, KeyID: "kid-1", Key: testKey(),
		Retry: Retry{Attempts: 5, Base: time.Millisecond, Cap: 20 * time.Millisecond}, PollInterval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func body(t *testing.T, n int) []byte {
	t.Helper()
	b := NewBatch(BodyMaxSize)
	b.Reset(false, "email")
	for i := range n {
		rec, err := AppendRecord(nil, &strategies.User{Email: fmt.Sprintf("u%d@example.com", i)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		b.Add(rec)
	}
	return b.Body()
}

func TestImportEnvelopes(t *testing.T) {
	for _, tt := range []struct {
		name string
		bare bool
	}{{"result envelope", false}, {"bare object", true}} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeImportAPI{t: t, bare: tt.bare, jobs: map[string]*Job{}}
			c := newTestClient(t, f, "proj")
			j, err := c.Import(context.Background(), body(t, 3))
			if err != nil {
				t.Fatalf("Import: %v", err)
			}
			if j.Status != StatusCompleted || len(j.Details) != 3 || j.Summary.Inserted != 3 {
				t.Errorf("job: got status %q, %d details, summary %+v; want completed with 3 inserted", j.Status, len(j.Details), j.Summary)
			}
			if j.Details[2].UserID == "" {
				t.Errorf("details[2].user_id: got empty, want an id")
			}
		})
	}
}

func TestBadTokenIsPermanent(t *testing.T) {
	f := &fakeImportAPI{t: t, jobs: map[string]*Job{}}
	c := newTestClient(t, f, "other-project") // the fake expects aud=proj
	_, err := c.Import(context.Background(), body(t, 1))
	if err == nil || !strings.Contains(err.Error(), "HTTP 403") || !strings.Contains(err.Error(), "target.key_id") {
		t.Fatalf("error: got %v, want an HTTP 403 that says to check the key settings", err)
	}
	if got := f.requests.Load(); got != 1 {
		t.Errorf("requests: got %d, want 1 (403 is not retried)", got)
	}
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name        string
		fault       func(w http.ResponseWriter, r *http.Request) // applied to the first two requests
		wantErr     string
		wantRetries int64
		wantTooBig  bool
	}{
		{name: "429 with Retry-After", wantRetries: 2, fault: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"name":"TooManyRequest","reason":"RateLimited","code":429}}`)
		}},
		{name: "503", wantRetries: 2, fault: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}},
		{name: "dropped connection", wantRetries: 2, fault: func(w http.ResponseWriter, r *http.Request) {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
		}},
		{name: "400 is permanent", wantRetries: 0, wantErr: "HTTP 400 Invalid (ValidationFailed): email: not an email", fault: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, `{"error":{"name":"Invalid","reason":"ValidationFailed","message":"email: not an email","code":400}}`)
		}},
		{name: "429 usage limit is permanent", wantRetries: 0, wantErr: "user_import usage limit", fault: func(w http.ResponseWriter, r *http.Request) {
			// Authgear's answer when the project's user_import quota is used up: waiting
			// seconds does not help, so it is not retried.
			w.WriteHeader(http.StatusTooManyRequests)
			io.WriteString(w, `{"error":{"name":"TooManyRequest","reason":"UsageLimitExceeded","message":"usage limit exceeded","code":429,"info":{"name":"UserImport","usage_name":"user_import","period":"day"}}}`)
		}},
		{name: "413 is reported as too large", wantRetries: 0, wantTooBig: true, wantErr: "lower bulk.batch_bytes", fault: func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			io.WriteString(w, `{"error":{"name":"RequestEntityTooLarge","reason":"JSONTooLarge","code":413}}`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeImportAPI{t: t, jobs: map[string]*Job{}, respond: func(w http.ResponseWriter, r *http.Request, n int) bool {
				if n <= 2 {
					tt.fault(w, r)
					return true
				}
				return false
			}}
			c := newTestClient(t, f, "proj")
			j, err := c.Import(context.Background(), body(t, 2))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error: got %v, want it to contain %q", err, tt.wantErr)
				}
				if IsTooLarge(err) != tt.wantTooBig {
					t.Errorf("IsTooLarge: got %v, want %v", IsTooLarge(err), tt.wantTooBig)
				}
			} else if err != nil || len(j.Details) != 2 {
				t.Fatalf("Import: got %v, %v; want a job with 2 details", j, err)
			}
			if got := c.Retries(); got != tt.wantRetries {
				t.Errorf("retries: got %d, want %d", got, tt.wantRetries)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	r := Retry{Attempts: 5, Base: 100 * time.Millisecond, Cap: time.Second}
	for attempt := 1; attempt <= 8; attempt++ {
		bound := min(r.Base<<(attempt-1), r.Cap)
		for range 50 {
			if d := r.Backoff(attempt, 0); d < 0 || d > bound {
				t.Fatalf("attempt %d: got %v, want within [0, %v]", attempt, d, bound)
			}
		}
	}
	if d := r.Backoff(1, 3*time.Second); d < 3*time.Second || d > 3*time.Second+r.Base {
		t.Errorf("Retry-After 3s: got %v, want 3s plus at most %v jitter", d, r.Base)
	}
	now := time.Now()
	if d := ParseRetryAfter(now.Add(10*time.Second).UTC().Format(http.TimeFormat), now); d < 9*time.Second || d > 10*time.Second {
		t.Errorf("Retry-After as a date: got %v, want about 10s", d)
	}
}

func TestTokenIsReusedThenRenewed(t *testing.T) {
	s := &tokenSource{project: "p", kid: "k", key: testKey()}
	t0 := time.Now()
	a, _ := s.token(t0)
	b, _ := s.token(t0.Add(time.Minute))
	c, _ := s.token(t0.Add(4*time.Minute + time.Second))
	if a != b {
		t.Errorf("token after 1 minute: got a new one, want the cached one")
	}
	if c == a {
		t.Errorf("token with under a minute left: got the old one, want a fresh one")
	}
}

func TestLoadKey(t *testing.T) {
	k := testKey()
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(k)
	dir := t.TempDir()
	for _, tt := range []struct {
		name, typ string
		der       []byte
		wantErr   string
	}{
		{"pkcs1", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(k), ""},
		{"pkcs8", "PRIVATE KEY", pkcs8, ""},
		{"not a key", "CERTIFICATE", []byte("x"), "no RSA private key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name+".pem")
			os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: tt.typ, Bytes: tt.der}), 0o600)
			got, err := LoadKey(p)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error: got %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !got.Equal(k) {
				t.Fatalf("LoadKey: got %v, want the key back", err)
			}
		})
	}
}
