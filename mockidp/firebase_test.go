package mockidp

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/cutover/cutover/strategies/passwords"
)

// TestFirebaseHashesSignIn: with the project's hash parameters, the permissive profile
// imports a Firebase export's scrypt hash and signs the user in with the old password
// (issue 12: a Firebase export rehearses with sign-ins); a wrong one is refused.
// Without the parameters the hash cannot be told from noise, and the record fails.
func TestFirebaseHashesSignIn(t *testing.T) {
	var vecs []struct {
		Hash, Salt, Password, Wrong string
		Firebase                    *passwords.FirebaseConfig
	}
	data, err := os.ReadFile(filepath.Join("..", "strategies", "passwords", "testdata", "firebase.json"))
	if err != nil || json.Unmarshal(data, &vecs) != nil || len(vecs) == 0 {
		t.Fatalf("read the Firebase vectors: %v", err)
	}
	v := vecs[0]
	record := map[string]any{"email": "user1@test.com", "password": map[string]any{
		"type": "firebase_scrypt", "password_hash": v.Hash, "salt": v.Salt}}
	ctx := context.Background()

	s := startServer(t, Config{Profile: ProfilePermissive, Firebase: v.Firebase})
	job := importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{record}})
	if job.Details[0].Outcome != OutcomeInserted {
		t.Fatalf("import with the hash config: got %q %+v, want inserted", job.Details[0].Outcome, job.Details[0].Errors)
	}
	if _, err := passwordGrant(ctx, s, "user1@test.com", v.Password); err != nil {
		t.Errorf("sign in with the Firebase password: got %v, want tokens", err)
	}
	if _, err := passwordGrant(ctx, s, "user1@test.com", v.Wrong); !isInvalidGrant(err) {
		t.Errorf("sign in with a wrong password: got %v, want invalid_grant", err)
	}

	bare := startServer(t, Config{Profile: ProfilePermissive})
	job = importAndWait(t, bare, map[string]any{"identifier": "email", "records": []any{record}})
	if job.Details[0].Outcome != OutcomeFailed {
		t.Errorf("import without the hash config: got %q, want failed", job.Details[0].Outcome)
	}
}
