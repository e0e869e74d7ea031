package bulk

import (
	"bufio"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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
	// Two passes instead of a map of lines: 4 bytes per row keeps a million-row report
	// in a few megabytes.
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
	// Lines carry reasons and warnings, which can be long; 1 MiB bounds a damaged log.
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

// FileWithoutPassword lists the users a run imported with no password hash: they sign
// in with a one-time code or reset their password.
const FileWithoutPassword = "without_password.csv"

// BuildReport reads a run directory's outcome log and writes failures.csv,
// failures.json and without_password.csv; it returns the counts, which reconcile by
// construction (one final outcome per input row).
func BuildReport(dir string, withEmails bool) (*strategies.Report, error) {
	rep := &strategies.Report{Strategy: strategies.StrategyBulk, RunDir: dir, Reasons: map[string]int64{}, Warnings: map[string]int64{},
		Files: map[string]string{
			"outcomes":         filepath.Join(dir, FileOutcomes),
			"failures_csv":     filepath.Join(dir, FileFailuresCSV),
			"failures_json":    filepath.Join(dir, FileFailuresJSON),
			"without_password": filepath.Join(dir, FileWithoutPassword),
			"summary_md":       filepath.Join(dir, FileSummary),
			"report_json":      filepath.Join(dir, FileReport),
		}}
	w, err := newReportWriter(rep, withEmails)
	if err != nil {
		return nil, err
	}
	defer w.close()
	if err := EachFinal(dir, func(l *Line) error {
		if err := count(rep, l); err != nil {
			return err
		}
		return w.write(l)
	}); err != nil {
		return nil, err
	}
	if err := w.finish(); err != nil {
		return nil, err
	}
	if len(rep.Reasons) == 0 {
		rep.Reasons = nil
	}
	if len(rep.Warnings) == 0 {
		rep.Warnings = nil
	}
	return rep, nil
}

// count adds one final outcome line to the report's counts.
func count(rep *strategies.Report, l *Line) error {
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
		if l.Uncertain {
			rep.Uncertain++
		}
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
	for _, w := range l.Warnings {
		rep.Warnings[reasonKey(w)]++ // "field: code: message" -> field
	}
	return nil
}

// reportWriter writes the files BuildReport produces, one line at a time.
type reportWriter struct {
	withEmails bool
	fc, fj, fw *os.File
	cw, ww     *csv.Writer
	jw         *bufio.Writer
	nFail      int
	jbuf       []byte
}

func newReportWriter(rep *strategies.Report, withEmails bool) (*reportWriter, error) {
	w := &reportWriter{withEmails: withEmails}
	var err error
	open := func(name string) *os.File {
		if err != nil {
			return nil
		}
		var f *os.File
		f, err = os.OpenFile(rep.Files[name], os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		return f
	}
	w.fc, w.fj, w.fw = open("failures_csv"), open("failures_json"), open("without_password")
	if err != nil {
		w.close()
		return nil, fmt.Errorf("write failures: %w", err)
	}
	w.cw, w.ww, w.jw = csv.NewWriter(w.fc), csv.NewWriter(w.fw), bufio.NewWriter(w.fj)
	w.cw.Write(w.record("row", "line", "legacy_id", "email", "outcome", "reason"))
	w.ww.Write(w.record("row", "line", "legacy_id", "email", "user_id", "reason"))
	w.jw.WriteString("[")
	return w, nil
}

// record builds a CSV record, with the email column only when emails may be written,
// and every cell neutralised against CSV injection.
func (w *reportWriter) record(row, line, legacyID, email, a, b string) []string {
	rec := []string{row, line, legacyID, email, a, b}
	if !w.withEmails {
		rec = slices.Delete(rec, 3, 4)
	}
	for i := range rec {
		rec[i] = csvCell(rec[i])
	}
	return rec
}

// csvCell neutralises a cell a spreadsheet would run as a formula (OWASP's advice for
// CSV injection): a leading =, +, -, @, tab or carriage return gets a ' in front, so
// "=cmd|' /C calc'!A0" in a legacy id or a reason is shown, not executed.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// write adds one final line to the files it belongs in.
func (w *reportWriter) write(l *Line) error {
	line := ""
	if l.Line > 0 {
		line = strconv.Itoa(l.Line)
	}
	if l.Outcome == strategies.OutcomeInserted && l.WithoutPassword {
		w.ww.Write(w.record(strconv.Itoa(l.Row), line, l.LegacyID, l.Email, l.UserID, l.Reason))
	}
	if l.Outcome != strategies.OutcomeFailed && l.Outcome != strategies.OutcomeInvalid {
		return nil
	}
	w.cw.Write(w.record(strconv.Itoa(l.Row), line, l.LegacyID, l.Email, string(l.Outcome), l.Reason))
	if w.nFail > 0 {
		w.jw.WriteString(",")
	}
	w.nFail++
	w.jw.WriteString("\n  ")
	w.jbuf = appendLine(w.jbuf[:0], l)
	w.jw.Write(w.jbuf[:len(w.jbuf)-1])
	return nil
}

// finish closes the JSON array and flushes and syncs every file.
func (w *reportWriter) finish() error {
	if w.nFail > 0 {
		w.jw.WriteString("\n")
	}
	w.jw.WriteString("]\n")
	w.cw.Flush()
	w.ww.Flush()
	if err := errors.Join(w.cw.Error(), w.ww.Error(), w.jw.Flush(), w.fc.Sync(), w.fj.Sync(), w.fw.Sync()); err != nil {
		return fmt.Errorf("write failures: %w", err)
	}
	return nil
}

func (w *reportWriter) close() {
	for _, f := range []*os.File{w.fc, w.fj, w.fw} {
		if f != nil {
			f.Close()
		}
	}
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
		out = append(out, fmt.Sprintf("%d users were imported without a password (see %s with each one's reason): they must reset it or sign in with a one-time code; where their hash format was the cause, the lazy strategy would keep their passwords",
			rep.WithoutPassword, filepath.Join(dir, FileWithoutPassword)))
	}
	if rep.Uncertain > 0 {
		out = append(out, fmt.Sprintf("%d users were found at the target after an import answer was lost, with nothing to prove this run created them (outcomes marked uncertain in %s): undo leaves them; check them by hand",
			rep.Uncertain, filepath.Join(dir, FileOutcomes)))
	}
	for _, k := range slices.Sorted(maps.Keys(rep.Warnings)) {
		out = append(out, fmt.Sprintf("%d users moved without their %s, its value being invalid (warnings in %s); fix the source and re-run with bulk.upsert, or set mapping.strict_profile: true to reject such rows",
			rep.Warnings[k], k, filepath.Join(dir, FileOutcomes)))
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
	if len(rep.Warnings) > 0 {
		b.WriteString("\n| dropped optional field | users |\n|---|---:|\n")
		for _, k := range reasonsByCount(rep.Warnings) {
			fmt.Fprintf(&b, "| %s | %d |\n", k, rep.Warnings[k])
		}
	}
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

// Uncertain returns the final outcome lines a run recorded uncertain: users found at the
// target after a lost answer that this run may or may not have created. Undo leaves
// them; `cutover undo` lists them.
func Uncertain(dir string) ([]Line, error) {
	var out []Line
	err := EachFinal(dir, func(l *Line) error {
		if l.Uncertain {
			out = append(out, *l)
		}
		return nil
	})
	return out, err
}

// WriteUncertain lists to w the users undo leaves because nothing proves the run in
// dir created them (an answer was lost, and the user may have signed up meanwhile).
func WriteUncertain(w io.Writer, dir string) error {
	left, err := Uncertain(dir)
	if err != nil || len(left) == 0 {
		return err
	}
	fmt.Fprintf(w, "left %d users whose creation by this run cannot be proven (an answer from the target was lost); check them in the IdP and delete the ones this run made:\n", len(left))
	for _, l := range left {
		fmt.Fprintf(w, "  row %d  legacy_id %s  user_id %s\n", l.Row, cmp.Or(l.LegacyID, "-"), cmp.Or(l.UserID, "-"))
	}
	return nil
}

// Undo deletes the users a run inserted (its final "inserted" outcomes; updated and
// skipped users existed before and are left alone, as are uncertain ones, which Uncertain
// lists). It needs a target that can delete.
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
	// In chunks: a real target limits a request's size, and progress can be shown.
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

// appendLineTail writes the fields of l added for issue 12 (password, warnings, legacy
// email, uncertain) and closes the line; appendLine calls it.
func appendLineTail(dst []byte, l *Line) []byte {
	if l.Password != "" {
		dst = append(dst, `,"password":`...)
		dst = idp.AppendJSONString(dst, l.Password)
	}
	if len(l.Warnings) > 0 {
		dst = append(dst, `,"warnings":[`...)
		for i, w := range l.Warnings {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = idp.AppendJSONString(dst, w)
		}
		dst = append(dst, ']')
	}
	if l.LegacyEmail != "" {
		dst = append(dst, `,"legacy_email":`...)
		dst = idp.AppendJSONString(dst, l.LegacyEmail)
	}
	if l.Uncertain {
		dst = append(dst, `,"uncertain":true`...)
	}
	return append(dst, '}', '\n')
}
