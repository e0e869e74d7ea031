package main

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies/rehearse"
)

// TestRehearseVendorExportsWithoutMapping: a Firebase export and an Auth0 NDJSON export
// with no mapping rehearse with sign-ins (issue 12). Before, every Firebase user was
// malformed_hash ("no Firebase hash config") and could not sign in.
func TestRehearseVendorExportsWithoutMapping(t *testing.T) {
	var vecs []struct {
		Hash, Salt, Password, Wrong string
		Firebase                    json.RawMessage
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "strategies", "passwords", "testdata", "firebase.json"))
	if err != nil || json.Unmarshal(data, &vecs) != nil || len(vecs) == 0 {
		t.Fatalf("read the Firebase vectors: %v", err)
	}
	fb := vecs[0]
	bc, err := bcrypt.GenerateFromPassword([]byte("auth0 bcrypt pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte("auth0 md5 pw"))
	auth0 := fmt.Sprintf(`{"user_id":"auth0|1","email":"bcrypt@example.com","email_verified":true,"password_hash":%q}
{"user_id":"auth0|2","email":"md5@example.com","custom_password_hash":{"algorithm":"md5","hash":{"value":%q,"encoding":"hex"}}}
`, bc, hex.EncodeToString(sum[:]))
	tests := []struct {
		name  string
		files map[string]string
		known string
	}{
		{"firebase", map[string]string{
			"users.json":       fmt.Sprintf(`{"users": [{"localId": "u1", "email": "user1@test.com", "passwordHash": %q, "salt": %q}]}`, fb.Hash, fb.Salt),
			"hash_config.json": string(fb.Firebase),
			"plan.yaml":        "version: 1\nstrategy: bulk\nsource: {kind: firebase, path: users.json, hash_config: hash_config.json}\ntarget: {kind: mockidp, profile: permissive}\n",
		}, "email,password\nuser1@test.com," + fb.Password + "\n"},
		{"auth0", map[string]string{
			"users.ndjson": auth0,
			"plan.yaml":    "version: 1\nstrategy: bulk\nsource: {kind: auth0, path: users.ndjson}\ntarget: {kind: mockidp, profile: permissive}\n",
		}, "email,password\nbcrypt@example.com,auth0 bcrypt pw\nmd5@example.com,auth0 md5 pw\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.files["known.csv"] = tt.known
			for name, body := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"rehearse", "--plan", filepath.Join(dir, "plan.yaml"), "--passwords", filepath.Join(dir, "known.csv"), "--json"},
				strings.NewReader(""), &out, &errb)
			if code != exitOK {
				t.Fatalf("exit: got %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
			}
			var got struct {
				SignIns []rehearse.SignIn `json:"sign_ins"`
			}
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatalf("stdout is not JSON: %v\n%s", err, out.String())
			}
			if want := strings.Count(tt.known, "\n") - 1; len(got.SignIns) != want {
				t.Fatalf("sign-ins: got %d, want %d", len(got.SignIns), want)
			}
			for _, s := range got.SignIns {
				if !s.OK {
					t.Errorf("%s: got refused (%s), want signed in with the old password", s.Email, s.Reason)
				}
			}
		})
	}
}
