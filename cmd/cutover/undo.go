package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/targets"
)

func newUndoCmd(a *app) *cobra.Command {
	var plan string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "undo RUN",
		Short: "Delete the users a run created",
		Long: `Delete the users a bulk run inserted, as its outcome log records them. Users the
run updated or skipped existed before it and are left alone.

RUN is the run directory a run printed (under bulk.run_dir, default .cutover/runs).
The target is found from the plan recorded in the run directory, or --plan.
Against Authgear each user is deleted with the Admin API's deleteUser mutation, one
request per user (progress goes to stderr); the bundled mock IdP deletes in batches.
Users already gone are counted as not deleted, so undo can be run again.

Exit codes: 0 done (or nothing to delete), 1 the target could not delete, 2 bad flags.`,
		Example: `  cutover undo .cutover/runs/3f2a9c1d0b7e4a55-mockidp-authgear-20260102T150405Z
  cutover undo .cutover/runs/3f2a9c1d0b7e4a55-mockidp-authgear-20260102T150405Z --dry-run`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return undoRun(cmd.Context(), a, args[0], plan, dryRun)
		},
	}
	cmd.Flags().StringVar(&plan, "plan", "", "the plan of the run (default: the one recorded in the run directory)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "only say how many users would be deleted")
	return cmd
}

func undoRun(ctx context.Context, a *app, dir, planPath string, dryRun bool) error {
	ri, err := bulk.ReadRunInfo(dir)
	if err != nil {
		return usageError{err: err, showHelp: true}
	}
	if planPath == "" {
		planPath = ri.Plan
	}
	if planPath == "" {
		return usageError{err: errNoPlan, showHelp: true}
	}
	p, err := strategies.LoadPlan(planPath)
	if err != nil {
		return err
	}
	tgt, err := targets.Opener(a.log)(ctx, p)
	if err != nil {
		return err
	}
	if tgt.Close != nil {
		defer tgt.Close()
	}
	d, ok := tgt.Importer.(idp.Deleter)
	if !ok {
		return exitError{exitFailure, fmt.Errorf("undo %s: the target %s cannot delete users through this tool; delete them in the IdP's console or Admin API (the user ids are in %s/%s)", dir, tgt.Name, dir, bulk.FileOutcomes)}
	}
	progress := func(done, total int) {
		if total > 1000 { // more than one batch: say how far it is
			fmt.Fprintf(a.stderr, "undo: %s of %s users asked for\n", strategies.GroupDigits(int64(done)), strategies.GroupDigits(int64(total)))
		}
	}
	found, deleted, err := bulk.Undo(ctx, dir, d, dryRun, progress)
	if err != nil {
		return err
	}
	if dryRun {
		fmt.Fprintf(a.stdout, "%d users inserted by %s would be deleted\n", found, dir)
	} else {
		fmt.Fprintf(a.stdout, "deleted %d of the %d users inserted by %s\n", deleted, found, dir)
	}
	return bulk.WriteUncertain(a.stdout, dir)
}
