package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/rehearse"
)

func newRehearseCmd(a *app) *cobra.Command {
	var planPath, known string
	var asJSON, mock bool
	cmd := &cobra.Command{
		Use:   "rehearse --plan FILE",
		Short: "Run a plan against a mock IdP (or an Authgear staging project) and prove users can sign in",
		Long: `Rehearse the whole cutover against a fresh in-process mock IdP (the plan's
target.profile) over loopback HTTP, or against the plan's Authgear project:

  bulk      the import runs into the mock IdP, then every user in the known-passwords
            file (CSV: email,password) signs in with their old password (OAuth 2.0
            password grant) and each ID token is checked with a standard OIDC verifier
  lazy      the bridge starts with the mock IdP's hook pointed at it; the known users
            sign in (migrating on first sign-in), then a sweep moves everyone else
  authonly  identifiers are imported and the ids written back (into a copy; the legacy
            database is never written), users sign in with a one-time code, and the
            example app's protected route must resolve the right local user

A user who cannot sign in is reported with the reason: not in the source, invalid,
failed or skipped (with the row's reason), imported without a password because the
target cannot take its hash format, or the IdP's answer.

A bulk plan with target.kind authgear is rehearsed at that Authgear: the import
runs into the project (point the plan at a staging project), and users sign in
through its Authentication Flow API at target.signin_url (default target.url); a
refusal says Authgear's reason (invalid_credentials, disabled, unknown_user,
no_password). --mock rehearses it against the mock IdP's authgear profile instead,
as lazy and authonly plans with an authgear target always are.

Without --passwords, a known-passwords.csv beside the plan or the source is used.
Run records go to a temporary directory, but for a rehearsal at Authgear to the
plan's run directory, so that 'cutover undo' can delete the users it imported.
Exit codes: 0 all sign-ins worked and no row failed, 3 some did not, 1 the
rehearsal could not run.`,
		Example: `  cutover rehearse --plan cutover.yaml --passwords known.csv
  cutover rehearse --plan staging.yaml --mock
  cutover rehearse --plan cutover.yaml --json | jq '.sign_ins[] | select(.ok | not)'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return rehearsePlan(cmd.Context(), a, planPath, known, asJSON, mock)
		},
	}
	cmd.Flags().StringVar(&planPath, "plan", "", "the plan to rehearse (required)")
	cmd.Flags().StringVar(&known, "passwords", "", "CSV of email,password for users to sign in as")
	cmd.Flags().BoolVar(&mock, "mock", false, "rehearse an authgear plan against the in-process mock IdP, not at the project")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object: the run's counts and sign_ins")
	_ = cmd.MarkFlagRequired("plan")
	return cmd
}

func rehearsePlan(ctx context.Context, a *app, planPath, known string, asJSON, mock bool) error {
	p, err := strategies.LoadPlan(planPath)
	if err != nil {
		return err
	}
	rp := rehearse.MockPlan(p)
	open := rehearsalTarget(rp, quietLog(a))
	atAuthgear := rehearse.AtTarget(p) && !mock
	if atAuthgear {
		rp, open = p, rehearse.AtRealTarget(p, quietLog(a))
	}
	var progress func(strategies.Progress)
	if !asJSON {
		progress = strategies.ProgressPrinter(a.stderr, 3*time.Second)
	}
	res, err := rehearse.Run(ctx, rehearse.Config{Plan: rp, Known: known, Open: open,
		Log: a.log, ServiceLog: quietLog(a), Progress: progress, KeepRecords: atAuthgear})
	if err != nil {
		return err
	}
	for _, n := range res.Notes {
		fmt.Fprintln(a.stderr, n)
	}
	code := exitOK
	if !res.OK() {
		code = exitPartial
	}
	if asJSON {
		err = writeJSON(a.stdout, res)
	} else {
		_, err = fmt.Fprintf(a.stdout, "%s\nExit code %d, %s.\n", res.Summary(), code, res.Verdict())
	}
	if err != nil {
		return err
	}
	return quietError{code}
}
