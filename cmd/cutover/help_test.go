package main

import (
	"runtime/debug"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// commands lists every command under c that does something when run, by its path
// without the leading "cutover".
func commands(c *cobra.Command) []*cobra.Command {
	var out []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
			continue
		}
		if sub.HasSubCommands() {
			out = append(out, commands(sub)...)
			continue
		}
		out = append(out, sub)
	}
	return out
}

// TestHelpReadsOnATerminal: the root help has examples, every command's help says its
// exit codes, and no help line is wider than a terminal ('hash --help' had one of 700
// characters: the list of formats).
func TestHelpReadsOnATerminal(t *testing.T) {
	root := newRootCmd(&app{})
	help := func(t *testing.T, args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, "", append(args, "--help")...)
		if code != exitOK {
			t.Fatalf("%v --help: exit %d (stderr %q)", args, code, errOut)
		}
		for _, l := range strings.Split(out, "\n") {
			if len(l) > 150 {
				t.Errorf("%v --help has a line of %d characters, want at most 150: %q", args, len(l), l)
			}
		}
		return out
	}
	if out := help(t); !strings.Contains(out, "Examples:") {
		t.Errorf("cutover --help has no Examples section:\n%s", out)
	}
	help(t, "hash")
	help(t, "plan")
	for _, c := range commands(root) {
		path := strings.Fields(strings.TrimPrefix(c.CommandPath(), "cutover "))
		t.Run(strings.Join(path, " "), func(t *testing.T) {
			if out := help(t, path...); !strings.Contains(out, "Exit codes: 0 ") {
				t.Errorf("cutover %s --help does not say its exit codes ('Exit codes: 0 ...'):\n%s", strings.Join(path, " "), out)
			}
		})
	}
}

// TestUsageErrorsPointToTheSubcommandsHelp: a usage error says which help to read: the
// subcommand's, not the root's.
func TestUsageErrorsPointToTheSubcommandsHelp(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "'cutover run --help'"},
		{[]string{"undo"}, "'cutover undo --help'"},
		{[]string{"hash", "verify"}, "'cutover hash verify --help'"},
		{[]string{"hash", "detect"}, "'cutover hash detect --help'"},
		{[]string{"run", "--bogus"}, "'cutover run --help'"},
		{[]string{"bogus"}, "'cutover --help'"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, errOut := runCLI(t, "", tt.args...)
			if code != exitUsage || !strings.Contains(errOut, tt.want) {
				t.Errorf("got exit %d, stderr %q; want 2 pointing to %s", code, errOut, tt.want)
			}
		})
	}
}

// TestVersionOf: --version says what the build info knows: the module's version, the
// commit and whether the tree was modified; "devel" only when nothing is known.
func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	tests := []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "devel"},
		{"go run without vcs", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel"},
		{"tagged", &debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "v1.2.3"},
		{"pseudo-version from go install", &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261202080412-7225726abcde+dirty"},
			Settings: vcs("7225726abcde0123456789", "true")}, "v0.0.0-20261202080412-7225726abcde+dirty"},
		{"devel with a commit", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("7225726abcde0123456789", "false")}, "devel (commit 7225726abcde)"},
		{"devel with a modified tree", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: vcs("7225726abcde0123456789", "true")}, "devel (commit 7225726abcde, modified)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionOf(tt.info); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if code, out, _ := runCLI(t, "", "--version"); code != exitOK || out != "cutover version "+versionOf(buildInfo())+"\n" {
		t.Errorf("--version: got exit %d, %q; want the build info's version %q", code, out, versionOf(buildInfo()))
	}
}
