package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
)

// TestUndoAuthgearTarget: with a target of kind authgear (the mock IdP by URL, reached
// only through Authgear's own APIs) undo deletes the run's users with the Admin API
// GraphQL deleteUser mutation; run again, it finds them gone and fails nothing.
func TestUndoAuthgearTarget(t *testing.T) {
	keyDir := t.TempDir()
	s := mockidptest.Start(t, mockidp.Config{AdminKeyDir: keyDir, BcryptCost: bcrypt.MinCost})
	info := s.Config()
	plan := writeRunFixture(t, 12, "{unsupported_hash: skip}")
	data, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	target := fmt.Sprintf("target: {kind: authgear, url: %q, project: %s, key_id: %s, key_file: %q}",
		info.Issuer, info.Project, info.KeyID, filepath.Join(keyDir, mockidp.AdminKeyPEMFile))
	data = []byte(strings.Replace(string(data), "target: {kind: mockidp, profile: authgear}", target, 1))
	if err := os.WriteFile(plan, data, 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, "", "run", "--plan", plan, "--json")
	var rep strategies.Report
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || rep.Inserted != 11 || rep.Skipped != 1 {
		t.Fatalf("run: got exit %d, %q (stderr %q); want 11 inserted, 1 skipped (Django hash)", code, out, errOut)
	}
	mc := &idp.MockClient{}
	if mc.Client, err = idp.New(idp.Config{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey}); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		pg, err := mc.FindUsers(context.Background(), idp.Query{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return pg.Total
	}
	if n := count(); n != 11 {
		t.Fatalf("users at the IdP after the run: got %d, want 11", n)
	}
	code, out, errOut = runCLI(t, "", "undo", rep.RunDir)
	if code != exitOK || !strings.Contains(out, "deleted 11 of the 11 users") {
		t.Fatalf("undo: got exit %d, %q (stderr %q); want 11 deleted", code, out, errOut)
	}
	if n := count(); n != 0 {
		t.Errorf("users at the IdP after undo: got %d, want 0", n)
	}
	code, out, errOut = runCLI(t, "", "undo", rep.RunDir)
	if code != exitOK || !strings.Contains(out, "deleted 0 of the 11 users") {
		t.Errorf("undo again: got exit %d, %q (stderr %q); want 0 deleted and no error", code, out, errOut)
	}
}

// TestUndoAfterASecondRun: the run directory a report printed must still hold that run
// after the plan ran again, so that 'cutover undo' pasted from the first report deletes
// the first run's users. It used to be moved aside, its old path then holding the new run.
func TestUndoAfterASecondRun(t *testing.T) {
	plan := writeRunFixture(t, 20, "{unsupported_hash: skip}")
	var first, second strategies.Report
	for _, rep := range []*strategies.Report{&first, &second} {
		code, out, errOut := runCLI(t, "", "run", "--plan", plan, "--json")
		if code != exitOK || json.Unmarshal([]byte(out), rep) != nil {
			t.Fatalf("run: got exit %d, %q (stderr %q)", code, out, errOut)
		}
	}
	if first.RunDir == second.RunDir {
		t.Fatalf("both runs report the run directory %s, want one each", first.RunDir)
	}
	for _, rep := range []*strategies.Report{&first, &second} {
		var recorded strategies.Report
		data, err := os.ReadFile(filepath.Join(rep.RunDir, "report.json"))
		if err != nil || json.Unmarshal(data, &recorded) != nil {
			t.Fatalf("read the report in %s: %v", rep.RunDir, err)
		}
		if recorded.RunDir != rep.RunDir || recorded.Inserted != rep.Inserted {
			t.Errorf("%s holds a report of %s with %d inserted, want its own run's (%d inserted)", rep.RunDir, recorded.RunDir, recorded.Inserted, rep.Inserted)
		}
	}
	code, out, errOut := runCLI(t, "", "undo", first.RunDir)
	if code != exitOK || !strings.Contains(out, "deleted 18 of the 18 users") {
		t.Errorf("undo of the first run: got exit %d, %q (stderr %q); want its 18 users deleted", code, out, errOut)
	}
}

// TestUndoWizardRun: a run the wizard made after saving its plan names that plan, so
// 'cutover undo RUN' finds the target without --plan, as its help says.
func TestUndoWizardRun(t *testing.T) {
	src := writeRunFixture(t, 10, "{unsupported_hash: skip}")
	p, err := strategies.LoadPlan(src)
	if err != nil {
		t.Fatal(err)
	}
	// The wizard builds its plan in memory (source paths absolute), then saves it.
	p.Source.Path, p.File = filepath.Join(filepath.Dir(src), p.Source.Path), ""
	a := &app{stdin: strings.NewReader(""), stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.DiscardHandler)}
	env := engineEnv(a, a.log)
	saved := filepath.Join(filepath.Dir(src), "cutover-plan.yaml")
	if err := env.SavePlan(saved, p); err != nil {
		t.Fatal(err)
	}
	rep, err := env.Runner.Run(context.Background(), p, strategies.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "", "undo", rep.RunDir)
	if code != exitOK || !strings.Contains(out, "deleted 9 of the 9 users") {
		t.Errorf("undo of the wizard's run: got exit %d, %q (stderr %q); want its 9 users deleted", code, out, errOut)
	}
}
