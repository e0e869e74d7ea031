package mockidp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// Attacks from issue 13 (items 8 to 11), each performed against a running mock IdP.

// TestUserinfoCaseVariantClaimsDropped: a user may store any blob through POST
// userinfo, but a key that differs from a reserved claim only in case ("Email") must not
// reach GET userinfo, where encoding/json would match it to the email field of a relying
// party's struct and link the account to the victim's address (issue 13 item 8).
func TestUserinfoCaseVariantClaimsDropped(t *testing.T) {
	s := startServer(t, Config{LoginIDKeys: []string{LoginIDEmail, LoginIDUsername}})
	importAndWait(t, s, map[string]any{"identifier": "preferred_username", "records": []any{map[string]any{
		"preferred_username": "mallory", "password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "mallory pw 1")}}}})
	tok, err := passwordGrant(context.Background(), s, "mallory", "mallory pw 1")
	if err != nil {
		t.Fatal(err)
	}
	blob := `{"Email":"victim@corp.test","EMAIL_VERIFIED":true,"Phone_Number":"+14155550123","Preferred_Username":"victim","Sub":"x","nickname":"m"}`
	req, _ := http.NewRequest(http.MethodPost, s.Config().Issuer+PathUserinfo, strings.NewReader(blob))
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	claims := userinfoClaimsOf(t, s, tok)
	for k := range claims {
		for _, reserved := range []string{"email", "email_verified", "phone_number", "phone_number_verified", "preferred_username", "sub"} {
			if strings.EqualFold(k, reserved) && k != reserved {
				t.Errorf("userinfo holds %q = %v, a case variant of the reserved claim %q", k, claims[k], reserved)
			}
		}
	}
	raw, _ := json.Marshal(claims)
	var rp struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	if err := json.Unmarshal(raw, &rp); err != nil {
		t.Fatal(err)
	}
	if rp.Email != "" || rp.EmailVerified {
		t.Errorf("a relying party decoding userinfo reads email %q verified %v, want none (the account has no email)", rp.Email, rp.EmailVerified)
	}
	if claims["nickname"] != "m" {
		t.Errorf("nickname: got %v, want the blob's other claims kept", claims["nickname"])
	}
}

// TestDatabaseFilesPrivate: the --db file holds the token signing key and imported
// password hashes, so it and its -wal and -shm files are readable by the owner only, even
// under a permissive umask (issue 13 item 9).
func TestDatabaseFilesPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idp.db")
	s := startServer(t, Config{DBPath: path})
	importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{map[string]any{"email": "a@example.com"}}})
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Errorf("stat %s: %v", p, err)
			continue
		}
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: got mode %v, want 0600", filepath.Base(p), perm)
		}
	}
	// A database created elsewhere with a wider mode is narrowed on open.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	startServer(t, Config{DBPath: path})
	if fi, _ := os.Stat(path); fi.Mode().Perm() != fs.FileMode(0o600) {
		t.Errorf("reopened %s: got mode %v, want 0600", filepath.Base(path), fi.Mode().Perm())
	}
}

// TestSlowBodyTimesOut: a client that sends its body a byte at a time must not hold a
// connection (and a goroutine) open indefinitely (issue 13 item 10).
func TestSlowBodyTimesOut(t *testing.T) {
	s := startServer(t, Config{ReadTimeout: 300 * time.Millisecond})
	u, _ := url.Parse(s.Config().Issuer)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\ngrant_type=", PathToken, u.Host)
	// Keep trickling until the server gives up; the deadline is the test's failure, far
	// beyond the configured timeout.
	deadline := time.Now().Add(20 * time.Second)
	closed := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(bufio.NewReader(conn))
		closed <- err
	}()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-closed:
			return
		case <-tick.C:
			if time.Now().After(deadline) {
				t.Fatal("the server still reads a trickling body after 20s, want it to give up after its read timeout")
			}
			_, _ = conn.Write([]byte("x"))
		}
	}
}

// TestSignInFormRefusesCrossOrigin: a page on another origin must not post the sign-in
// form on a user's behalf (login CSRF) (issue 13 item 10).
func TestSignInFormRefusesCrossOrigin(t *testing.T) {
	s := startServer(t, Config{})
	importAndWait(t, s, map[string]any{"identifier": "email", "records": seedRecords(t)})
	form := url.Values{"client_id": {ClientID}, "redirect_uri": {"http://127.0.0.1:9/callback"}, "response_type": {"code"},
		"scope": {"openid"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
		"login": {"user1@example.com"}, "password": {"correct horse 1"}, "action": {"signin"}}
	for _, h := range []struct{ name, value string }{{"Origin", "http://evil.example"}, {"Sec-Fetch-Site", "cross-site"}} {
		req, _ := http.NewRequest(http.MethodPost, s.Config().Issuer+PathAuthorize, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set(h.name, h.value)
		resp, err := signInClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: %s: got HTTP %d, want 403", h.name, h.value, resp.StatusCode)
		}
	}
}

// TestPasswordGuessingLimited: after repeated wrong passwords for one login, the
// password grant and the sign-in form refuse further tries for a while, even the right
// password, so a password cannot be guessed at the speed of bcrypt (issue 13 item 10).
func TestPasswordGuessingLimited(t *testing.T) {
	s := startServer(t, Config{})
	importAndWait(t, s, map[string]any{"identifier": "email", "records": seedRecords(t)})
	ctx := context.Background()
	for i := range maxLoginFailures {
		if _, err := passwordGrant(ctx, s, "user1@example.com", fmt.Sprintf("guess %d", i)); !isInvalidGrant(err) {
			t.Fatalf("guess %d: got %v, want invalid_grant", i, err)
		}
	}
	_, err := passwordGrant(ctx, s, "USER1@example.com", "correct horse 1")
	if !isInvalidGrant(err) || !strings.Contains(err.Error(), "too many") {
		t.Fatalf("right password after %d wrong ones: got %v, want invalid_grant saying too many failures", maxLoginFailures, err)
	}
	// The form shares the limit.
	cb, status := browserSignIn(t, authURLFor(s), "user1@example.com", "correct horse 1")
	if cb != nil || status != http.StatusTooManyRequests {
		t.Errorf("sign-in form after the limit: got HTTP %d, want 429", status)
	}
	// Another user is not affected.
	if _, err := passwordGrant(ctx, s, "user2@example.com", "battery staple 2"); err != nil {
		t.Errorf("another user: got %v, want a sign-in", err)
	}
}

func authURLFor(s *Server) string {
	conf := oauth2.Config{ClientID: ClientID, Endpoint: oauth2.Endpoint{AuthURL: s.Config().Issuer + PathAuthorize},
		RedirectURL: "http://127.0.0.1:9/callback", Scopes: []string{"openid"}}
	return conf.AuthCodeURL("st", oauth2.S256ChallengeOption("verifier-verifier-verifier-verifier-verifier"))
}

// TestCodeExchangeRefusesDisabledUser: a user disabled between signing in and the code
// exchange gets no tokens (issue 13 item 10, suspected and confirmed).
func TestCodeExchangeRefusesDisabledUser(t *testing.T) {
	s := startServer(t, Config{})
	importAndWait(t, s, map[string]any{"identifier": "email", "records": seedRecords(t)})
	cb, status := browserSignIn(t, authURLFor(s), "user1@example.com", "correct horse 1")
	if cb == nil {
		t.Fatalf("sign-in: got HTTP %d, want a redirect", status)
	}
	j := importAndWait(t, s, map[string]any{"identifier": "email", "upsert": true, "records": []any{
		map[string]any{"email": "user1@example.com", "disabled": true}}})
	if j.Summary.Updated != 1 {
		t.Fatalf("disable: got %+v, want 1 updated", j.Summary)
	}
	conf := oauth2.Config{ClientID: ClientID, Endpoint: oauth2.Endpoint{TokenURL: s.Config().Issuer + PathToken, AuthStyle: oauth2.AuthStyleInParams},
		RedirectURL: "http://127.0.0.1:9/callback"}
	_, err := conf.Exchange(context.Background(), cb.Query().Get("code"), oauth2.VerifierOption("verifier-verifier-verifier-verifier-verifier"))
	if !isInvalidGrant(err) {
		t.Fatalf("exchange for a disabled user: got %v, want invalid_grant", err)
	}
}

// TestImportRefusesEmailsAuthgearRefuses: control, invisible and bidirectional
// characters and over-long addresses are refused per record, as the real Authgear
// refuses them (issue 13 item 11).
func TestImportRefusesEmailsAuthgearRefuses(t *testing.T) {
	s := startServer(t, Config{})
	bad := []string{"a@x.com\u0000b", "a\u200b@x.com", "a@x\u200e.com", "\u202ea@x.com", "a\u0007@x.com",
		strings.Repeat("a", 65) + "@x.com", "a@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 60) + ".com"}
	var records []any
	for _, e := range bad {
		records = append(records, map[string]any{"email": e})
	}
	records = append(records, map[string]any{"email": strings.Repeat("a", 64) + "@x.com"})
	j := importAndWait(t, s, map[string]any{"identifier": "email", "records": records})
	for i, e := range bad {
		d := j.Details[i]
		if d.Outcome != OutcomeFailed || len(d.Errors) != 1 || d.Errors[0].Reason != "ValidationFailed" {
			t.Errorf("email %q (%d octets): got %s %+v, want failed ValidationFailed", e, len(e), d.Outcome, d.Errors)
		}
	}
	if d := j.Details[len(bad)]; d.Outcome != OutcomeInserted {
		t.Errorf("a 64-octet local part: got %s %+v, want inserted", d.Outcome, d.Errors)
	}
}
