package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCLI runs the command line in-process and returns the exit code and both streams.
func runCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    int
		wantErr string
		wantOut string
	}{
		{name: "version", args: []string{"--version"}, want: exitOK, wantOut: "cutover version"},
		{name: "help", args: []string{"--help"}, want: exitOK, wantOut: "Strategies:"},
		{name: "unknown command", args: []string{"bogus"}, want: exitUsage, wantErr: `unknown command "bogus"`},
		{name: "unknown flag", args: []string{"--bogus"}, want: exitUsage, wantErr: "unknown flag: --bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "", tt.args...)
			if code != tt.want {
				t.Errorf("exit code: got %d, want %d (stderr %q)", code, tt.want, errOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr: got %q, want it to contain %q", errOut, tt.wantErr)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout: got %q, want it to contain %q", out, tt.wantOut)
			}
		})
	}
}

// TestEverySubcommandHasHelp checks that each subcommand explains itself.
func TestEverySubcommandHasHelp(t *testing.T) {
	root := newRootCmd(&app{})
	for _, c := range root.Commands() {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" {
			continue
		}
		t.Run(c.Name(), func(t *testing.T) {
			code, out, errOut := runCLI(t, "", c.Name(), "--help")
			if code != exitOK {
				t.Fatalf("exit code: got %d, want 0 (stderr %q)", code, errOut)
			}
			if !strings.Contains(out, "Usage:") || c.Short == "" {
				t.Errorf("help of %s: got %q, want a usage section and a short description", c.Name(), out)
			}
		})
	}
}
