package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunStopsWhatPlanCheckStops: `cutover run` on the plans issue 12 reproduced ends
// with plan check's exit code and message, and the in-process IdP holds nobody (the
// gate runs before the target is written to). Before, each of these imported users
// without passwords, or nobody, and exited 0.
func TestRunStopsWhatPlanCheckStops(t *testing.T) {
	tests := []struct {
		name, mapping, csv string
		want               int
		message            string
	}{
		{"password column typo", "  email: email\n  password_hash: passwd\n", "email,password\na@x.io,$2b$04$abcdefghijklmnopqrstuu5x1bS2RZkpVPH.1tRYq2Fy3w7xSpkaqi\n", exitUsage, `"passwd"`},
		{"identifier typo", "  email: mail\n", "email,name\na@x.io,A\n", exitUsage, `"mail"`},
		{"absent column", "  email: email\n  name: full_name\n", "email,name\na@x.io,A\n", exitUsage, `"full_name"`},
		{"header-only file", "  email: email\n", "email,name\n", exitFailure, "no rows"},
		{"every row invalid", "  email: email\n", "email,name\nnope,A\n,B\n", exitFailure, "no row is valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			plan := "version: 1\nstrategy: bulk\nsource:\n  kind: csv\n  path: users.csv\nmapping:\n" + tt.mapping +
				"target:\n  kind: mockidp\n  profile: permissive\nbulk:\n  run_dir: runs\n"
			for name, body := range map[string]string{"plan.yaml": plan, "users.csv": tt.csv} {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			planPath := filepath.Join(dir, "plan.yaml")
			var checkOut, checkErr bytes.Buffer
			checkCode := run(context.Background(), []string{"plan", "check", planPath}, strings.NewReader(""), &checkOut, &checkErr)
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"run", "--plan", planPath}, strings.NewReader(""), &out, &errb)
			if code != tt.want || checkCode != tt.want {
				t.Fatalf("exit: run %d, plan check %d; want both %d\nrun stderr:\n%s\nplan check:\n%s%s", code, checkCode, tt.want, errb.String(), checkOut.String(), checkErr.String())
			}
			if !strings.Contains(errb.String(), tt.message) || !strings.Contains(checkOut.String()+checkErr.String(), tt.message) {
				t.Errorf("want both to say %q\nrun stderr:\n%s\nplan check:\n%s%s", tt.message, errb.String(), checkOut.String(), checkErr.String())
			}
			_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err == nil && d.Name() == "outcomes.ndjson" {
					t.Errorf("%s exists: the run recorded rows, want it stopped before any", path)
				}
				return nil
			})
		})
	}
}
