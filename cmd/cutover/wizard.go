package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/charmbracelet/x/term"
	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/mapping"
	"github.com/cutover/cutover/strategies/preflight"
	"github.com/cutover/cutover/strategies/rehearse"
	"github.com/cutover/cutover/strategies/sources"
	"github.com/cutover/cutover/strategies/sources/demo"
	"github.com/cutover/cutover/strategies/targets"
	"github.com/cutover/cutover/wizard"
)

// wizardFlags are the wizard's options.
type wizardFlags struct {
	plan       string
	accessible bool
}

func newWizardCmd(a *app) *cobra.Command {
	var f wizardFlags
	cmd := &cobra.Command{
		Use:   "wizard",
		Short: "Open the wizard: choose a strategy, map fields, preview, run, save a plan",
		Long: `The wizard walks you through a cutover: the strategy (bulk, lazy or authonly),
the legacy source and its connection, the field mapping, a preview of real rows with
validation and a password-format histogram, the target IdP and the options. It saves
the answers as a plan that 'cutover run --plan FILE' replays in CI, runs it with live
progress and ends with a reconciled report.

With no flags it starts on the bundled demo database and an in-process mock IdP, so
pressing Enter all the way is a safe rehearsal. Esc goes back a step; Ctrl+C during a
run asks before stopping, and a stopped run can be resumed.

The wizard needs a terminal (it draws on stderr). For screen readers and scripts use
--accessible (or ACCESSIBLE=1): plain prompts, one per line, read from stdin.
NO_COLOR turns colours off.

Exit codes: 0 done, 1 the run failed, 2 no terminal or a bad plan, 3 some rows
failed, 130 cancelled.`,
		Example: `  cutover                                   # the wizard on the demo data
  cutover wizard --plan plan.yaml           # start from a saved plan, every answer prefilled
  ACCESSIBLE=1 cutover wizard               # plain prompts for a screen reader
  cutover run --plan plan.yaml              # no terminal: replay a saved plan instead`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWizard(cmd.Context(), a, f)
		},
	}
	cmd.Flags().StringVar(&f.plan, "plan", "", "start from this saved plan and save back to it")
	cmd.Flags().BoolVar(&f.accessible, "accessible", false, "plain prompts for screen readers (also ACCESSIBLE=1)")
	return cmd
}

func runWizard(ctx context.Context, a *app, f wizardFlags) error {
	accessible := f.accessible || os.Getenv("ACCESSIBLE") != ""
	if !accessible && !(isTerminal(a.stdin) && isTerminal(a.stderr)) {
		return usagef("the wizard needs a terminal; to run without one, save a plan with the wizard (or write one, see README.md) and run 'cutover run --plan FILE', or use 'cutover wizard --accessible' for plain prompts")
	}
	// The wizard styles through a renderer of its own output; NO_COLOR turns colour off.
	opts := wizard.Options{In: a.stdin, Out: a.stderr, Results: a.stdout, Accessible: accessible, NoColor: os.Getenv("NO_COLOR") != "", PlanFile: f.plan}
	if f.plan != "" {
		p, err := strategies.LoadPlan(f.plan)
		if err != nil {
			return err
		}
		opts.Plan = p
	}
	// Log lines on stderr would tear the full-screen wizard; plain prompts can take warnings.
	log := slog.New(slog.DiscardHandler)
	if accessible {
		log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	res, err := wizard.Run(ctx, engineEnv(a, log), opts)
	if res != nil && res.Saved != "" {
		fmt.Fprint(a.stdout, installHint()) // the wizard printed the plan and its report (Results)
	}
	if err != nil {
		return err
	}
	if res != nil && res.Report != nil {
		if res.Report.Failed > 0 || !res.Report.Reconciles() {
			return exitError{exitPartial, fmt.Errorf("%d row(s) failed; see %s", res.Report.Failed, res.Report.RunDir)}
		}
	}
	return nil
}

// installHint says how to get the 'cutover' the next steps name when it is not on the
// PATH (the wizard was started with 'go run'); "" when it is.
func installHint() string {
	if _, err := exec.LookPath("cutover"); err == nil {
		return ""
	}
	return "The next steps run 'cutover': install it with 'go install ./cmd/cutover' ($(go env GOPATH)/bin on PATH); under 'go run' an exit code prints as 'exit status N'.\n"
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// engineEnv wires the wizard to the engine. log receives the engine's log lines; the
// full-screen wizard passes a discarding logger, since lines on stderr would tear its screen.
func engineEnv(a *app, log *slog.Logger) wizard.Env {
	return wizard.Env{
		Probe:       sources.Probe,
		Suggest:     mapping.SuggestFor,
		Preview:     preflight.Preview,
		CheckTarget: targets.Check,
		Runner:      &wizardRunner{a: a, log: log},
		SavePlan:    savePlan,
		LoadPlan:    strategies.LoadPlan,
		// The engine expands ${VAR} from the environment: a secret typed into the wizard
		// is put there for this process only, never into the plan.
		Setenv:   os.Setenv,
		DemoPlan: demo.Fresh,
		DemoNote: fmt.Sprintf("  demo data        %s (1,000 users)\n  known passwords  %s", filepath.Join(demoDir, demo.DBFile), filepath.Join(demoDir, demo.PasswordsFile)),
	}
}

// savePlan saves the wizard's plan and makes it that file's plan, so that the wizard's
// run records it (undo finds the target from it) and resolves paths as a replay would.
func savePlan(path string, p *strategies.Plan) error {
	err := strategies.SavePlan(path, p)
	if err == nil {
		p.File = path
	}
	return err
}

// demoDir is where the wizard writes the demo data (demo.Dir); rehearsalRuns where a
// lazy rehearsal keeps its records.
const (
	demoDir       = demo.Dir
	rehearsalRuns = ".cutover/rehearsals"
)

// wizardRunner runs a finished plan for the wizard: bulk and authonly through their
// runners, continuing an interrupted run of the same plan; lazy as a rehearsal against
// the in-process mock IdP, or, for a real target, as the steps to start the service.
type wizardRunner struct {
	a   *app
	log *slog.Logger
}

// Run implements strategies.Runner.
func (w *wizardRunner) Run(ctx context.Context, p *strategies.Plan, o strategies.RunOptions) (*strategies.Report, error) {
	s, _ := rehearse.StrategyOf(p.Strategy)
	if s.Runner == nil {
		return w.runLazy(ctx, p, o)
	}
	return s.RunContinuing(ctx, p, o, targets.Opener(w.log), w.log)
}

// runLazy runs a lazy plan. A lazy migration is a service, not a run: against a real
// target the wizard's part ends with the plan saved and the commands to start. Against
// the in-process mock IdP it rehearses the whole of it with the engine 'cutover
// rehearse' uses: a temporary store and run records and an in-memory IdP, so that a
// rehearsal leaves nothing 'cutover status' or 'cutover sweep' would count later.
func (w *wizardRunner) runLazy(ctx context.Context, p *strategies.Plan, o strategies.RunOptions) (*strategies.Report, error) {
	if p.Target.Kind != strategies.TargetMockIDP || p.Target.URL != "" {
		return &strategies.Report{Strategy: strategies.StrategyLazy}, nil
	}
	rp := rehearse.MockPlan(p)
	rp.Bulk.RunDir = rehearsalRuns // the report's files outlive the rehearsal, apart from the plan's runs
	res, err := rehearse.Run(ctx, rehearse.Config{Plan: rp, Open: rehearsalTarget(rp, w.log), Log: w.log, Progress: o.Progress, KeepRecords: true})
	if err != nil {
		return nil, err
	}
	return res.LazyReport(), nil
}
