// Command cutover moves the users of a legacy login system into an identity provider
// without locking anyone out: a wizard, a plan runner for CI, a lazy-migration bridge,
// a bundled mock IdP to rehearse against, and tools to diagnose legacy password hashes.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
)

// Exit codes, the only place they are defined.
const (
	exitOK        = 0   // everything done
	exitFailure   = 1   // the work could not be done (or a check said no)
	exitUsage     = 2   // bad flags, arguments or plan
	exitPartial   = 3   // done, but some rows failed
	exitCancelled = 130 // interrupted (Ctrl+C / SIGTERM)
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = ""

// app carries what every subcommand needs: standard streams and a logger.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes the command line and returns the exit code. Errors are printed here, once.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{
		stdin:  stdin,
		stdout: stdout,
		stderr: stderr,
		log:    slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	code := exitCode(ctx, err)
	var q quietError
	if !errors.As(err, &q) {
		fmt.Fprintf(stderr, "cutover: %v\n", err)
		if code == exitUsage && showHelp(err) {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return code
}

// showHelp reports whether an error should be followed by the pointer to --help: a
// usage error that asks for it, or the engine's usage errors (flags that do not go
// together). A plan error says which line to fix instead.
func showHelp(err error) bool {
	var u usageError
	if errors.As(err, &u) {
		return u.showHelp
	}
	return strategies.CodeOf(err) == strategies.CodeUsage
}

// exitError asks for a specific exit code; quietError does so without printing anything
// (the command already said what happened, e.g. "no match" on stdout).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

type quietError struct{ code int }

func (e quietError) Error() string { return fmt.Sprintf("exit %d", e.code) }

// usageError marks bad flags, arguments or input (exit 2). showHelp adds the pointer
// to the failing command's --help; it is false where the message already says where to look.
type usageError struct {
	err      error
	showHelp bool
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{err: fmt.Errorf(format, args...), showHelp: true}
}

// typedUsage makes cobra's own complaints about c and its subcommands (arguments,
// unknown commands, required flags) usage errors, so that no exit code depends on
// cobra's wording. Flag parsing errors come through the root's flag error function.
func typedUsage(c *cobra.Command) {
	args := c.Args
	c.Args = func(cmd *cobra.Command, a []string) error {
		if args != nil {
			if err := args(cmd, a); err != nil {
				return usageError{err: err, showHelp: true}
			}
		}
		if err := cmd.ValidateRequiredFlags(); err != nil {
			return usageError{err: err, showHelp: true}
		}
		return nil
	}
	for _, sub := range c.Commands() {
		typedUsage(sub)
	}
}

func exitCode(ctx context.Context, err error) int {
	var (
		q quietError
		x exitError
		u usageError
	)
	switch {
	case errors.As(err, &q):
		return q.code
	case errors.As(err, &x):
		return x.code
	case errors.Is(err, context.Canceled) && ctx.Err() != nil, strategies.CodeOf(err) == strategies.CodeCancelled:
		return exitCancelled
	case errors.As(err, &u):
		return exitUsage
	}
	switch strategies.CodeOf(err) {
	case strategies.CodeUsage, strategies.CodePlan:
		return exitUsage
	}
	return exitFailure
}

// versionOf is the version the build info records: the module's (a tag, or the
// pseudo-version 'go install' stamps from the commit), else "devel" with the commit
// and whether the tree was modified when the build knows them.
func versionOf(info *debug.BuildInfo) string {
	if info == nil {
		return "devel"
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, modified string
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision" && len(s.Value) >= 12:
			rev = " (commit " + s.Value[:12]
		case s.Key == "vcs.modified" && s.Value == "true":
			modified = ", modified"
		}
	}
	if rev == "" {
		return "devel"
	}
	return "devel" + rev + modified + ")"
}

// buildInfo is the binary's build info; nil when it has none.
func buildInfo() *debug.BuildInfo {
	info, _ := debug.ReadBuildInfo()
	return info
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "cutover",
		Short: "Move the users of a legacy login system into an identity provider",
		Long: `cutover moves the users of a legacy login system into an identity provider
without locking anyone out. Run it with no arguments on a terminal to open the
wizard on a bundled demo database and an in-process mock IdP; save the plan it
builds and replay it in CI with 'cutover run --plan FILE'.

Strategies:
  bulk      import everyone through the IdP's import API, hashes included
  lazy      the IdP asks 'cutover bridge' to verify each user at first sign-in
  authonly  import identifiers only and write the IdP's ids back into your users table

Exit codes: 0 ok, 1 failure, 2 usage, 3 partial success (some rows failed), 130 cancelled.
Install with 'go install ./cmd/cutover' (under 'go run' an exit code prints as
'exit status N').`,
		Example: `  cutover                                     # the wizard on the bundled demo data
  cutover rehearse --plan cutover-plan.yaml   # prove it at a mock IdP: import, then sign-ins
  cutover run --plan cutover-plan.yaml        # the real run, in CI
  cutover undo .cutover/runs/RUN              # delete the users that run created`,
		Version:       cmp.Or(version, versionOf(buildInfo())),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWizard(cmd.Context(), a, wizardFlags{})
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{err: fmt.Errorf("%w (see 'cutover %s --help')", err, strings.TrimPrefix(cmd.CommandPath(), "cutover "))}
	})
	root.AddCommand(
		newWizardCmd(a),
		newRunCmd(a),
		newPlanCmd(a),
		newRehearseCmd(a),
		newBridgeCmd(a),
		newStatusCmd(a),
		newSweepCmd(a),
		newUndoCmd(a),
		newMockIDPCmd(a),
		newHashCmd(a),
		newLoginCmd(a),
		newExampleAppCmd(a),
	)
	typedUsage(root)
	return root
}
