package preflight

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/cutover/cutover/strategies"
)

// Summary is the readable preflight report, as `cutover plan check` prints it.
func Summary(r *Report) string {
	var b strings.Builder
	kv := func(k, v string) { fmt.Fprintf(&b, "%-16s %s\n", k, v) }
	if r.Plan != "" {
		kv("Plan", r.Plan)
	}
	kv("Source", r.Source)
	kv("Target accepts", r.Rules)
	kv("Identifier", r.Identifier)
	b.WriteString("\n")
	kv("Rows", strategies.GroupDigits(r.Rows))
	kv("Valid", strategies.GroupDigits(r.Valid))
	kv("Invalid", strategies.GroupDigits(r.InvalidRows))
	writeInvalid(&b, r)
	shared := " identifiers shared by more than one row (the first row wins)"
	if r.Duplicates == 1 {
		shared = " identifier shared by more than one row (the first row wins)"
	}
	kv("Duplicates", strategies.GroupDigits(r.Duplicates)+shared)
	writeFormats(&b, r)
	if len(r.Warnings) > 0 {
		b.WriteString("\nWarnings\n")
		for _, w := range r.Warnings {
			fmt.Fprintf(&b, "  - %s\n", w)
		}
	}
	writeLockouts(&b, r)
	writeRecommendation(&b, r)
	return b.String()
}

// writeInvalid lists the reasons rows were invalid, the commonest first, each with its
// examples located by row (and line and field where known) so the user can find them.
func writeInvalid(b *strings.Builder, r *Report) {
	for _, reason := range reasonsByCount(r.Invalid) {
		fmt.Fprintf(b, "  %-24s %s\n", reason, strategies.GroupDigits(r.Invalid[reason]))
		for _, e := range r.Examples[reason] {
			loc := "row " + strconv.Itoa(e.Row)
			if e.Line > 0 {
				loc += fmt.Sprintf(" (line %d)", e.Line)
			}
			if e.Field != "" {
				loc += " " + e.Field
			}
			fmt.Fprintf(b, "    %s: %s\n", loc, e.Message)
		}
		if n := r.Invalid[reason] - int64(len(r.Examples[reason])); n > 0 && len(r.Examples[reason]) > 0 {
			fmt.Fprintf(b, "    … and %s more\n", strategies.GroupDigits(n))
		}
	}
}

// writeFormats writes the password-format histogram, the commonest first and ties by
// name so the report reads the same every time, marking what the target refuses.
func writeFormats(b *strings.Builder, r *Report) {
	b.WriteString("\nPassword formats of the valid users\n")
	names := make([]string, 0, len(r.Formats))
	for f := range r.Formats {
		names = append(names, f)
	}
	sort.Slice(names, func(i, j int) bool {
		ci, cj := r.Formats[names[i]].Count, r.Formats[names[j]].Count
		return ci > cj || ci == cj && names[i] < names[j]
	})
	for _, f := range names {
		st := r.Formats[f]
		note := "importable"
		if !st.Importable {
			note = "NOT importable"
		}
		if st.Weak {
			note += ", weak"
		}
		fmt.Fprintf(b, "  %-24s %12s  %s\n", f, strategies.GroupDigits(st.Count), note)
	}
	fmt.Fprintf(b, "  %-24s %12s\n", "(no password)", strategies.GroupDigits(r.WithoutPassword))
}

// writeRecommendation ends the report with the advised strategy, its reason and whether
// the plan can run at all.
func writeRecommendation(b *strings.Builder, r *Report) {
	b.WriteString("\nRecommendation: ")
	switch rec := r.Recommendation; {
	case rec.Strategy == "":
		b.WriteString("none yet\n")
	case rec.UnsupportedHash != "":
		fmt.Fprintf(b, "%s with unsupported_hash: %s\n", rec.Strategy, rec.UnsupportedHash)
	case rec.Sweep:
		fmt.Fprintf(b, "%s, then sweep\n", rec.Strategy)
	default:
		fmt.Fprintf(b, "%s\n", rec.Strategy)
	}
	b.WriteString(wrapText(r.Recommendation.Reason, 80, "  "))
	if r.CanRun {
		fmt.Fprintf(b, "\nThe plan can run: %s valid users (checked in %.1fs).\n", strategies.GroupDigits(r.Valid), r.Seconds)
	} else {
		fmt.Fprintf(b, "\nThe plan cannot run: %s.\n", strings.Join(r.Blockers, "; "))
	}
}

// wrapText breaks text into indented lines of at most width cells.
func wrapText(text string, width int, indent string) string {
	text = strings.Join(strings.Fields(text), " ")
	if text == "" {
		return ""
	}
	lines := strings.Split(ansi.Wordwrap(text, width-len(indent), " "), "\n")
	return indent + strings.Join(lines, "\n"+indent) + "\n"
}
