package bulk

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
)

// readJSON decodes a JSON file into v.
func readJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

// ReadRunInfo reads run.json from a run directory.
func ReadRunInfo(dir string) (*RunInfo, error) {
	var ri RunInfo
	if err := readJSON(filepath.Join(dir, FileRun), &ri); err != nil {
		return nil, fmt.Errorf("%s is not a run directory (no readable %s): %w", dir, FileRun, err)
	}
	return &ri, nil
}

// EachFinal calls fn with the final outcome line of every row in a run's outcome log
// (the last line for a row wins: --only-failed appends new outcomes for old rows), in
// log order. It reads the log twice and keeps 4 bytes per row.
func EachFinal(dir string, fn func(l *Line) error) error {
	path := filepath.Join(dir, FileOutcomes)
	var last []int32 // row -> index of its last line
	if err := eachLine(path, func(i int32, l *Line) error {
		for l.Row >= len(last) {
			last = append(last, make([]int32, max(len(last), 1024))...)
		}
		last[l.Row] = i
		return nil
	}); err != nil {
		return err
	}
	return eachLine(path, func(i int32, l *Line) error {
		if last[l.Row] != i {
			return nil
		}
		return fn(l)
	})
}

func eachLine(path string, fn func(i int32, l *Line) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read outcome log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	var i int32
	for sc.Scan() {
		i++
		var l Line
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil || l.Row <= 0 {
			return fmt.Errorf("%s:%d: not an outcome record; the outcome log is damaged", path, i)
		}
		if err := fn(i, &l); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read outcome log: %w", err)
	}
	return nil
}

// reasonKey groups reasons for the report: the code before the first colon.
func reasonKey(r string) string {
	k, _, _ := strings.Cut(r, ":")
	return strings.TrimSpace(k)
}

// BuildReport reads a run directory's outcome log and writes failures.csv and
// failures.json; it returns the counts, which reconcile by construction (one final
// outcome per input row).
func BuildReport(dir string, withEmails bool) (*strategies.Report, error) {
	rep := &strategies.Report{Strategy: strategies.StrategyBulk, RunDir: dir, Reasons: map[string]int64{},
		Files: map[string]string{
			"outcomes":      filepath.Join(dir, FileOutcomes),
			"failures_csv":  filepath.Join(dir, FileFailuresCSV),
			"failures_json": filepath.Join(dir, FileFailuresJSON),
			"summary_md":    filepath.Join(dir, FileSummary),
			"report_json":   filepath.Join(dir, FileReport),
		}}
	fc, err := os.OpenFile(rep.Files["failures_csv"], os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write failures: %w", err)
	}
	defer fc.Close()
	fj, err := os.OpenFile(rep.Files["failures_json"], os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write failures: %w", err)
	}
	defer fj.Close()
	cw := csv.NewWriter(fc)
	header := []string{"row", "line", "legacy_id", "outcome", "reason"}
	if withEmails {
		header = []string{"row", "line", "legacy_id", "email", "outcome", "reason"}
	}
	cw.Write(header)
	jw := bufio.NewWriter(fj)
	jw.WriteString("[")
	nFail := 0
	var jbuf []byte
	err = EachFinal(dir, func(l *Line) error {
		rep.Rows++
		switch l.Outcome {
		case strategies.OutcomeInserted:
			rep.Inserted++
			if l.WithoutPassword {
				rep.WithoutPassword++
			}
			if l.Rescued {
				rep.Rescued++
			}
		case strategies.OutcomeUpdated:
			rep.Updated++
		case strategies.OutcomeSkipped:
			rep.Skipped++
		case strategies.OutcomeFailed:
			rep.Failed++
		case strategies.OutcomeInvalid:
			rep.Invalid++
		default:
			return fmt.Errorf("row %d: unknown outcome %q in the outcome log", l.Row, l.Outcome)
		}
		if l.Outcome != strategies.OutcomeInserted && l.Outcome != strategies.OutcomeUpdated && l.Reason != "" {
			rep.Reasons[reasonKey(l.Reason)]++
		}
		if l.Outcome != strategies.OutcomeFailed && l.Outcome != strategies.OutcomeInvalid {
			return nil
		}
		line := ""
		if l.Line > 0 {
			line = strconv.Itoa(l.Line)
		}
		rec := []string{strconv.Itoa(l.Row), line, l.LegacyID, string(l.Outcome), l.Reason}
		if withEmails {
			rec = slices.Insert(rec, 3, l.Email)
		}
		cw.Write(rec)
		if nFail > 0 {
			jw.WriteString(",")
		}
		nFail++
		jw.WriteString("\n  ")
		jbuf = appendLine(jbuf[:0], l)
		jw.Write(jbuf[:len(jbuf)-1])
		return nil
	})
	if err != nil {
		return nil, err
	}
	if nFail > 0 {
		jw.WriteString("\n")
	}
	jw.WriteString("]\n")
	cw.Flush()
	if err := errors.Join(cw.Error(), jw.Flush(), fc.Sync(), fj.Sync()); err != nil {
		return nil, fmt.Errorf("write failures: %w", err)
	}
	if len(rep.Reasons) == 0 {
		rep.Reasons = nil
	}
	return rep, nil
}

// nextSteps says what to do about what the report shows.
func nextSteps(rep *strategies.Report, p *strategies.Plan, dir string) []string {
	var out []string
	plan := "PLAN"
	if p.File != "" {
		plan = p.File
	}
	if rep.Failed > 0 {
		out = append(out, fmt.Sprintf("%d rows failed (see %s); once the cause is fixed, retry just them: cutover run --plan %s --only-failed %s",
			rep.Failed, filepath.Join(dir, FileFailuresCSV), plan, dir))
	}
	if rep.Invalid > 0 {
		out = append(out, fmt.Sprintf("%d rows are invalid (see %s with row and reason); fix them in the source and run again", rep.Invalid, filepath.Join(dir, FileFailuresCSV)))
	}
	if rep.WithoutPassword > 0 {
		out = append(out, fmt.Sprintf("%d users were imported without a password (their hash format cannot be imported): they must reset it or sign in with a one-time code; the lazy strategy would keep their passwords", rep.WithoutPassword))
	}
	if rep.DryRun {
		out = append(out, "this was a dry run: nothing was written to the target; run again without --dry-run to import")
	}
	return out
}

// writeReportFiles writes report.json and summary.md.
func writeReportFiles(dir string, rep *strategies.Report) error {
	if err := writeJSONAtomic(filepath.Join(dir, FileReport), rep); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(dir, FileSummary), []byte(Summary(rep))); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

// Summary renders a report as Markdown, suitable for a CI step summary.
func Summary(rep *strategies.Report) string {
	var b strings.Builder
	title := "cutover bulk import"
	if rep.DryRun {
		title += " (dry run)"
	}
	fmt.Fprintf(&b, "## %s\n\n", title)
	fmt.Fprintf(&b, "| rows | inserted | updated | skipped | failed | invalid |\n|---:|---:|---:|---:|---:|---:|\n")
	fmt.Fprintf(&b, "| %d | %d | %d | %d | %d | %d |\n\n", rep.Rows, rep.Inserted, rep.Updated, rep.Skipped, rep.Failed, rep.Invalid)
	if rep.Reconciles() {
		b.WriteString("Every input row is accounted for.")
	} else {
		b.WriteString("**The counts do not reconcile**: some input rows have no outcome.")
	}
	fmt.Fprintf(&b, " Imported without password: %d. Retried requests: %d. Took %s.\n", rep.WithoutPassword, rep.Retries, rep.Duration.Round(1e7))
	if rep.Rescued > 0 {
		fmt.Fprintf(&b, "\n%d inserted users were expected at the target already (the bridge had verified them) but were missing: they are marked \"rescued\" in the outcomes.\n", rep.Rescued)
	}
	if len(rep.Reasons) > 0 {
		b.WriteString("\n| reason | rows |\n|---|---:|\n")
		for _, k := range reasonsByCount(rep.Reasons) {
			fmt.Fprintf(&b, "| %s | %d |\n", k, rep.Reasons[k])
		}
	}
	if len(rep.NextSteps) > 0 {
		b.WriteString("\n### Next steps\n\n")
		for _, s := range rep.NextSteps {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	if rep.RunDir != "" {
		fmt.Fprintf(&b, "\nRun records: `%s` (failures.csv, failures.json, outcomes.ndjson).\n", rep.RunDir)
	}
	return b.String()
}

// Undo deletes the users a run inserted (its final "inserted" outcomes; updated and
// skipped users existed before and are left alone). It needs a target that can delete.
// progress, when set, is told how many users have been asked for after each batch.
func Undo(ctx context.Context, dir string, d idp.Deleter, dryRun bool, progress func(done, total int)) (found, deleted int, err error) {
	var ids []string
	err = EachFinal(dir, func(l *Line) error {
		if l.Outcome == strategies.OutcomeInserted && l.UserID != "" {
			ids = append(ids, l.UserID)
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	if dryRun {
		return len(ids), 0, nil
	}
	done := 0
	for chunk := range slices.Chunk(ids, 1000) {
		n, err := d.DeleteUsers(ctx, chunk)
		deleted += n
		if err != nil {
			return len(ids), deleted, fmt.Errorf("undo %s: %w", dir, err)
		}
		if done += len(chunk); progress != nil {
			progress(done, len(ids))
		}
	}
	return len(ids), deleted, nil
}

// reasonsByCount orders reasons most rows first (then by name, so reports are stable).
func reasonsByCount(m map[string]int64) []string {
	keys := slices.Collect(maps.Keys(m))
	slices.SortFunc(keys, func(a, c string) int {
		if d := cmp.Compare(m[c], m[a]); d != 0 {
			return d
		}
		return strings.Compare(a, c)
	})
	return keys
}
