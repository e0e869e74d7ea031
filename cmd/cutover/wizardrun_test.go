package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
)

// TestWizardResumesOnlyItsOwnTarget: a run interrupted against one profile of the mock
// IdP must not make the wizard resume when it runs the plan against another profile;
// it used to, and the run then failed with "nothing to resume".
func TestWizardResumesOnlyItsOwnTarget(t *testing.T) {
	plan := writeRunFixture(t, 10, "{unsupported_hash: without_password}")
	p, err := strategies.LoadPlan(plan)
	if err != nil {
		t.Fatal(err)
	}
	root, err := p.RunRoot()
	if err != nil {
		t.Fatal(err)
	}
	fp, err := bulk.Fingerprint(p)
	if err != nil {
		t.Fatal(err)
	}
	stopped := filepath.Join(root, fp+"-mockidp-authgear")
	if err := os.MkdirAll(stopped, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stopped, bulk.FileOutcomes), []byte(`{"row":1,"outcome":"inserted","user_id":"u1"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p.Target.Profile = strategies.ProfilePermissive
	a := &app{stdin: strings.NewReader(""), stdout: os.Stdout, stderr: os.Stderr, log: slog.New(slog.DiscardHandler)}
	w := &wizardRunner{a: a, log: a.log}
	rep, err := w.Run(context.Background(), p, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("run against the permissive profile: %v", err)
	}
	for _, s := range rep.NextSteps {
		if strings.Contains(s, "nothing to resume") {
			t.Errorf("the wizard asked to resume a run of another target: %q", s)
		}
	}
	if rep.Inserted != 10 {
		t.Errorf("inserted: got %d, want 10", rep.Inserted)
	}
}
