package main

import (
	"context"
	"io"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
)

// authonlyOutput is the --json output of `cutover run` for an authonly plan.
type authonlyOutput struct {
	*strategies.Report
	WriteBack authonly.WriteBack `json:"write_back"`
}

// runAuthOnlyPlan is what 'cutover run' does with an authonly plan: import identifiers,
// then write IdP ids back (or, with --dry-run, print the migration and the counts).
func runAuthOnlyPlan(ctx context.Context, a *app, r *authonly.Runner, p *strategies.Plan, f runFlags) error {
	res, err := r.Execute(ctx, p, strategies.RunOptions{
		DryRun: f.dryRun, Resume: f.resume, OnlyFailed: f.onlyFailed,
		Progress: strategies.ProgressPrinter(a.stderr, 3*time.Second),
	})
	if err != nil {
		return err
	}
	if f.json {
		if err := writeJSON(a.stdout, authonlyOutput{Report: res.Report, WriteBack: res.WriteBack}); err != nil {
			return err
		}
		return reportExit(res.Report)
	}
	if err := printReport(a.stdout, res.Report, false); err != nil {
		return err
	}
	io.WriteString(a.stdout, res.WriteBack.Summary())
	return reportExit(res.Report)
}
