package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/mapping"
	"github.com/cutover/cutover/strategies/preflight"
)

func newPlanCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Check a plan and its source without writing anything",
		Long: `Work with plan files. A plan (YAML, version: 1) names the strategy, the legacy
source, the field mapping and the target; 'cutover wizard' writes one and
'cutover run --plan FILE' replays it.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newPlanCheckCmd(a))
	return cmd
}

type planCheckFlags struct {
	plan       string
	json       bool
	examples   int
	showValues bool
}

func newPlanCheckCmd(a *app) *cobra.Command {
	var f planCheckFlags
	cmd := &cobra.Command{
		Use:   "check [PLAN]",
		Short: "Validate a plan and read its whole source once (preflight report)",
		Long: `Validate a plan and read its whole source once, writing nothing anywhere.

It maps and validates every row as a cutover would, then prints: rows, valid rows,
invalid rows by reason (with the first rows of each: row number, line, field and
what to fix), identifiers shared by several rows, a histogram of password hash
formats with whether the target can import each (Authgear: bcrypt only), and a
recommended strategy. Progress goes to stderr every few seconds on big sources.

Invalid rows do not stop a plan: they are reported and left out. The plan cannot
run when the plan file is invalid (exit 2), the source cannot be read, or no row
is valid (exit 1).

Error messages leave out the offending values (emails, usernames, phone numbers)
unless --show-values is given, so the report can be pasted into a ticket.

Exit codes: 0 the plan can run, 1 it cannot, 2 bad flags or an invalid plan file,
130 interrupted.`,
		Example: `  cutover plan check plan.yaml
  cutover plan check --plan plan.yaml --json | jq '.invalid'
  cutover plan check --plan plan.yaml --examples 20 --show-values`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if f.plan != "" && f.plan != args[0] {
					return usagef("give the plan once: either 'plan check FILE' or 'plan check --plan FILE'")
				}
				f.plan = args[0]
			}
			if f.plan == "" {
				return usagef("which plan? run 'cutover plan check --plan FILE' (the wizard writes one)")
			}
			if f.examples < 0 {
				return usagef("--examples must be 0 or more, not %d", f.examples)
			}
			return runPlanCheck(cmd, a, f)
		},
	}
	cmd.Flags().StringVar(&f.plan, "plan", "", "the plan file to check")
	cmd.Flags().BoolVar(&f.json, "json", false, "print one JSON object instead of the readable report")
	cmd.Flags().IntVar(&f.examples, "examples", 5, "rows shown per invalid reason")
	cmd.Flags().BoolVar(&f.showValues, "show-values", false, "quote offending values (emails, usernames, phones) in messages")
	return cmd
}

func runPlanCheck(cmd *cobra.Command, a *app, f planCheckFlags) error {
	ctx := cmd.Context()
	p, err := strategies.LoadPlan(f.plan)
	if err != nil {
		return err
	}
	examples := f.examples
	if examples == 0 {
		examples = -1 // preflight: none
	}
	started := time.Now()
	opts := preflight.Options{
		Mapping:  mapping.Options{ShowValues: f.showValues},
		Examples: examples,
		Log:      a.log,
		Progress: func(pr strategies.Progress) {
			if time.Since(started) < 2*time.Second {
				return // small sources finish before anyone needs a progress line
			}
			line := "checked " + strategies.GroupDigits(pr.Done) + " rows"
			if pr.Total > 0 {
				line += fmt.Sprintf(" of about %s (%.0f%%)", strategies.GroupDigits(pr.Total), 100*float64(pr.Done)/float64(max(pr.Total, pr.Done)))
			}
			line += fmt.Sprintf(", %s rows/s", strategies.GroupDigits(int64(pr.Rate)))
			fmt.Fprintln(a.stderr, line)
		},
	}
	a.log.Debug("plan check", "plan", f.plan, "source", p.Source.Kind)
	r, err := preflight.Run(ctx, p, opts)
	if err != nil {
		return err
	}
	if f.json {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	} else if err := printPreflight(a.stdout, r); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	if !r.CanRun {
		return exitError{exitFailure, errors.New("the plan cannot run: " + strings.Join(r.Blockers, "; "))}
	}
	return nil
}

// printPreflight writes the readable preflight report.
func printPreflight(w io.Writer, r *preflight.Report) error {
	var b strings.Builder
	kv := func(k, v string) { fmt.Fprintf(&b, "%-16s %s\n", k, v) }
	if r.Plan != "" {
		kv("Plan", r.Plan)
	}
	kv("Source", r.Source)
	rules := "any format cutover can verify (permissive mock IdP)"
	if r.Profile == strategies.ProfileAuthgear {
		rules = "Authgear: bcrypt hashes only"
	}
	kv("Target accepts", rules)
	kv("Identifier", r.Identifier)
	b.WriteString("\n")
	kv("Rows", strategies.GroupDigits(r.Rows))
	kv("Valid", strategies.GroupDigits(r.Valid))
	kv("Invalid", strategies.GroupDigits(r.InvalidRows))
	for _, reason := range reasonsByCount(r.Invalid) {
		fmt.Fprintf(&b, "  %-24s %s\n", reason, strategies.GroupDigits(r.Invalid[reason]))
		for _, e := range r.Examples[reason] {
			loc := "row " + strconv.Itoa(e.Row)
			if e.Line > 0 {
				loc += fmt.Sprintf(" (line %d)", e.Line)
			}
			if e.Field != "" {
				loc += " " + e.Field
			}
			fmt.Fprintf(&b, "    %s: %s\n", loc, e.Message)
		}
		if n := r.Invalid[reason] - int64(len(r.Examples[reason])); n > 0 && len(r.Examples[reason]) > 0 {
			fmt.Fprintf(&b, "    … and %s more\n", strategies.GroupDigits(n))
		}
	}
	shared := " identifiers shared by more than one row (the first row wins)"
	if r.Duplicates == 1 {
		shared = " identifier shared by more than one row (the first row wins)"
	}
	kv("Duplicates", strategies.GroupDigits(r.Duplicates)+shared)
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
		fmt.Fprintf(&b, "  %-24s %12s  %s\n", f, strategies.GroupDigits(st.Count), note)
	}
	fmt.Fprintf(&b, "  %-24s %12s\n", "(no password)", strategies.GroupDigits(r.WithoutPassword))
	if len(r.Warnings) > 0 {
		b.WriteString("\nWarnings\n")
		for _, w := range r.Warnings {
			fmt.Fprintf(&b, "  - %s\n", w)
		}
	}
	b.WriteString("\nRecommendation: ")
	switch rec := r.Recommendation; {
	case rec.Strategy == "":
		b.WriteString("none yet\n")
	case rec.UnsupportedHash != "":
		fmt.Fprintf(&b, "%s with unsupported_hash: %s\n", rec.Strategy, rec.UnsupportedHash)
	case rec.Sweep:
		fmt.Fprintf(&b, "%s, then sweep\n", rec.Strategy)
	default:
		fmt.Fprintf(&b, "%s\n", rec.Strategy)
	}
	b.WriteString(wrapText(r.Recommendation.Reason, 80, "  "))
	if r.CanRun {
		fmt.Fprintf(&b, "\nThe plan can run: %s valid users (checked in %.1fs).\n", strategies.GroupDigits(r.Valid), r.Seconds)
	} else {
		fmt.Fprintf(&b, "\nThe plan cannot run: %s.\n", strings.Join(r.Blockers, "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func reasonsByCount(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	return keys
}

// wrapText breaks text into indented lines of at most width characters.
func wrapText(text string, width int, indent string) string {
	var b strings.Builder
	line := indent
	for _, w := range strings.Fields(text) {
		if len(line) > len(indent) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += w
	}
	if len(line) > len(indent) {
		b.WriteString(line + "\n")
	}
	return b.String()
}
