package mockidp

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// testKeys generates the RSA keys once per test binary: key generation is slow under -race.
var testKeys = sync.OnceValues(func() (*rsa.PrivateKey, *rsa.PrivateKey) {
	a, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	s, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return a, s
})

// startServer starts a mock IdP on a loopback port and closes it when the test ends.
func startServer(t testing.TB, cfg Config) *Server {
	t.Helper()
	if cfg.AdminKey == nil {
		cfg.AdminKey, cfg.SigningKey = testKeys()
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.MinCost
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if err := s.Start(ln); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func adminToken(t testing.TB, s *Server) string {
	t.Helper()
	tok, err := s.Config().AdminToken(time.Now(), 5*time.Minute)
	if err != nil {
		t.Fatalf("AdminToken: %v", err)
	}
	return tok
}

// adminDo sends an admin API request with a valid token and returns status and body.
func adminDo(t testing.TB, s *Server, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.Config().Issuer+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminToken(t, s))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, data
}

// envelope is the admin API's response wrapper.
type envelope[T any] struct {
	Result *T        `json:"result"`
	Error  *APIError `json:"error"`
}

func decodeEnvelope[T any](t testing.TB, data []byte) envelope[T] {
	t.Helper()
	var e envelope[T]
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return e
}

// importAndWait starts an import job and polls it until it completes.
func importAndWait(t testing.TB, s *Server, body any) ImportJob {
	t.Helper()
	j, err := tryImport(s, body)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

// tryImport is importAndWait for goroutines other than the test's: it returns errors.
func tryImport(s *Server, body any) (ImportJob, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return ImportJob{}, err
	}
	tok, err := s.Config().AdminToken(time.Now(), 5*time.Minute)
	if err != nil {
		return ImportJob{}, err
	}
	do := func(method, path string, body []byte) (int, []byte, error) {
		req, err := http.NewRequest(method, s.Config().Issuer+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	code, out, err := do(http.MethodPost, PathImport, data)
	if err != nil || code != http.StatusOK {
		return ImportJob{}, fmt.Errorf("POST import: got HTTP %d %.300s (%v), want 200", code, out, err)
	}
	var created envelope[ImportJob]
	if err := json.Unmarshal(out, &created); err != nil || created.Result == nil || created.Result.Status != StatusPending || created.Result.ID == "" {
		return ImportJob{}, fmt.Errorf("POST import: got %s, want a pending job with an id", out)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		code, out, err = do(http.MethodGet, strings.Replace(PathImportJob, "{id}", created.Result.ID, 1), nil)
		if err != nil || code != http.StatusOK {
			return ImportJob{}, fmt.Errorf("GET import job: got HTTP %d %.300s (%v), want 200", code, out, err)
		}
		var j envelope[ImportJob]
		if err := json.Unmarshal(out, &j); err != nil || j.Result == nil {
			return ImportJob{}, fmt.Errorf("GET import job: got %.300s, want a job", out)
		}
		if j.Result.Status == StatusCompleted {
			return *j.Result, nil
		}
		time.Sleep(2 * time.Millisecond)
	}
	return ImportJob{}, fmt.Errorf("import job %s did not complete in 60s", created.Result.ID)
}

func base64URLDecode(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func bcryptHash(t testing.TB, password string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}
