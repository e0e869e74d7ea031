package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
)

// startIDP runs an in-process mock IdP holding one user with a known password.
func startIDP(t *testing.T) string {
	t.Helper()
	s := mockidptest.Start(t, mockidp.Config{BcryptCost: bcrypt.MinCost})
	hash, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	// Import through the real admin API, as a client would.
	body, _ := json.Marshal(map[string]any{"identifier": "email", "records": []any{map[string]any{
		"email": "user1@example.com", "name": "User One", "password": map[string]any{"type": "bcrypt", "password_hash": string(hash)}}}})
	if err := importViaAPI(t, s, body); err != nil {
		t.Fatal(err)
	}
	return s.Config().Issuer
}

func TestLogin(t *testing.T) {
	idp := startIDP(t)
	tests := []struct {
		name     string
		stdin    string
		args     []string
		code     int
		stdout   string
		stderrIn string
	}{
		{"right password", "correct horse\n", []string{"--email", "user1@example.com"}, exitOK, `"email": "user1@example.com"`, ""},
		{"json wrapper", "correct horse", []string{"--email", "USER1@example.com", "--json"}, exitOK, `"access_token_expiry"`, ""},
		{"wrong password", "wrong\n", []string{"--email", "user1@example.com"}, exitFailure, "", "email or password is wrong"},
		{"unknown user", "correct horse\n", []string{"--email", "nobody@example.com"}, exitFailure, "", "email or password is wrong"},
		{"no password", "", []string{"--email", "user1@example.com"}, exitUsage, "", "no password on standard input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tc.stdin, append([]string{"login", "--idp", idp}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit: got %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if !strings.Contains(stdout, tc.stdout) || !strings.Contains(stderr, tc.stderrIn) {
				t.Fatalf("got stdout %q stderr %q, want %q / %q", stdout, stderr, tc.stdout, tc.stderrIn)
			}
			if strings.Contains(stdout+stderr, "correct horse") {
				t.Fatal("the password was printed")
			}
			if tc.code == exitOK {
				var v map[string]any
				if err := json.Unmarshal([]byte(stdout), &v); err != nil {
					t.Fatalf("stdout is not JSON: %v", err)
				}
			}
		})
	}
	t.Run("IdP not running", func(t *testing.T) {
		code, _, stderr := runCLI(t, "pw\n", "login", "--idp", "http://127.0.0.1:1", "--email", "a@example.com")
		if code != exitFailure || !strings.Contains(stderr, "discovery") {
			t.Fatalf("got %d %q, want 1 mentioning discovery", code, stderr)
		}
	})
}

func TestLoginAgainstMockIDPCommand(t *testing.T) {
	ki, _, stop := startMockIDPCmd(t)
	code, _, stderr := runCLI(t, "whatever\n", "login", "--idp", ki.Issuer, "--email", "nobody@example.com")
	if code != exitFailure || !strings.Contains(stderr, "wrong") {
		t.Fatalf("got %d %q, want 1 with invalid_grant", code, stderr)
	}
	if code := stop(); code != exitOK {
		t.Fatalf("mockidp exit: got %d, want 0", code)
	}
}

// importViaAPI posts an import with an Admin JWT and waits for the job.
func importViaAPI(t *testing.T, s *mockidp.Server, body []byte) error {
	t.Helper()
	info := s.Config()
	tok, err := info.AdminToken(time.Now(), time.Minute)
	if err != nil {
		return err
	}
	return postAndPoll(info.Issuer, tok, body)
}

func postAndPoll(issuer, tok string, body []byte) error {
	do := func(method, url string, b []byte) (map[string]any, error) {
		req, err := http.NewRequest(method, url, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if b != nil {
			req.Header.Set("Content-Type", "application/json") // Authgear (and the mock) refuse a body without it
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
		return err
	}
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); {
		j, err := do(http.MethodGet, issuer+mockidp.PathImport+"/"+job["id"].(string), nil)
		if err != nil {
			return err
		}
		if j["status"] == mockidp.StatusCompleted {
			return nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	return errors.New("import did not complete within 60s")
}
