package main

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp/kratos"
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
	cmd.AddCommand(newPlanCheckCmd(a), newPlanSchemaCmd(a))
	return cmd
}

func newPlanSchemaCmd(a *app) *cobra.Command {
	var plan, id string
	cmd := &cobra.Command{
		Use:   "kratos-schema --plan FILE",
		Short: "Print an Ory Kratos identity schema that fits the plan's mapping",
		Long: `Print a Kratos identity schema (JSON) with one trait per field the plan maps:
email, phone_number and preferred_username as password identifiers, the profile
fields and custom attributes as traits. Load it into Kratos (identity.schemas) under
--id and set target.schema_id to it. Legacy id, roles and groups are kept in each
identity's metadata_admin. Exit codes: 0 printed, 2 bad flags or plan.`,
		Example: "  cutover plan kratos-schema --plan plan.yaml > identity.schema.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := strategies.LoadPlan(plan)
			if err != nil {
				return err
			}
			b, err := kratos.Schema(&p.Mapping, cmp.Or(id, p.Target.SchemaID, "user"))
			if err == nil {
				_, err = fmt.Fprintf(a.stdout, "%s\n", b)
			}
			return err
		},
	}
	cmd.Flags().StringVar(&plan, "plan", "", "the plan whose mapping the schema fits (required)")
	cmd.Flags().StringVar(&id, "id", "", "the schema's id (default: target.schema_id, else user)")
	_ = cmd.MarkFlagRequired("plan")
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

Exit codes: 0 the plan can run, 1 nothing could be imported, 2 bad flags, an invalid
plan file or a plan mistake the source shows (a misspelt column, a password column
with no hashes), 130 interrupted.`,
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
	opts := preflight.Options{Mapping: mapping.Options{ShowValues: f.showValues}, Examples: examples, Log: a.log,
		Progress: preflight.ProgressPrinter(a.stderr, 2*time.Second)}
	a.log.Debug("plan check", "plan", f.plan, "source", p.Source.Kind)
	r, err := preflight.Run(ctx, p, opts)
	if err != nil {
		return err
	}
	if f.json {
		if err := writeJSON(a.stdout, r); err != nil {
			return fmt.Errorf("write the report: %w", err)
		}
	} else if _, err := io.WriteString(a.stdout, preflight.Summary(r)); err != nil {
		return fmt.Errorf("write the report: %w", err)
	}
	if !r.CanRun {
		code := exitFailure // nothing could be imported
		if strategies.CodeOf(r.Err()) == strategies.CodePlan {
			code = exitUsage // a plan mistake: the same exit as run's gate
		}
		return exitError{code, errors.New("the plan cannot run: " + strings.Join(r.Blockers, "; "))}
	}
	return nil
}
