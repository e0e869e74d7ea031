package main

import (
	"context"
	"fmt"
	"io"
	"strings"
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
func runAuthOnlyPlan(ctx context.Context, a *app, p *strategies.Plan, f runFlags) error {
	r := &authonly.Runner{OpenTarget: targetOpener(a), Log: a.log}
	res, err := r.Execute(ctx, p, strategies.RunOptions{
		DryRun: f.dryRun, Resume: f.resume, OnlyFailed: f.onlyFailed,
		Progress: progressPrinter(a.stderr, 3*time.Second),
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
	printWriteBack(a.stdout, &res.WriteBack)
	return reportExit(res.Report)
}

// printWriteBack prints the write-back: the DDL (run, or to run) and the counts.
func printWriteBack(w io.Writer, wb *authonly.WriteBack) {
	fmt.Fprintf(w, "\n### Write-back\n\n")
	if len(wb.DDL) > 0 {
		verb := "Ran"
		if wb.DryRun {
			verb = "Would run"
		}
		fmt.Fprintf(w, "%s:\n\n```sql\n%s;\n```\n\n", verb, strings.Join(wb.DDL, ";\n"))
	}
	switch {
	case wb.DryRun:
		fmt.Fprintf(w, "%d rows would get their IdP user id in %s.\n", wb.Rows, wb.Into)
	case wb.MappingFile != "":
		fmt.Fprintf(w, "%d legacy id -> IdP user id pairs written to %s.\n", wb.Rows, wb.MappingFile)
	default:
		fmt.Fprintf(w, "%d rows with an IdP id in %s: %d updated, %d already held it (%.0f rows/s).\n",
			wb.Rows, wb.Into, wb.Updated, wb.Unchanged, wb.Rate)
	}
}
