package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writePlanCheckFixture writes a plan and a CSV with good and bad rows into a temp dir.
func writePlanCheckFixture(t *testing.T, csv string) string {
	t.Helper()
	dir := t.TempDir()
	plan := "version: 1\nstrategy: bulk\nsource:\n  kind: csv\n  path: users.csv\nmapping:\n  email: email\n  name: name\ntarget:\n  kind: mockidp\n"
	if err := os.WriteFile(filepath.Join(dir, "plan.yaml"), []byte(plan), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "plan.yaml")
}

func TestPlanCheck(t *testing.T) {
	good := writePlanCheckFixture(t, "\ufeffemail,name\r\nalice@x.io,Alice\r\nALICE@x.io,Dup\r\nnope,Bad\r\n")
	allBad := writePlanCheckFixture(t, "email,name\nnope,Bad\n,Empty\n")
	badPlan := filepath.Join(t.TempDir(), "plan.yaml")
	os.WriteFile(badPlan, []byte("version: 1\nstrategy: bulk\nsourze: {}\n"), 0o600)
	noSource := writePlanCheckFixture(t, "")
	os.Remove(filepath.Join(filepath.Dir(noSource), "users.csv"))

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"readable report", []string{"plan", "check", good}, exitOK,
			[]string{"Rows             3", "Valid            1", "duplicate_identifier", "row 2 (line 3) email: duplicate of row 1", "invalid_email", "row 3 (line 4) email", "The plan can run"}, nil},
		{"--plan flag", []string{"plan", "check", "--plan", good}, exitOK, []string{"The plan can run"}, nil},
		{"no valid rows", []string{"plan", "check", allBad}, exitFailure,
			[]string{"The plan cannot run: no row is valid"}, []string{"cutover: the plan cannot run"}},
		{"missing source file", []string{"plan", "check", noSource}, exitFailure, nil, []string{"users.csv", "file not found"}},
		{"invalid plan file", []string{"plan", "check", badPlan}, exitUsage, nil, []string{"plan.yaml:3", "sourze: unknown key"}},
		{"no plan given", []string{"plan", "check"}, exitUsage, nil, []string{"which plan?"}},
		{"two plans given", []string{"plan", "check", "--plan", good, allBad}, exitUsage, nil, []string{"give the plan once"}},
		{"bad flag", []string{"plan", "check", "--jsn", good}, exitUsage, nil, []string{"unknown flag"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, strings.NewReader(""), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("got exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(stdout.String(), w) {
					t.Errorf("got stdout\n%s\nwant it to contain %q", stdout.String(), w)
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("got stderr\n%s\nwant it to contain %q", stderr.String(), w)
				}
			}
			if strings.Contains(stdout.String(), "ALICE@x.io") || strings.Contains(stdout.String(), `"nope"`) {
				t.Errorf("got values in the report without --show-values:\n%s", stdout.String())
			}
		})
	}
}

func TestPlanCheckJSON(t *testing.T) {
	plan := writePlanCheckFixture(t, "email,name\nalice@x.io,Alice\nALICE@x.io,Dup\nnope,Bad\nbob@x.io,"+strings.Repeat("b", 10_000)+"\n")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"plan", "check", "--json", "--show-values", plan}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("got exit %d, want 0\n%s", code, stderr.String())
	}
	var r struct {
		Rows       int64                      `json:"rows"`
		Valid      int64                      `json:"valid"`
		Invalid    map[string]int64           `json:"invalid"`
		Duplicates int64                      `json:"duplicates"`
		Warned     map[string]int64           `json:"warned"`
		Formats    map[string]json.RawMessage `json:"formats"`
		Examples   map[string][]struct {
			Row     int    `json:"row"`
			Message string `json:"message"`
		} `json:"examples"`
		Recommendation struct {
			Strategy string `json:"strategy"`
		} `json:"recommendation"`
	}
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("decode: %v", err)
	}
	if dec.More() {
		t.Error("got more than one JSON value on stdout, want one object")
	}
	// The 10,000-character name is an optional field: bob moves without it, warned (issue 12).
	if r.Rows != 4 || r.Valid != 2 || r.Duplicates != 1 || r.Invalid["invalid_email"] != 1 || r.Invalid["duplicate_identifier"] != 1 || len(r.Invalid) != 2 || r.Warned["name"] != 1 {
		t.Errorf("got %+v, want 4 rows, 2 valid, 1 duplicate, one each of invalid_email and duplicate_identifier, one warning for name", r)
	}
	if r.Formats == nil {
		t.Error("got no formats object, want one (empty)")
	}
	if ex := r.Examples["duplicate_identifier"]; len(ex) != 1 || ex[0].Row != 2 || !strings.Contains(ex[0].Message, `"ALICE@x.io"`) {
		t.Errorf("got %+v, want row 2 quoting the value with --show-values", ex)
	}
	if r.Recommendation.Strategy != "bulk" {
		t.Errorf("got strategy %q, want bulk (no passwords)", r.Recommendation.Strategy)
	}
}
