package mockidp

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/crypto/bcrypt"
)

func TestMockUsersEndpoints(t *testing.T) {
	s := startServer(t, Config{})
	job := importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{
		map[string]any{"email": "nopw@example.com"},
		map[string]any{"email": "pw@example.com", "password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "pw pw pw")}},
		map[string]any{"email": "third@example.com", "disabled": true},
	}})
	nopw, pw, third := job.Details[0].UserID, job.Details[1].UserID, job.Details[2].UserID
	ctx := context.Background()

	t.Run("list and filter", func(t *testing.T) {
		_, data := adminDo(t, s, http.MethodGet, PathMockUsers+"?limit=2&offset=1", nil)
		l := decodeEnvelope[MockUserList](t, data).Result
		if l.Total != 3 || l.BySource[SourceImport] != 3 || len(l.Users) != 2 || l.Users[0].ID != pw {
			t.Fatalf("got %s, want total 3 and a page of 2 starting at pw@", data)
		}
		if !l.Users[0].HasPassword || l.Users[0].PasswordFormat != "bcrypt" || !l.Users[1].Disabled {
			t.Fatalf("got %+v, want has_password bcrypt and the third disabled", l.Users)
		}
		if strings.Contains(string(data), "$2a$") {
			t.Fatalf("listing leaks a password hash: %s", data)
		}
		_, data = adminDo(t, s, http.MethodGet, PathMockUsers+"?email=NOPW@EXAMPLE.COM", nil)
		if l := decodeEnvelope[MockUserList](t, data).Result; l.Total != 1 || l.Users[0].ID != nopw {
			t.Fatalf("filter by email: got %s, want nopw@", data)
		}
		code, _ := adminDo(t, s, http.MethodGet, PathMockUsers+"?limit=-1", nil)
		if code != http.StatusBadRequest {
			t.Fatalf("negative limit: got HTTP %d, want 400", code)
		}
	})
	t.Run("one-time code signs a passwordless user in once", func(t *testing.T) {
		code, data := adminDo(t, s, http.MethodPost, strings.Replace(PathMockUserOTP, "{id}", nopw, 1), nil)
		o := decodeEnvelope[OTP](t, data).Result
		if code != http.StatusOK || len(o.Code) != 6 || !o.ExpiresAt.After(time.Now()) {
			t.Fatalf("got HTTP %d %s, want a 6-digit code expiring later", code, data)
		}
		if _, err := passwordGrant(ctx, s, "nopw@example.com", o.Code); err != nil {
			t.Fatalf("sign in with the code: %v", err)
		}
		if _, err := passwordGrant(ctx, s, "nopw@example.com", o.Code); !isInvalidGrant(err) {
			t.Fatalf("reuse the code: got %v, want invalid_grant", err)
		}
		code, _ = adminDo(t, s, http.MethodPost, strings.Replace(PathMockUserOTP, "{id}", "no-such-id", 1), nil)
		if code != http.StatusNotFound {
			t.Fatalf("unknown user: got HTTP %d, want 404", code)
		}
	})
	t.Run("disabled user cannot sign in", func(t *testing.T) {
		_, data := adminDo(t, s, http.MethodPost, strings.Replace(PathMockUserOTP, "{id}", third, 1), nil)
		o := decodeEnvelope[OTP](t, data).Result
		if _, err := passwordGrant(ctx, s, "third@example.com", o.Code); !isInvalidGrant(err) {
			t.Fatalf("got %v, want invalid_grant", err)
		}
	})
	t.Run("delete by id, then all", func(t *testing.T) {
		_, data := adminDo(t, s, http.MethodPost, PathMockUsersDelete, map[string]any{"ids": []string{pw, "no-such-id"}})
		var r struct{ Deleted int }
		if err := json.Unmarshal(data, &struct{ Result *struct{ Deleted *int } }{&struct{ Deleted *int }{&r.Deleted}}); err != nil || r.Deleted != 1 {
			t.Fatalf("got %s, want deleted 1", data)
		}
		if _, err := passwordGrant(ctx, s, "pw@example.com", "pw pw pw"); !isInvalidGrant(err) {
			t.Fatalf("sign in as a deleted user: got %v, want invalid_grant", err)
		}
		_, data = adminDo(t, s, http.MethodDelete, PathMockUsers, nil)
		if !strings.Contains(string(data), `"deleted":2`) {
			t.Fatalf("delete all: got %s, want deleted 2", data)
		}
	})
}

func TestAdminKeyDirAndFileDB(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "idp.db")
	s1 := startServer(t, Config{AdminKeyDir: dir, DBPath: db})
	info := s1.Config()
	importAndWait(t, s1, map[string]any{"identifier": "email", "records": []any{map[string]any{"email": "kept@example.com"}}})
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(dir, AdminKeyPEMFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("admin-key.pem: got %v %v, want mode 0600", st, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, AdminKeyJSONFile))
	var ki AdminKeyInfo
	if err != nil || json.Unmarshal(raw, &ki) != nil {
		t.Fatalf("admin-key.json: %v %s", err, raw)
	}
	if ki != (AdminKeyInfo{Project: DefaultProject, KeyID: info.KeyID, Issuer: info.Issuer, ClientID: ClientID}) {
		t.Fatalf("admin-key.json: got %+v, want project, key id, issuer %s and client id", ki, info.Issuer)
	}
	if info.AdminKeyFile != filepath.Join(dir, AdminKeyPEMFile) {
		t.Fatalf("AdminKeyFile: got %q, want the pem path", info.AdminKeyFile)
	}

	// A second start loads the same key and kid and finds the user in the database file.
	s2 := startServer(t, Config{AdminKeyDir: dir, DBPath: db, AdminKey: nil})
	if got := s2.Config(); got.KeyID != info.KeyID || !got.AdminKey.Equal(info.AdminKey) {
		t.Fatalf("restart: got kid %q, want %q and the same key", got.KeyID, info.KeyID)
	}
	_, data := adminDo(t, s2, http.MethodGet, PathMockUsers+"?email=kept@example.com", nil)
	if l := decodeEnvelope[MockUserList](t, data).Result; l.Total != 1 {
		t.Fatalf("restart: got %s, want the imported user", data)
	}
}

// TestTokensOutliveRestart: with a database file, the token signing key is kept in it,
// so an access token issued before a restart still opens userinfo after it and its ID
// token still verifies against the JWKS; an in-memory IdP gets a new key each start.
func TestTokensOutliveRestart(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "idp.db")
	admin, _ := testKeys()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	start := func(ln net.Listener, dbPath string) *Server {
		t.Helper()
		s, err := New(Config{DBPath: dbPath, AdminKey: admin, BcryptCost: bcrypt.MinCost})
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		if err := s.Start(ln); err != nil {
			t.Fatalf("Start: %v", err)
		}
		return s
	}
	s1 := start(ln, db)
	importAndWait(t, s1, map[string]any{"identifier": "email", "records": []any{map[string]any{"email": "kept@example.com",
		"password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "kept password")}}}})
	tok, err := passwordGrant(ctx, s1, "kept@example.com", "kept password")
	if err != nil {
		t.Fatalf("sign in before the restart: %v", err)
	}
	kid1 := s1.signer.keyID
	if err := s1.Close(); err != nil {
		t.Fatal(err)
	}

	ln2, err := net.Listen("tcp", addr) // the same issuer URL
	if err != nil {
		t.Fatalf("listen again on %s for the same issuer: %v", addr, err)
	}
	s2 := start(ln2, db)
	defer s2.Close()
	if s2.signer.keyID != kid1 {
		t.Errorf("key id after the restart: got %q, want %q", s2.signer.keyID, kid1)
	}
	req, _ := http.NewRequest(http.MethodGet, s2.Config().Issuer+PathUserinfo, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ui map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&ui)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || ui["email"] != "kept@example.com" {
		t.Errorf("userinfo after the restart with the earlier access token: got HTTP %d %v, want 200 for kept@example.com", resp.StatusCode, ui)
	}
	provider, err := oidc.NewProvider(ctx, s2.Config().Issuer)
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if _, err := provider.Verifier(&oidc.Config{ClientID: ClientID}).Verify(ctx, rawID); err != nil {
		t.Errorf("the earlier ID token after the restart: %v", err)
	}

	// Without a database file there is nothing to keep the key in.
	a, b := start(mustListen(t), ""), start(mustListen(t), "")
	defer a.Close()
	defer b.Close()
	if a.signer.keyID == b.signer.keyID {
		t.Errorf("two in-memory IdPs share the signing key %q", a.signer.keyID)
	}
}

func mustListen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
