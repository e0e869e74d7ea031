package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
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
be imported as they are (the sweep reports them with the reason).`,
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

// openStoreIfAny opens the plan's tracking store, or returns nil (and its path) when
// the bridge has not created it yet; status and sweep do not create it.
func openStoreIfAny(ctx context.Context, p *strategies.Plan) (*lazy.Store, string, error) {
	path, err := lazy.StorePath(p)
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, path, nil
	}
	s, err := lazy.OpenStore(ctx, path)
	return s, path, err
}

func runStatus(ctx context.Context, a *app, planPath string, asJSON bool) error {
	p, err := loadLazyPlan(planPath, "status")
	if err != nil {
		return err
	}
	store, path, err := openStoreIfAny(ctx, p)
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
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	printStatus(a.stdout, st)
	return nil
}

func printStatus(w io.Writer, st *lazy.Status) {
	fmt.Fprintf(w, "Lazy migration: %d of %d users migrated (%.1f%%), %d remaining\n", st.Migrated, st.Total, st.Percent, st.Remaining)
	if st.Invalid > 0 {
		fmt.Fprintf(w, "  %d of the remaining cannot be imported as they are (invalid rows); 'cutover sweep' reports why\n", st.Invalid)
	}
	if st.NotInSource > 0 {
		fmt.Fprintf(w, "  %d verified users are no longer in the legacy source\n", st.NotInSource)
	}
	if len(st.PerDay) > 0 {
		fmt.Fprintln(w, "\nMigrations per day (UTC):")
		for _, d := range st.PerDay {
			fmt.Fprintf(w, "  %s  %d\n", d.Day, d.Users)
		}
	}
	fmt.Fprintf(w, "\nStore: %s\n", st.Store)
	if st.Remaining > 0 {
		fmt.Fprintln(w, "When the old system must go: 'cutover sweep --plan ...' imports the remaining users.")
	}
}
