package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies/lazy"
)

func newStatusCmd(a *app) *cobra.Command {
	var planPath string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status --plan FILE",
		Short: "Show lazy migration progress",
		Long: `Show how far a lazy migration has come: how many legacy users the bridge has
verified (and so the IdP now has), how many are still only in the legacy store,
the percentage, and migrations per day. It reads the bridge's tracking store
(lazy.store) and the whole legacy source once; it writes nothing.

'remaining' is what 'cutover sweep' would import; of those, 'invalid' rows cannot
be imported as they are (the sweep reports them with the reason). Once a sweep has
run, the users it put at the IdP count as swept, no longer remaining.

Exit codes: 0 status printed, 1 the store or source could not be read, 2 bad plan.`,
		Example: `  cutover status --plan cutover.yaml
  cutover status --plan cutover.yaml --json | jq .percent`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStatus(cmd.Context(), a, planPath, asJSON)
		},
	}
	cmd.Flags().StringVar(&planPath, "plan", "", "the lazy plan (required)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	_ = cmd.MarkFlagRequired("plan")
	return cmd
}

func runStatus(ctx context.Context, a *app, planPath string, asJSON bool) error {
	p, err := loadLazyPlan(planPath, "status")
	if err != nil {
		return err
	}
	store, path, err := lazy.OpenExistingStore(ctx, p)
	if err != nil {
		return err
	}
	if store == nil {
		fmt.Fprintf(a.stderr, "No verification recorded yet: %s does not exist (is 'cutover bridge' running with this plan?).\n", path)
	} else {
		defer store.Close()
	}
	st, err := lazy.GetStatus(ctx, p, store)
	if err != nil {
		return err
	}
	st.Store = path
	if asJSON {
		return writeJSON(a.stdout, st)
	}
	_, err = io.WriteString(a.stdout, st.Summary())
	return err
}
