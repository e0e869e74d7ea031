package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/lazy"
	"github.com/cutover/cutover/strategies/targets"
)

func newSweepCmd(a *app) *cobra.Command {
	var f runFlags
	cmd := &cobra.Command{
		Use:   "sweep --plan FILE",
		Short: "Import the users who have not signed in yet (lazy)",
		Long: `Finish a lazy migration: import, through the bulk import path, every legacy user
the bridge has not verified, so the old system can be switched off on a date.
Users the bridge migrated are left out (recorded as skipped, reason
migrated_lazily). Hashes travel where the target accepts their format; otherwise
bulk.unsupported_hash decides (fail, without_password: the user resets or uses a
one-time code, or skip).

The sweep keeps a run directory like 'cutover run' (bulk.run_dir): --resume
continues an interrupted sweep, --dry-run does everything but the writes. Users
who sign in while the sweep runs already exist at the IdP and are skipped there.
Keep the bridge running until the sweep has finished.

Exit codes: 0 every valid row imported or skipped, 3 some rows failed, 1 the
sweep could not proceed, 2 bad flags or plan, 130 interrupted.`,
		Example: `  cutover status --plan cutover.yaml
  cutover sweep --plan cutover.yaml --dry-run
  cutover sweep --plan cutover.yaml --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runSweep(cmd.Context(), a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.plan, "plan", "", "the lazy plan (required)")
	fl.BoolVar(&f.resume, "resume", false, "continue the interrupted sweep")
	fl.BoolVar(&f.dryRun, "dry-run", false, "do everything but write to the target")
	fl.BoolVar(&f.json, "json", false, "print the report as one JSON object")
	_ = cmd.MarkFlagRequired("plan")
	return cmd
}

func runSweep(ctx context.Context, a *app, f runFlags) error {
	p, err := loadLazyPlan(f.plan, "sweep")
	if err != nil {
		return err
	}
	store, path, err := lazy.OpenExistingStore(ctx, p)
	if err != nil {
		return err
	}
	if store == nil {
		fmt.Fprintf(a.stderr, "No verification recorded (%s does not exist): the sweep imports everyone.\n", path)
	} else {
		defer store.Close()
	}
	r := &bulk.Runner{OpenTarget: targets.Opener(a.log), Log: a.log}
	rep, err := lazy.Sweep(ctx, p, store, r, strategies.RunOptions{
		DryRun: f.dryRun, Resume: f.resume, Progress: strategies.ProgressPrinter(a.stderr, 3*time.Second),
	})
	if err != nil {
		return err
	}
	if err := printReport(a.stdout, rep, f.json); err != nil {
		return err
	}
	return reportExit(rep)
}
