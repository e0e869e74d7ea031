package wizard

import (
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/progress"
	"github.com/charmbracelet/bubbles/table"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"github.com/cutover/cutover/strategies"
)

// styles are the wizard's colours; with NO_COLOR they keep only bold and faint.
type styles struct {
	noColor bool
	title   lipgloss.Style
	header  lipgloss.Style
	ok      lipgloss.Style
	warn    lipgloss.Style
	bad     lipgloss.Style
	faint   lipgloss.Style
	box     lipgloss.Style
}

// newStyles is stylesFor on a renderer of its own that draws nowhere (so no colour
// unless asked for); tests use it.
func newStyles(noColor bool) styles {
	return stylesFor(lipgloss.NewRenderer(io.Discard), noColor)
}

// stylesFor makes the wizard's styles on r, the renderer of the wizard's own output:
// the wizard never styles through lipgloss's global renderer, which sizes colours for
// stdout while the wizard draws on stderr.
func stylesFor(r *lipgloss.Renderer, noColor bool) styles {
	s := styles{
		noColor: noColor,
		title:   r.NewStyle().Bold(true),
		header:  r.NewStyle().Bold(true),
		ok:      r.NewStyle(),
		warn:    r.NewStyle(),
		bad:     r.NewStyle(),
		faint:   r.NewStyle().Faint(true),
		box:     r.NewStyle().Border(lipgloss.RoundedBorder()).Padding(0, 1),
	}
	if !noColor {
		s.title = s.title.Foreground(lipgloss.AdaptiveColor{Light: "#5A3FC0", Dark: "#B7A6FF"})
		s.ok = s.ok.Foreground(lipgloss.AdaptiveColor{Light: "#1E7B34", Dark: "#5FD87A"})
		s.warn = s.warn.Foreground(lipgloss.AdaptiveColor{Light: "#9A6700", Dark: "#F2C14E"})
		s.bad = s.bad.Foreground(lipgloss.AdaptiveColor{Light: "#B42318", Dark: "#FF7A6E"})
		s.box = s.box.BorderForeground(lipgloss.AdaptiveColor{Light: "#5A3FC0", Dark: "#7D6BD6"})
	}
	return s
}

// previewView renders the preview step: the first mapped rows as a table, the
// validation summary by reason, the password-format histogram and the recommendation.
// The summary below the table is laid out first and the table gets the rows left over,
// so the whole screen fits the terminal (80x24 included).
func previewView(st styles, r *PreviewResult, width, height int) string {
	bottom := previewSummary(st, r, width, height)
	tbl := previewTable(st, r, width, max(3, height-lipgloss.Height(bottom)-1))
	return tbl.View() + "\n\n" + bottom
}

// previewSummary is what the preview shows under the table. On short screens the
// reasons go on one line and examples are left out; the recommendation is given whole
// (the table shrinks to three rows for it) unless even that does not fit, when it is
// cut to the lines left, saying where the rest is.
func previewSummary(st styles, r *PreviewResult, width, height int) string {
	roomy := height >= 34
	var b strings.Builder
	b.WriteString(validationSummary(st, r, width, roomy))
	b.WriteString(formatHistogram(st, r, width))
	// Who keeps their password at the plan's target (and, with room, at the others;
	// all of them in 'cutover plan check').
	for i, l := range r.Lockouts {
		if i > 0 && !roomy {
			break
		}
		b.WriteString(st.header.Render("Lockouts: ") + truncate(l, max(20, width-11)) + "\n")
	}

	if r.Recommendation != "" {
		const head = "Recommendation:"
		lines := strings.Split(wrap(head+" "+r.Recommendation, max(20, width-2)), "\n")
		// The header (2), the table at its smallest (its header and two rows, 4), the
		// blank line under it and the key help (2) take 9 lines.
		keep := max(2, height-9-lipgloss.Height(strings.TrimRight(b.String(), "\n")))
		if height > 0 && len(lines) > keep {
			lines = lines[:keep]
			lines[keep-1] = truncate(lines[keep-1]+" …", max(20, width-2))
		}
		lines[0] = st.header.Render(head) + strings.TrimPrefix(lines[0], head)
		b.WriteString(strings.Join(lines, "\n") + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// previewDroppable are the preview columns left out, in this order, when the screen is
// too narrow for all of them (about 11 cells a column).
func previewDroppable() []string {
	return []string{"disabled", "phone_number", "preferred_username", "legacy_id", "name"}
}

func previewTable(st styles, r *PreviewResult, width, height int) table.Model {
	if width > 0 && len(r.Columns)*11 > width {
		nr := *r
		for _, d := range previewDroppable() {
			if len(nr.Columns)*11 <= width {
				break
			}
			i := slices.Index(nr.Columns, d)
			if i < 0 {
				continue
			}
			nr.Columns = slices.Delete(slices.Clone(nr.Columns), i, i+1)
			rows := make([][]string, len(nr.Rows))
			for j, row := range nr.Rows {
				if i < len(row) {
					row = slices.Delete(slices.Clone(row), i, i+1)
				}
				rows[j] = row
			}
			nr.Rows = rows
		}
		r = &nr
	}
	widths := make([]int, len(r.Columns))
	for i, c := range r.Columns {
		widths[i] = lipgloss.Width(c)
		for _, row := range r.Rows {
			if i < len(row) {
				widths[i] = max(widths[i], lipgloss.Width(row[i]))
			}
		}
		widths[i] = min(widths[i], 28)
	}
	if len(widths) > 0 {
		widths[0] += 2 // room for the cursor mark, markCursor
	}
	// Shrink the widest columns until the table fits (2 cells of padding per column).
	for total(widths)+2*len(widths) > width && width > 0 {
		i := slices.Index(widths, slices.Max(widths))
		if widths[i] <= 6 {
			break
		}
		widths[i]--
	}
	cols := make([]table.Column, len(r.Columns))
	for i, c := range r.Columns {
		cols[i] = table.Column{Title: c, Width: widths[i]}
	}
	rows := make([]table.Row, len(r.Rows))
	for i, row := range r.Rows {
		cells := make(table.Row, len(cols))
		for j := range cols {
			if j < len(row) {
				cells[j] = truncate(row[j], widths[j])
			}
		}
		rows[i] = cells
	}
	ts := table.DefaultStyles()
	ts.Header = ts.Header.Bold(true).BorderStyle(lipgloss.NormalBorder()).BorderBottom(true)
	ts.Selected = lipgloss.NewStyle()
	if st.noColor {
		ts.Header = ts.Header.UnsetForeground().UnsetBorderForeground()
	}
	t := table.New(table.WithColumns(cols), table.WithRows(rows), table.WithHeight(min(height, len(rows)+1)), table.WithStyles(ts))
	markCursor(&t)
	return t
}

// markCursor puts "> " before the first cell of the row under the cursor: the table's
// highlight is a colour, invisible under NO_COLOR.
func markCursor(t *table.Model) {
	rows := t.Rows()
	for i, row := range rows {
		if len(row) == 0 {
			continue
		}
		c := strings.TrimPrefix(strings.TrimPrefix(row[0], "> "), "  ")
		if i == t.Cursor() {
			c = "> " + c
		} else {
			c = "  " + c
		}
		row[0] = c
	}
	t.SetRows(rows)
}

func total(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

// truncate shortens s to w cells with an ellipsis.
func truncate(s string, w int) string {
	if w < 2 {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

func validationSummary(st styles, r *PreviewResult, width int, roomy bool) string {
	var b strings.Builder
	bad := 0
	for _, n := range r.Invalid {
		bad += n
	}
	read := ""
	if r.Total > 0 {
		read = fmt.Sprintf(" of %s rows read", strategies.GroupDigits(r.Total))
	}
	if bad == 0 {
		b.WriteString(st.ok.Render("Validation: every row is valid") + read + "\n")
		return b.String()
	}
	b.WriteString(st.warn.Render(fmt.Sprintf("Validation: %s invalid row(s)", strategies.GroupDigits(int64(bad)))) + read + "\n")
	if !roomy {
		parts := make([]string, 0, len(r.Invalid))
		for _, k := range sortedKeys(r.Invalid) {
			parts = append(parts, fmt.Sprintf("%s %s", k, strategies.GroupDigits(int64(r.Invalid[k]))))
		}
		b.WriteString("  " + wrap(strings.Join(parts, " · "), max(20, width-4)) + "\n")
		return b.String()
	}
	for _, k := range sortedKeys(r.Invalid) {
		fmt.Fprintf(&b, "  %-22s %s\n", k, strategies.GroupDigits(int64(r.Invalid[k])))
	}
	for i, e := range r.Examples {
		if i == 3 {
			break
		}
		fmt.Fprintf(&b, "  %s\n", st.faint.Render(truncate(fmt.Sprintf("e.g. row %d: %s: %s", e.Row, e.Reason, e.Detail), max(20, width-4))))
	}
	return b.String()
}

func formatHistogram(st styles, r *PreviewResult, width int) string {
	if len(r.Formats) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(st.header.Render("Password formats") + "\n")
	most := 0
	for _, f := range r.Formats {
		most = max(most, f.Count)
	}
	barMax := max(5, min(30, width-60))
	for _, f := range r.Formats {
		n := 1
		if most > 0 {
			n = max(1, f.Count*barMax/most)
		}
		mark := st.ok.Render("importable")
		if !f.Importable {
			mark = st.bad.Render("not importable")
		}
		fmt.Fprintf(&b, "  %-22s %-*s %7s  %s\n", f.Format, barMax, strings.Repeat("█", n), strategies.GroupDigits(int64(f.Count)), mark)
	}
	return b.String()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// runView renders a running cutover: the phases already done, one line each, then the
// current phase with what it does, a progress bar with rate and ETA, live counts and the
// last few errors. A lazy rehearsal shows its phases this way: the bridge up, sign-ins
// migrating one by one, then the sweep.
func runView(st styles, strategy string, p strategies.Progress, past []string, width int, stopping, resumable bool) string {
	var b strings.Builder
	phase := p.Phase
	if phase == "" {
		phase = "starting"
	}
	what := "Running "
	if !resumable {
		what = "Rehearsing "
	}
	fmt.Fprintf(&b, "%s %s\n\n", st.title.Render(what+strategy), st.faint.Render("· "+phase))
	for _, l := range past {
		b.WriteString(truncate("  ✓ "+l, max(20, width-2)) + "\n")
	}
	if p.Note != "" {
		b.WriteString(st.faint.Render(wrap(p.Note, max(20, width-2))) + "\n")
	}
	if len(past) > 0 || p.Note != "" {
		b.WriteString("\n")
	}
	bar := progress.New(progress.WithWidth(max(10, min(60, width-4))), progress.WithoutPercentage())
	if st.noColor {
		bar = progress.New(progress.WithWidth(max(10, min(60, width-4))), progress.WithoutPercentage(),
			progress.WithColorProfile(termenv.Ascii), progress.WithFillCharacters('#', '.'))
	}
	pct := 0.0
	if p.Total > 0 {
		pct = min(1, float64(p.Done)/float64(p.Total))
	}
	b.WriteString(bar.ViewAs(pct) + "\n")
	b.WriteString(progressLine(p) + "\n\n")
	if len(p.Counts) > 0 || p.Unit == "" {
		b.WriteString(countsLine(st, p.Counts, p.Retries) + "\n")
	}
	if len(p.LastErrors) > 0 {
		b.WriteString("\n" + st.header.Render("Last errors") + "\n")
		start := max(0, len(p.LastErrors)-5)
		for _, e := range p.LastErrors[start:] {
			b.WriteString("  " + st.bad.Render(truncate(e, max(20, width-4))) + "\n")
		}
	}
	b.WriteString("\n")
	switch {
	case stopping && resumable:
		b.WriteString(st.warn.Render("Stopping… the run stays resumable.") + "\n")
	case stopping:
		b.WriteString(st.warn.Render("Stopping… nothing of the rehearsal is kept.") + "\n")
	case resumable:
		b.WriteString(st.faint.Render("Ctrl+C stops the run (it can be resumed).") + "\n")
	default:
		b.WriteString(st.faint.Render("Ctrl+C stops the rehearsal (nothing is kept; it can be run again).") + "\n")
	}
	return b.String()
}

// progressLine is "12 / 52 sign-ins (23%) · 9 sign-ins/s · ETA 4s".
func progressLine(p strategies.Progress) string {
	unit := cmpOr(p.Unit, "rows")
	totalText := "?"
	if p.Total >= 0 {
		totalText = strategies.GroupDigits(p.Total)
	}
	line := fmt.Sprintf("%s / %s %s", strategies.GroupDigits(p.Done), totalText, unit)
	if p.Total > 0 {
		line += fmt.Sprintf(" (%.0f%%)", min(1, float64(p.Done)/float64(p.Total))*100)
	}
	if p.Rate > 0 {
		line += fmt.Sprintf(" · %s %s/s", strategies.GroupDigits(int64(p.Rate+0.5)), unit)
	}
	if p.ETA > 0 {
		line += " · ETA " + p.ETA.Round(time.Second).String()
	}
	return line
}

// phaseDone is a finished phase in one line, for the run screen's list of past phases.
func phaseDone(p strategies.Progress) string {
	line := p.Phase
	if p.Done == 0 && p.Note != "" {
		return line + ": " + p.Note // a step with nothing to count, e.g. a service started
	}
	if p.Total > 0 || p.Done > 0 {
		line += ": " + strings.TrimSuffix(progressLine(strategies.Progress{Done: p.Done, Total: p.Total, Unit: p.Unit}), " (100%)")
	}
	if c := countsText(p.Counts); c != "" && p.Unit != "" {
		line += " · " + c
	}
	return line
}

// countsText lists counts that are not row outcomes (a lazy rehearsal's "migrated 12 ·
// refused 0"), in name order.
func countsText(c map[strategies.Outcome]int64) string {
	var parts []string
	for _, k := range sortedOutcomes(c) {
		parts = append(parts, fmt.Sprintf("%s %s", k, strategies.GroupDigits(c[k])))
	}
	return strings.Join(parts, " · ")
}

func sortedOutcomes(c map[strategies.Outcome]int64) []strategies.Outcome {
	keys := make([]strategies.Outcome, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func countsLine(st styles, c map[strategies.Outcome]int64, retries int64) string {
	part := func(s lipgloss.Style, o strategies.Outcome) string {
		return s.Render(fmt.Sprintf("%s %s", o, strategies.GroupDigits(c[o])))
	}
	rowOutcomes := []strategies.Outcome{strategies.OutcomeInserted, strategies.OutcomeUpdated, strategies.OutcomeSkipped, strategies.OutcomeFailed, strategies.OutcomeInvalid}
	line := ""
	if len(c) > 0 && !slices.ContainsFunc(sortedOutcomes(c), func(o strategies.Outcome) bool { return slices.Contains(rowOutcomes, o) }) {
		line = countsText(c) // not rows: e.g. sign-ins migrated and refused
	} else {
		line = strings.Join([]string{
			part(st.ok, strategies.OutcomeInserted),
			part(st.ok, strategies.OutcomeUpdated),
			part(st.warn, strategies.OutcomeSkipped),
			part(st.bad, strategies.OutcomeFailed),
			part(st.bad, strategies.OutcomeInvalid),
		}, "  ")
	}
	if retries > 0 {
		line += "  " + st.faint.Render(fmt.Sprintf("retries %s", strategies.GroupDigits(retries)))
	}
	return line
}

// confirmStopView asks whether to stop a run after Ctrl+C. A rehearsal (lazy against the
// in-process mock) keeps nothing, so it is run again rather than resumed.
func confirmStopView(st styles, planFile string, resumable bool) string {
	plan := cmpOr(planFile, "FILE")
	if !resumable {
		return st.box.Render(st.warn.Render("Stop the rehearsal?") + "\n" +
			"Nothing of it is kept; rehearse again with\n  cutover rehearse --plan " + plan + "\n\n" +
			"y: stop   n / Esc: keep running")
	}
	return st.box.Render(st.warn.Render("Stop the run?") + "\n" +
		"What is done stays done; continue later with\n  cutover run --plan " + plan + " --resume\n\n" +
		"y: stop   n / Esc: keep running")
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// outcome is what the report screen shows: the run's report or error, and what the
// next steps need to know.
type outcome struct {
	report    *strategies.Report
	err       error
	planFile  string   // where the plan was saved
	notes     []string // what to export before replaying the plan
	rehearsal bool     // a lazy plan rehearsed in memory against the in-process mock IdP
	secretVar string   // the variable the lazy plan's secret refers to
	mockDir   string   // where the in-process mock IdP keeps its users; "" for another target
}

// reasonExists is in the reasons for rows skipped because the user is already at the
// target: the bulk runner's "exists at the target", the IdP's "...and user exists".
const reasonExists = "exists"

// reportView renders the end of a run: reconciled counts, where the details are and
// what to do next. Below 34 lines of height the counts go on one line and the files
// are named once under the run directory; nothing is cut (the TUI scrolls it, and
// prints it again on the terminal when it closes). height 0 is a tall screen.
func reportView(st styles, o outcome, width, height int) string {
	var b strings.Builder
	r, runErr := o.report, o.err
	compact := height > 0 && height < 34
	lazyService := r != nil && r.Strategy == strategies.StrategyLazy && !o.rehearsal && r.Rows == 0 && r.RunDir == "" && runErr == nil
	switch {
	case runErr != nil && strategies.CodeOf(runErr) == strategies.CodeCancelled && o.rehearsal:
		b.WriteString(st.warn.Render("Stopped: nothing of the rehearsal was kept") + "\n\n")
	case runErr != nil && strategies.CodeOf(runErr) == strategies.CodeCancelled:
		b.WriteString(st.warn.Render("Stopped: the run can be resumed") + "\n\n")
	case runErr != nil:
		b.WriteString(st.bad.Render("The run failed") + "\n" + wrap(runErr.Error(), width) + "\n\n")
	case lazyService:
		b.WriteString(st.ok.Render("Plan saved: a lazy migration runs as a service, not in one go") + "\n\n")
	case o.rehearsal:
		b.WriteString(st.ok.Render("Rehearsed: the bridge, sign-ins migrating one by one, then the sweep") + "\n\n")
	case r != nil && r.Failed > 0:
		b.WriteString(st.warn.Render(fmt.Sprintf("Done with failures: %s", r.Strategy)) + "\n\n")
	default:
		b.WriteString(st.ok.Render("Done") + "\n\n")
	}
	if r != nil && !lazyService {
		b.WriteString(countsView(st, r, width, compact))
	}
	b.WriteString("\n" + st.header.Render("Next steps") + "\n")
	for _, s := range nextSteps(o) {
		b.WriteString(stepView(s, width))
	}
	for _, n := range o.notes { // prose about the plan, not commands
		b.WriteString("  - " + wrap(n, max(20, width-4)) + "\n")
	}
	return b.String()
}

// existing counts the rows skipped because the user was already at the target.
func existing(r *strategies.Report) int64 {
	var n int64
	for k, v := range r.Reasons {
		if strings.Contains(k, reasonExists) {
			n += v
		}
	}
	return n
}

// stepView renders one next step; a command in it ("what: cutover ...") goes on a line
// of its own, never wrapped, so that it can be copied and pasted whole.
func stepView(s string, width int) string {
	what, cmd := s, ""
	for _, lead := range []string{": cutover ", ": export ", ": rm "} {
		if i := strings.Index(s, lead); i >= 0 {
			what, cmd = s[:i+1], s[i+2:]
			break
		}
	}
	out := "  - " + wrap(what, max(20, width-4)) + "\n"
	if cmd != "" {
		out += "      " + cmd + "\n"
	}
	return out
}

// countsView is the report's counts, reasons and files.
func countsView(st styles, r *strategies.Report, width int, compact bool) string {
	var b strings.Builder
	if r.DryRun {
		b.WriteString(st.faint.Render("dry run: nothing was written") + "\n")
	}
	rows := []struct {
		name string
		n    int64
	}{{"inserted", r.Inserted}, {"updated", r.Updated}, {"skipped", r.Skipped}, {"failed", r.Failed}, {"invalid", r.Invalid}}
	reconciled := st.ok.Render("reconciled: every row is accounted for")
	if !r.Reconciles() {
		sum := r.Inserted + r.Updated + r.Skipped + r.Failed + r.Invalid
		reconciled = st.bad.Render(fmt.Sprintf("NOT reconciled: %s rows have no outcome", strategies.GroupDigits(r.Rows-sum)))
	}
	if compact {
		parts := make([]string, len(rows))
		for i, x := range rows {
			parts[i] = x.name + " " + strategies.GroupDigits(x.n)
		}
		b.WriteString("  " + strings.Join(parts, " · ") + "\n")
		line := fmt.Sprintf("  = %s rows  ", strategies.GroupDigits(r.Rows)) + reconciled
		if r.Duration > 0 {
			line += st.faint.Render(" · took " + r.Duration.Round(time.Millisecond).String())
		}
		b.WriteString(line + "\n")
		if len(r.Reasons) > 0 {
			parts = parts[:0]
			for _, k := range sortedKeys(r.Reasons) {
				parts = append(parts, fmt.Sprintf("%s %s", k, strategies.GroupDigits(r.Reasons[k])))
			}
			b.WriteString("  " + wrap("by reason: "+strings.Join(parts, " · "), max(20, width-4)) + "\n")
		}
	} else {
		for _, x := range rows {
			fmt.Fprintf(&b, "  %-10s %10s\n", x.name, strategies.GroupDigits(x.n))
		}
		fmt.Fprintf(&b, "  %-10s %10s\n", "", "----------")
		fmt.Fprintf(&b, "  %-10s %10s  %s\n", "rows", strategies.GroupDigits(r.Rows), reconciled)
		if r.Retries > 0 {
			fmt.Fprintf(&b, "  %-10s %10s\n", "retries", strategies.GroupDigits(r.Retries))
		}
		if r.Duration > 0 {
			fmt.Fprintf(&b, "  %-10s %10s\n", "took", r.Duration.Round(time.Millisecond))
		}
		if len(r.Reasons) > 0 {
			b.WriteString("\n" + st.header.Render("By reason") + "\n")
			for _, k := range sortedKeys(r.Reasons) {
				fmt.Fprintf(&b, "  %-24s %s\n", k, strategies.GroupDigits(r.Reasons[k]))
			}
		}
	}
	if len(r.Files) > 0 || r.RunDir != "" {
		b.WriteString("\n" + st.header.Render("Details") + "\n")
		if compact && r.RunDir != "" {
			names := make([]string, 0, len(r.Files))
			for _, k := range sortedKeys(r.Files) {
				names = append(names, filepath.Base(r.Files[k]))
			}
			b.WriteString("  " + wrap(r.RunDir+string(filepath.Separator), max(20, width-4)) + "\n")
			if len(names) > 0 {
				b.WriteString("  " + wrap(strings.Join(names, " · "), max(20, width-4)) + "\n")
			}
		} else {
			if r.RunDir != "" {
				fmt.Fprintf(&b, "  %-14s %s\n", "run directory", r.RunDir)
			}
			for _, k := range sortedKeys(r.Files) {
				fmt.Fprintf(&b, "  %-14s %s\n", k, r.Files[k])
			}
		}
	}
	return b.String()
}

// nextSteps are the report's own, or the usual ones for the strategy. Every command
// in them works when pasted into a shell in the plan's directory.
func nextSteps(o outcome) []string {
	r, plan := o.report, cmpOr(o.planFile, "FILE")
	cancelled := o.err != nil && strategies.CodeOf(o.err) == strategies.CodeCancelled
	switch {
	case cancelled && o.rehearsal:
		return []string{"rehearse again: cutover rehearse --plan " + plan}
	case cancelled:
		return []string{"resume: cutover run --plan " + plan + " --resume"}
	case r == nil:
		return []string{"fix the error above, then: cutover run --plan " + plan}
	}
	// The run's own steps (invalid rows, users without passwords...) come first, then
	// the strategy's usual ones.
	var out []string
	if n := existing(r); n > 0 && o.mockDir != "" {
		// The in-process mock keeps its users between runs: a second walk skips them all.
		out = append(out, fmt.Sprintf("%s users were skipped because the mock IdP already had them from an earlier run (it keeps its users in %s); to start it empty: rm -r %[2]s", strategies.GroupDigits(n), o.mockDir))
	}
	out = append(out, r.NextSteps...)
	if r.Failed > 0 && !o.rehearsal {
		out = append(out, "retry the failed rows: cutover run --plan "+plan+" --only-failed "+cmpOr(r.RunDir, "RUN_DIR"))
	}
	switch r.Strategy {
	case strategies.StrategyLazy:
		if o.rehearsal {
			out = append(out, "rehearse again from the shell: cutover rehearse --plan "+plan)
		}
		out = append(out,
			"for real, start the bridge the IdP's lazy-migration hook calls (it runs until Ctrl+C): export "+cmpOr(o.secretVar, bridgeSecretVar)+"=$(openssl rand -hex 32); cutover bridge --plan "+plan,
			"watch who has moved: cutover status --plan "+plan)
		if o.rehearsal {
			out = append(out, "weeks later, sweep whoever never signed in (rehearsed above): cutover sweep --plan "+plan)
		} else {
			out = append(out, "weeks later, sweep whoever never signed in: cutover sweep --plan "+plan)
		}
	case strategies.StrategyAuthOnly:
		out = append(out,
			"deploy the middleware that maps IdP sessions to local users (get-or-create, link by email)",
			"rehearse sign-ins: cutover rehearse --plan "+plan)
	default:
		rehearse := "rehearse sign-ins: cutover rehearse --plan " + plan
		if r.WithoutPassword > 0 {
			rehearse = fmt.Sprintf("rehearse sign-ins (it exits 3 when a known user cannot sign in, as the %s moved without a password cannot with their old one): cutover rehearse --plan %s",
				strategies.GroupDigits(r.WithoutPassword), plan)
		}
		out = append(out, rehearse,
			"replay in CI: cutover run --plan "+plan,
			"switch your app's sign-in to the IdP, then retire the legacy login")
	}
	return out
}

// wrap breaks s into lines of at most w cells at spaces, indenting continuation lines.
func wrap(s string, w int) string {
	if w <= 0 || ansi.StringWidth(s) <= w {
		return s
	}
	s = strings.Join(strings.Fields(s), " ")
	first, rest, ok := strings.Cut(ansi.Wordwrap(s, w, ""), "\n")
	if !ok {
		return first
	}
	// Continuation lines are indented by four cells, so they have four fewer.
	rest = ansi.Wordwrap(strings.ReplaceAll(rest, "\n", " "), max(1, w-4), "")
	return first + "\n    " + strings.ReplaceAll(rest, "\n", "\n    ")
}
