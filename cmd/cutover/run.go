package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/lazy"
	"github.com/cutover/cutover/strategies/rehearse"
	"github.com/cutover/cutover/strategies/targets"
)

// runFlags are the options of `cutover run`.
type runFlags struct {
	plan       string
	resume     bool
	dryRun     bool
	onlyFailed string
	json       bool
}

func newRunCmd(a *app) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "run --plan FILE",
		Short: "Run a plan without questions (CI)",
		Long: `Run a saved plan without asking anything: the way to replay in CI what the
wizard set up. For the bulk strategy every input row ends in exactly one outcome
(inserted, updated, skipped, failed or invalid), recorded in a run directory
(bulk.run_dir, default .cutover/runs beside the plan) together with a checkpoint,
failures.csv, failures.json, summary.md and report.json.

An interrupted run (Ctrl+C, a crash, kill -9) continues with --resume without
importing anyone twice. --only-failed retries the failed rows of an earlier run.
--dry-run does everything but the writes, including asking the target which
users already exist.

With a target of kind mockidp and no url, the bundled mock IdP runs in-process,
keeping its users in .cutover/mockidp beside the run directories. A lazy plan
into Ory Kratos is the lazy migration's first step: run pre-imports every user
flagged for Kratos's password-migration hook (then start 'cutover bridge').

Progress goes to stderr (a line every few seconds), the summary or --json
object to stdout. Exit codes: 0 every valid row imported or skipped, 3 some rows
failed, 1 the run could not proceed, 2 bad flags or plan, 130 interrupted.`,
		Example: `  cutover run --plan cutover.yaml
  cutover run --plan cutover.yaml --dry-run
  cutover run --plan cutover.yaml --resume --json
  cutover run --plan cutover.yaml --only-failed .cutover/runs/3f2a9c1d0b7e4a55-mockidp-authgear-20260102T150405Z`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPlan(cmd.Context(), a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.plan, "plan", "", "the plan file to run (required)")
	fl.BoolVar(&f.resume, "resume", false, "continue the interrupted run of this plan")
	fl.BoolVar(&f.dryRun, "dry-run", false, "do everything but write to the target")
	fl.StringVar(&f.onlyFailed, "only-failed", "", "retry the failed rows of this earlier run directory")
	fl.BoolVar(&f.json, "json", false, "print the report as one JSON object")
	_ = cmd.MarkFlagRequired("plan")
	return cmd
}

func runPlan(ctx context.Context, a *app, f runFlags) error {
	if f.plan == "" {
		return usageError{err: errors.New("--plan is required (see 'cutover run --help')")}
	}
	p, err := strategies.LoadPlan(f.plan)
	if err != nil {
		return err
	}
	o := strategies.RunOptions{DryRun: f.dryRun, Resume: f.resume, OnlyFailed: f.onlyFailed,
		Progress: strategies.ProgressPrinter(a.stderr, 3*time.Second)}
	s, _ := rehearse.StrategyOf(p.Strategy)
	var rep *strategies.Report
	switch k, _ := strategies.TargetKindOf(p.Target.Kind); {
	case s.Runner == nil && k.PreImport: // lazy into Kratos: its first step
		rep, err = lazy.PreImport(ctx, p, &bulk.Runner{OpenTarget: targets.Opener(a.log), Log: a.log}, o)
	case s.Runner == nil:
		return lazy.NotARun(p)
	default:
		r := s.Runner(targets.Opener(a.log), a.log)
		if ar, ok := r.(*authonly.Runner); ok {
			return runAuthOnlyPlan(ctx, a, ar, p, f) // it also writes ids back, and says so
		}
		rep, err = r.Run(ctx, p, o)
	}
	if err != nil {
		return err
	}
	if err := printReport(a.stdout, rep, f.json); err != nil {
		return err
	}
	return reportExit(rep)
}

// reportExit maps a finished run to its exit code: 3 when some rows failed.
func reportExit(rep *strategies.Report) error {
	if rep.Failed > 0 {
		return quietError{exitPartial}
	}
	return nil
}

// printReport writes the report as JSON (one object) or as the Markdown summary.
func printReport(w io.Writer, rep *strategies.Report, asJSON bool) error {
	if asJSON {
		return writeJSON(w, rep)
	}
	_, err := io.WriteString(w, bulk.Summary(rep))
	return err
}

// writeJSON writes v as one indented JSON object: every --json output.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// errNoPlan is returned by undo when neither --plan nor run.json names the plan.
var errNoPlan = errors.New("the run directory does not name its plan (the plan was not saved when it ran); give it with --plan FILE")
