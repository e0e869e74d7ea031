package bulk_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
)

// TestResumeWithNothingToResumeStartsTheRun: a run killed before its first checkpoint
// leaves nothing to resume; --resume must then start the run and say so, not fail.
func TestResumeWithNothingToResumeStartsTheRun(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	writeCSV(t, csv, 20, func(int) bool { return false })
	s := startIdP(t, mockidp.Config{})
	p := csvPlan(t, csv)
	rep, err := runner(t, s).Run(context.Background(), p, strategies.RunOptions{Resume: true})
	if err != nil {
		t.Fatalf("Run --resume with no earlier run: got %v, want the run started", err)
	}
	if rep.Inserted != 20 || !rep.Reconciles() {
		t.Errorf("report: got %d inserted of %d rows, want 20 of 20", rep.Inserted, rep.Rows)
	}
	if !slices.ContainsFunc(rep.NextSteps, func(s string) bool { return strings.Contains(s, "nothing to resume") }) {
		t.Errorf("next steps %q: want a note that there was nothing to resume", rep.NextSteps)
	}
}

// TestInterruptedIsPerTarget: an interrupted run is one of this plan against this
// target; a run stopped against another target (another profile) is not this one's.
func TestInterruptedIsPerTarget(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	writeCSV(t, csv, 5, func(int) bool { return false })
	p := csvPlan(t, csv)
	for _, tt := range []struct {
		name, stopped, asked string
		want                 bool
	}{
		{"same target", "mockidp-authgear", "mockidp-authgear", true},
		{"other target", "mockidp-authgear", "mockidp-permissive", false},
		{"no run", "", "mockidp-authgear", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p.Bulk.RunDir = filepath.Join(t.TempDir(), "runs")
			if tt.stopped != "" {
				stopRun(t, p, tt.stopped)
			}
			got, err := bulk.Interrupted(p, tt.asked)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Interrupted(%s) after a run stopped against %q: got %v, want %v", tt.asked, tt.stopped, got, tt.want)
			}
		})
	}
}

// stopRun leaves the records of a run of p against target that was stopped before it
// finished: an outcome log and no finished checkpoint.
func stopRun(t *testing.T, p *strategies.Plan, target string) {
	t.Helper()
	root, err := p.RunRoot()
	if err != nil {
		t.Fatal(err)
	}
	fp, err := bulk.Fingerprint(p)
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(root, fp+"-"+target)
	if err := os.MkdirAll(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, bulk.FileOutcomes), []byte(`{"row":1,"outcome":"inserted","user_id":"u1"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}
