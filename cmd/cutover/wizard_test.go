package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/rehearse"
)

func TestWizardWithoutTerminalPointsToRunPlan(t *testing.T) {
	t.Setenv("ACCESSIBLE", "")
	for _, args := range [][]string{nil, {"wizard"}} {
		t.Run(strings.Join(append([]string{"cutover"}, args...), " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
			if code != exitUsage {
				t.Errorf("exit code: got %d, want %d", code, exitUsage)
			}
			if !strings.Contains(stderr.String(), "cutover run --plan FILE") {
				t.Errorf("stderr: got %q, want it to point to 'cutover run --plan FILE'", stderr.String())
			}
		})
	}
}

// TestWizardAccessibleOnDemoData walks the real wizard, wired to the real engine, in
// accessible mode on the bundled demo data: only the strategy is answered, every other
// answer is the default. Each run must end with a reconciled report and a saved plan
// that loads.
func TestWizardAccessibleOnDemoData(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs three cutovers of the 1,000-user demo database")
	}
	tests := []struct {
		name, input, strategy string
		wantOut               []string
	}{
		{"bulk", "1\n", strategies.StrategyBulk, []string{"Connected: SQLite", "Password formats", "reconciled: every row is accounted for", "rehearse sign-ins"}},
		{"lazy", "2\n", strategies.StrategyLazy, []string{"signed in through the bridge", "reconciled: every row is accounted for", "start the bridge"}},
		{"authonly", "3\n", strategies.StrategyAuthOnly, []string{"write-back into sqlite", "reconciled: every row is accounted for", "deploy the middleware"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			t.Setenv("NO_COLOR", "1")
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), []string{"wizard", "--accessible"}, strings.NewReader(tt.input), &stdout, &stderr)
			if code != exitOK {
				t.Fatalf("exit code: got %d, want %d; stderr:\n%s", code, exitOK, stderr.String())
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("the wizard's output lacks %q; got:\n%s", w, stderr.String())
				}
			}
			if got, want := strings.TrimSpace(stdout.String()), "plan saved: cutover-plan.yaml"; !strings.HasPrefix(got, want) || !strings.HasSuffix(got, strings.TrimSpace(installHint())) {
				t.Errorf("stdout: got %q, want %q", got, want)
			}
			p, err := strategies.LoadPlan("cutover-plan.yaml")
			if err != nil {
				t.Fatalf("the saved plan does not load: %v", err)
			}
			if p.Strategy != tt.strategy {
				t.Errorf("strategy: got %q, want %q", p.Strategy, tt.strategy)
			}
			for _, f := range []string{"legacy-demo.db", rehearse.KnownPasswordsFile} {
				if _, err := os.Stat(filepath.Join(demoDir, f)); err != nil {
					t.Errorf("demo file %s: %v", f, err)
				}
			}
		})
	}
}

// TestInstallHint: when 'cutover' is not on the PATH (the wizard ran under 'go run'),
// the wizard says how to install the binary its next steps name; when it is, nothing.
func TestInstallHint(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if h := installHint(); !strings.Contains(h, "go install ./cmd/cutover") || !strings.Contains(h, "exit status") {
		t.Errorf("without cutover on the PATH: got %q, want the go install line and the go run caveat", h)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cutover"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	if h := installHint(); h != "" {
		t.Errorf("with cutover on the PATH: got %q, want nothing", h)
	}
}

// TestWizardSecondWalk: a second walk in the same directory starts from the plan the
// first saved (not the demo's answers over it), and when the in-process mock IdP
// already has the users it says why they were skipped and how to start it empty
// (issue 17, item 3).
func TestWizardSecondWalk(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: runs two cutovers of the 1,000-user demo database")
	}
	t.Chdir(t.TempDir())
	t.Setenv("NO_COLOR", "1")
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"wizard", "--accessible"}, strings.NewReader("3\n"), &stdout, &stderr); code != exitOK {
		t.Fatalf("first walk: exit %d\n%s", code, stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"wizard", "--accessible"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("second walk: exit %d\n%s", code, stderr.String())
	}
	for _, want := range []string{"prefilled from cutover-plan.yaml", "already had them from an earlier run", "rm -r .cutover/mockidp"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("second walk: output lacks %q:\n%s", want, stderr.String())
		}
	}
	if p, err := strategies.LoadPlan("cutover-plan.yaml"); err != nil || p.Strategy != strategies.StrategyAuthOnly {
		t.Errorf("after the second walk: got plan %v (%v), want the authonly plan of the first", p, err)
	}
}
