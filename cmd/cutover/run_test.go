package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/rehearse"
)

// writeRunFixture writes users.csv (n users; every 10th has a Django PBKDF2 hash the
// authgear profile cannot import), known.csv and a plan, and returns the plan's path.
func writeRunFixture(t *testing.T, n int, bulkYAML string) string {
	t.Helper()
	dir := t.TempDir()
	h, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	const django = "pbkdf2_sha256$1000$c2FsdA$bm90LWEtcmVhbC1oYXNoLWJ1dC13ZWxsLWZvcm1lZA=="
	var users, known strings.Builder
	users.WriteString("id,email,password\n")
	known.WriteString("email,password\n")
	for i := 1; i <= n; i++ {
		hash := string(h)
		if i%10 == 0 {
			hash = django
		}
		fmt.Fprintf(&users, "%d,user%d@example.com,%s\n", i, i, hash)
		if i <= 10 {
			fmt.Fprintf(&known, "user%d@example.com,s3cret\n", i)
		}
	}
	known.WriteString("nobody@example.com,s3cret\n")
	os.WriteFile(filepath.Join(dir, "users.csv"), []byte(users.String()), 0o600)
	os.WriteFile(filepath.Join(dir, "known.csv"), []byte(known.String()), 0o600)
	plan := `version: 1
strategy: bulk
source: {kind: csv, path: users.csv}
mapping: {legacy_id: id, email: email, password_hash: password}
target: {kind: mockidp, profile: authgear}
bulk: ` + bulkYAML + "\n"
	p := filepath.Join(dir, "plan.yaml")
	os.WriteFile(p, []byte(plan), 0o600)
	return p
}

func TestRunCommand(t *testing.T) {
	tests := []struct {
		name     string
		bulk     string
		wantCode int
		want     strategies.Report
	}{
		{name: "unsupported hash fails the row", bulk: "{unsupported_hash: fail}", wantCode: exitPartial,
			want: strategies.Report{Rows: 30, Inserted: 27, Failed: 3}},
		{name: "unsupported hash skipped", bulk: "{unsupported_hash: skip}", wantCode: exitOK,
			want: strategies.Report{Rows: 30, Inserted: 27, Skipped: 3}},
		{name: "unsupported hash without password", bulk: "{unsupported_hash: without_password}", wantCode: exitOK,
			want: strategies.Report{Rows: 30, Inserted: 30, WithoutPassword: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := writeRunFixture(t, 30, tt.bulk)
			code, out, errOut := runCLI(t, "", "run", "--plan", plan, "--json")
			if code != tt.wantCode {
				t.Fatalf("exit code: got %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			var got strategies.Report
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("stdout is not one JSON object: %v: %q", err, out)
			}
			if got.Rows != tt.want.Rows || got.Inserted != tt.want.Inserted || got.Failed != tt.want.Failed ||
				got.Skipped != tt.want.Skipped || got.WithoutPassword != tt.want.WithoutPassword || got.RunDir == "" {
				t.Errorf("report: got %+v, want %+v and a run_dir", got, tt.want)
			}
			if strings.Contains(out, "pbkdf2_sha256$") || strings.Contains(out, "$2a$") {
				t.Errorf("the report holds a password hash: %q", out)
			}
			data, _ := os.ReadFile(filepath.Join(got.RunDir, "outcomes.ndjson"))
			if strings.Contains(string(data), "$2a$") || strings.Contains(string(data), "@example.com") {
				t.Errorf("the outcome log holds a hash or an email without bulk.log_emails")
			}
		})
	}
}

func TestRunDryRunThenUndo(t *testing.T) {
	plan := writeRunFixture(t, 20, "{unsupported_hash: skip}")
	code, out, errOut := runCLI(t, "", "run", "--plan", plan, "--dry-run", "--json")
	var dry strategies.Report
	if code != exitOK || json.Unmarshal([]byte(out), &dry) != nil || !dry.DryRun || dry.Inserted != 18 {
		t.Fatalf("dry run: got exit %d, %q (stderr %q); want 18 would-be inserted", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "run", "--plan", plan, "--json")
	var rep strategies.Report
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || rep.Inserted != 18 {
		t.Fatalf("run: got exit %d, %q (stderr %q); want 18 inserted", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "run", "--plan", plan, "--dry-run", "--json")
	if code != exitOK || json.Unmarshal([]byte(out), &dry) != nil || dry.Skipped != 20 || dry.Inserted != 0 {
		t.Fatalf("dry run after the import: got exit %d, %q (stderr %q); want 20 skipped (18 exist, 2 unsupported)", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "", "undo", rep.RunDir)
	if code != exitOK || !strings.Contains(out, "deleted 18 of the 18 users") {
		t.Fatalf("undo: got exit %d, %q (stderr %q); want 18 deleted", code, out, errOut)
	}
	code, out, _ = runCLI(t, "", "run", "--plan", plan, "--json")
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || rep.Inserted != 18 {
		t.Fatalf("run after undo: got exit %d, %q; want 18 inserted again", code, out)
	}
}

func TestRehearse(t *testing.T) {
	plan := writeRunFixture(t, 30, "{unsupported_hash: without_password}")
	known := filepath.Join(filepath.Dir(plan), "known.csv")
	code, out, errOut := runCLI(t, "", "rehearse", "--plan", plan, "--passwords", known, "--json")
	if code != exitPartial {
		t.Fatalf("exit code: got %d, want %d (some sign-ins fail) (stderr %q)", code, exitPartial, errOut)
	}
	var got struct {
		Rows, Inserted int64
		SignIns        []rehearse.SignIn `json:"sign_ins"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("stdout: %v: %q", err, out)
	}
	if got.Rows != 30 || got.Inserted != 30 || len(got.SignIns) != 11 {
		t.Fatalf("got rows %d, inserted %d, %d sign-ins; want 30, 30, 11", got.Rows, got.Inserted, len(got.SignIns))
	}
	for _, s := range got.SignIns {
		switch {
		case s.Email == "user10@example.com":
			if s.OK || !strings.Contains(s.Reason, "unsupported_hash") {
				t.Errorf("%s: got ok=%v reason %q, want a failure naming unsupported_hash", s.Email, s.OK, s.Reason)
			}
		case s.Email == "nobody@example.com":
			if s.OK || !strings.Contains(s.Reason, "not in the source") {
				t.Errorf("%s: got ok=%v reason %q, want not in the source", s.Email, s.OK, s.Reason)
			}
		default:
			if !s.OK {
				t.Errorf("%s: got a failure %q, want a verified sign-in", s.Email, s.Reason)
			}
		}
	}
}
