package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/cutover/cutover/strategies/rehearse"
)

// knownPasswordsBeside copies the fixture's known.csv to known-passwords.csv beside the
// plan, where rehearse finds it without --passwords (as with the wizard's demo plan).
func knownPasswordsBeside(t *testing.T, plan string) {
	t.Helper()
	dir := filepath.Dir(plan)
	data, err := os.ReadFile(filepath.Join(dir, "known.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, rehearse.KnownPasswordsFile), data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// rehearseText runs 'cutover rehearse --plan plan' without --passwords and returns its
// exit code and the report (standard output) with the run's duration and the plan's directory
// replaced, so that the output can be compared with a golden file.
func rehearseText(t *testing.T, plan string) (int, string) {
	t.Helper()
	code, out, _ := runCLI(t, "", "rehearse", "--plan", plan)
	if strings.Contains(out, filepath.Join(os.TempDir(), "cutover-rehearse-")) {
		t.Errorf("the report points into the rehearsal's temporary directory, deleted when it ends:\n%s", out)
	}
	out = strings.ReplaceAll(out, filepath.Dir(plan), "PLANDIR")
	return code, regexp.MustCompile(`Took [0-9.]+[µm]?s`).ReplaceAllString(out, "Took 1ms")
}

// TestRehearseShowsTheSignInsItMade: without --passwords the rehearsal signs in the
// users of the known-passwords.csv it finds; the text output must show those sign-ins
// (it said "No sign-ins: give --passwords" while --json listed them) and explain exit 3.
func TestRehearseShowsTheSignInsItMade(t *testing.T) {
	plan := writeRunFixture(t, 30, "{unsupported_hash: without_password}")
	knownPasswordsBeside(t, plan)
	code, out := rehearseText(t, plan)
	if code != exitPartial {
		t.Errorf("exit code: got %d, want %d (user10 cannot sign in, nobody@ is not in the source)", code, exitPartial)
	}
	for _, want := range []string{"9 of 11 worked", "ok    user1@example.com", "FAIL  nobody@example.com: not in the source", "Exit code 3, partial success"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "No sign-ins") {
		t.Errorf("output says there were no sign-ins, after making 11:\n%s", out)
	}
}

// TestRehearseLazyText is the whole readable output of a lazy rehearsal: one account of
// the sign-ins (never "No sign-ins" beside "4 known users signed in"), next steps that
// do not point into a deleted directory, and what the exit code means.
func TestRehearseLazyText(t *testing.T) {
	plan := writeLazyFixture(t, 12)
	knownPasswordsBeside(t, plan)
	code, out := rehearseText(t, plan)
	if code != exitPartial {
		t.Errorf("exit code: got %d, want %d (user3 is disabled)", code, exitPartial)
	}
	golden.RequireEqual(t, []byte(out))
}

// TestRehearseLazyWithoutKnownPasswords: with no passwords to sign in with, the headline
// and the sign-ins section say the same thing: nobody signed in, and why.
func TestRehearseLazyWithoutKnownPasswords(t *testing.T) {
	plan := writeLazyFixture(t, 6)
	code, out := rehearseText(t, plan)
	if code != exitOK {
		t.Errorf("exit code: got %d, want 0 (no row failed, no sign-in tried)", code)
	}
	for _, want := range []string{"so nobody signed in through the bridge", "No sign-ins: no --passwords was given", "Exit code 0, ok: no row failed (no sign-in was tried)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "known users signed in") {
		t.Errorf("output counts known users signed in beside 'No sign-ins':\n%s", out)
	}
}

// TestRehearseAuthOnlyText: the authonly rehearsal writes back into a copy of the legacy
// database that is deleted when it ends; its output says so instead of naming the path.
func TestRehearseAuthOnlyText(t *testing.T) {
	plan, _ := writeAuthOnlyFixture(t, 6)
	code, out := rehearseText(t, plan)
	if code != exitOK || !strings.Contains(out, "a copy of the legacy database (deleted when the rehearsal ended") {
		t.Errorf("got exit %d, output:\n%s\nwant 0 and the write-back into a deleted copy", code, out)
	}
}
