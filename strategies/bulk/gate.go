package bulk

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/preflight"
)

// gate runs the preflight every entry point shares (run, rehearse, the wizard and sweep
// all come through Run) before anything is written: a plan that names a column the source
// lacks, a password column with no hash, or a source with no valid row stops here with
// plan check's message, instead of importing everyone without a password or nobody.
func (r *Runner) gate(ctx context.Context, p *strategies.Plan) error {
	return preflight.Gate(ctx, p, preflight.Options{Log: r.Log})
}

// nothingImported turns a finished run in which no row reached the target (every row
// invalid or failed) into an error: that is a failure, not a partial success.
func nothingImported(rep *strategies.Report) error {
	if rep.Rows == 0 || rep.Inserted+rep.Updated+rep.Skipped > 0 {
		return nil
	}
	var top []string
	for _, k := range reasonsByCount(rep.Reasons) {
		if len(top) == 3 {
			break
		}
		top = append(top, fmt.Sprintf("%s %s", strategies.GroupDigits(rep.Reasons[k]), k))
	}
	what := "nothing could be imported"
	if rep.DryRun {
		what = "nothing would be imported"
	}
	return &strategies.Error{Code: strategies.CodeNothingToImport, File: rep.RunDir, Message: fmt.Sprintf(
		"%s: all %s rows are invalid or failed (%s); see %s, fix the plan or the source, and run again",
		what, strategies.GroupDigits(rep.Rows), strings.Join(top, ", "), filepath.Join(rep.RunDir, FileFailuresCSV))}
}
