package mockidptest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/mockidp"
)

// keys are made once per test binary: 2048-bit RSA generation takes seconds under -race,
// and every test that starts an IdP needs an admin key and a signing key.
var keys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var out [2]*rsa.PrivateKey
	for i := range out {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		out[i] = k
	}
	return out
})

// Keys returns an admin key and a signing key made once per test binary.
func Keys() (admin, signing *rsa.PrivateKey) {
	k := keys()
	return k[0], k[1]
}

// StartFast is Start with what makes many IdPs cheap in a test: the keys made once per
// binary (unless cfg has its own) and the minimum bcrypt cost for native hashes.
func StartFast(t testing.TB, cfg mockidp.Config) *mockidp.Server {
	t.Helper()
	admin, signing := Keys()
	if cfg.AdminKey == nil {
		cfg.AdminKey = admin
	}
	if cfg.SigningKey == nil {
		cfg.SigningKey = signing
	}
	if cfg.BcryptCost == 0 {
		cfg.BcryptCost = bcrypt.MinCost
	}
	return Start(t, cfg)
}

// SyncBuffer is a bytes.Buffer a server goroutine and a test can share.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns what was written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Import posts an import request body to the IdP at issuer with the admin token tok and
// polls the job until it has completed (or a minute has passed), returning the job.
func Import(issuer, tok string, body []byte) (map[string]any, error) {
	do := func(method, url string, b []byte) (map[string]any, error) {
		req, err := http.NewRequest(method, url, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if b != nil {
			req.Header.Set("Content-Type", "application/json") // Authgear answers 415 without it
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		var env struct {
			Result map[string]any `json:"result"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("%s %s: HTTP %d %v", method, url, resp.StatusCode, err)
		}
		return env.Result, nil
	}
	job, err := do(http.MethodPost, issuer+mockidp.PathImport, body)
	if err != nil {
		return nil, err
	}
	id, _ := job["id"].(string)
	// Poll against a deadline, not a count of attempts: the job's speed depends on the load.
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		j, err := do(http.MethodGet, issuer+mockidp.PathImport+"/"+id, nil)
		if err != nil {
			return nil, err
		}
		if j["status"] == mockidp.StatusCompleted {
			return j, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil, errors.New("import did not complete within 60s")
}
