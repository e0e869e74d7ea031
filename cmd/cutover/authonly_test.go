package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/cutover/cutover/strategies/rehearse"
)

// writeAuthOnlyFixture writes an SQLite users table (every 7th email broken) and an
// authonly plan for it; it returns the plan's and the database's paths.
func writeAuthOnlyFixture(t *testing.T, n int) (planPath, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	dbPath = filepath.Join(dir, "app.db")
	db, err := sql.Open("sqlite", dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT NOT NULL, name TEXT, password TEXT)`); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("user%d@example.com", i)
		if i%7 == 0 {
			email = fmt.Sprintf("broken%d", i)
		}
		if _, err := db.Exec(`INSERT INTO users VALUES (?, ?, ?, 'not-a-hash')`, i, email, fmt.Sprintf("User %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	planPath = filepath.Join(dir, "plan.yaml")
	plan := `version: 1
strategy: authonly
source: {kind: sqlite, path: app.db, table: users}
mapping: {legacy_id: id, email: email, name: name, password_hash: password}
target: {kind: mockidp}
`
	if err := os.WriteFile(planPath, []byte(plan), 0o600); err != nil {
		t.Fatal(err)
	}
	return planPath, dbPath
}

func TestRunAuthOnly(t *testing.T) {
	plan, dbPath := writeAuthOnlyFixture(t, 20)
	tests := []struct {
		name       string
		args       []string
		wantOut    []string
		wantFilled int
	}{
		{"dry run prints the DDL and counts", []string{"run", "--plan", plan, "--dry-run"},
			[]string{"Would run:", `ALTER TABLE "users" ADD COLUMN "idp_user_id" TEXT NULL`, "18 rows would get their IdP user id"}, -1},
		{"run writes every valid row's id", []string{"run", "--plan", plan},
			[]string{"Ran:", "18 rows with an IdP id", "18 updated"}, 18},
		{"second run changes nothing", []string{"run", "--plan", plan},
			[]string{"18 rows with an IdP id", "0 updated, 18 already held it"}, 18},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, strings.NewReader(""), &out, &errb); code != exitOK {
				t.Fatalf("exit: got %d, want 0\n%s\n%s", code, out.String(), errb.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout: got\n%s\nwant it to contain %q", out.String(), w)
				}
			}
			db, err := sql.Open("sqlite", dbPath)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var filled int
			err = db.QueryRow(`SELECT COUNT(idp_user_id) FROM users`).Scan(&filled)
			if tt.wantFilled < 0 {
				if err == nil {
					t.Errorf("the dry run added the column (%d filled); want the table untouched", filled)
				}
				return
			}
			if err != nil || filled != tt.wantFilled {
				t.Errorf("rows with an id: got %d (%v), want %d", filled, err, tt.wantFilled)
			}
		})
	}
}

func TestRehearseAuthOnly(t *testing.T) {
	plan, dbPath := writeAuthOnlyFixture(t, 12)
	known := filepath.Join(filepath.Dir(plan), "known.csv")
	os.WriteFile(known, []byte("email,password\nuser1@example.com,-\nuser5@example.com,-\nbroken7,-\nnobody@example.com,-\n"), 0o600)
	before, _ := os.ReadFile(dbPath)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"rehearse", "--plan", plan, "--passwords", known, "--json"}, strings.NewReader(""), &out, &errb)
	if code != exitPartial {
		t.Fatalf("exit: got %d, want 3 (two users cannot sign in)\n%s", code, errb.String())
	}
	var got struct {
		Rows      int64 `json:"rows"`
		WriteBack struct {
			Rows int64 `json:"rows"`
		} `json:"write_back"`
		SignIns []rehearse.SignIn `json:"sign_ins"`
	}
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, out.String())
	}
	if got.Rows != 12 || got.WriteBack.Rows != 11 {
		t.Errorf("counts: got rows %d written %d, want 12 and 11", got.Rows, got.WriteBack.Rows)
	}
	want := map[string]string{"user1@example.com": "", "user5@example.com": "", "broken7": "row 7 invalid", "nobody@example.com": "not in the source"}
	if len(got.SignIns) != len(want) {
		t.Fatalf("sign-ins: got %d, want %d", len(got.SignIns), len(want))
	}
	for _, s := range got.SignIns {
		w := want[s.Email]
		if w == "" && !s.OK {
			t.Errorf("%s: got a failure (%s), want the protected route to resolve their legacy row", s.Email, s.Reason)
		}
		if w != "" && (s.OK || !strings.Contains(s.Reason, w)) {
			t.Errorf("%s: got ok=%v reason %q, want a failure saying %q", s.Email, s.OK, s.Reason, w)
		}
	}
	if after, _ := os.ReadFile(dbPath); !bytes.Equal(before, after) {
		t.Errorf("the rehearsal changed the legacy database; want it untouched (the copy is written)")
	}
}
