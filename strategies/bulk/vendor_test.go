package bulk_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/preflight"
)

// TestAuth0ExportNeedsNoMapping: an Auth0 NDJSON export and a plan with no mapping:
// the vendor's fields are used, with the hash from password_hash or
// custom_password_hash row by row, and every user signs in with their password.
func TestAuth0ExportNeedsNoMapping(t *testing.T) {
	dir := t.TempDir()
	argon, err := passwords.Hash("argon2id", "argon-pw")
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum([]byte("md5-pw"))
	rows := []map[string]any{
		{"user_id": "auth0|1", "email": "bcrypt@example.com", "email_verified": true, "password_hash": fixtureHashes()[1]},
		{"user_id": "auth0|2", "email": "argon@example.com", "custom_password_hash": map[string]any{"algorithm": "argon2", "hash": map[string]any{"value": argon.Hash, "encoding": "utf8"}}},
		{"user_id": "auth0|3", "email": "md5@example.com", "custom_password_hash": map[string]any{"algorithm": "md5", "hash": map[string]any{"value": hex.EncodeToString(sum[:]), "encoding": "hex"}}},
	}
	var b strings.Builder
	for _, r := range rows {
		line, _ := json.Marshal(r)
		b.Write(append(line, '\n'))
	}
	writeFile(t, dir, "users.ndjson", b.String())
	planPath := writeFile(t, dir, "plan.yaml", "version: 1\nstrategy: bulk\nsource: {kind: auth0, path: users.ndjson}\ntarget: {kind: mockidp, profile: permissive}\n")
	p, err := strategies.LoadPlan(planPath)
	if err != nil {
		t.Fatalf("LoadPlan with no mapping: %v", err)
	}
	s := startIdP(t, mockidp.Config{Profile: mockidp.ProfilePermissive})
	rep, err := runner(t, s).Run(context.Background(), p, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Inserted != 3 || rep.WithoutPassword != 0 {
		t.Fatalf("report: got %+v (reasons %v), want 3 inserted with their passwords", rep, rep.Reasons)
	}
	for email, pw := range map[string]string{"bcrypt@example.com": "password-1", "argon@example.com": "argon-pw", "md5@example.com": "md5-pw"} {
		if err := signIn(t, s, email, pw); err != nil {
			t.Errorf("sign-in of %s: %v", email, err)
		}
	}
}

// TestFirebaseExportNeedsNoMapping: a Firebase export with its hash_config and no
// mapping: every hash is detected with the project's parameters (it was malformed_hash:
// "no Firebase hash config" for every user), and the gate lets the plan run.
func TestFirebaseExportNeedsNoMapping(t *testing.T) {
	dir := t.TempDir()
	var vecs []struct {
		Format   string                    `json:"format"`
		Hash     string                    `json:"hash"`
		Salt     string                    `json:"salt"`
		Firebase *passwords.FirebaseConfig `json:"firebase"`
	}
	data, err := os.ReadFile(filepath.Join("..", "passwords", "testdata", "firebase.json"))
	if err != nil || json.Unmarshal(data, &vecs) != nil || len(vecs) == 0 {
		t.Fatalf("read the Firebase vectors: %v", err)
	}
	v := vecs[0]
	hc, _ := json.Marshal(v.Firebase)
	writeFile(t, dir, "hash_config.json", string(hc))
	writeFile(t, dir, "users.json", fmt.Sprintf(`{"users": [{"localId": "u1", "email": "user1@test.com", "passwordHash": %q, "salt": %q}]}`, v.Hash, v.Salt))
	planPath := writeFile(t, dir, "plan.yaml", "version: 1\nstrategy: bulk\nsource: {kind: firebase, path: users.json, hash_config: hash_config.json}\ntarget: {kind: mockidp, profile: permissive}\n")
	p, err := strategies.LoadPlan(planPath)
	if err != nil {
		t.Fatalf("LoadPlan with no mapping: %v", err)
	}
	r, err := preflight.Run(context.Background(), p, preflight.Options{})
	if err != nil {
		t.Fatalf("preflight: %v", err)
	}
	if r.Valid != 1 || r.Formats["firebase_scrypt"].Count != 1 || len(r.Invalid) != 0 {
		t.Errorf("preflight: got valid %d formats %v invalid %v, want the user valid with a firebase_scrypt hash", r.Valid, r.Formats, r.Invalid)
	}
	if err := preflight.Gate(context.Background(), p, preflight.Options{}); err != nil {
		t.Errorf("Gate: %v", err)
	}
}
