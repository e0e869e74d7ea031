package lazy

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// OpenStoreIfAny opens the plan's tracking store, or returns nil (and its path) when
// the bridge has not created it yet: status and sweep read it but never create it.
func OpenStoreIfAny(ctx context.Context, p *strategies.Plan) (*Store, string, error) {
	path, err := StorePath(p)
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, path, nil
	}
	s, err := OpenStore(ctx, path)
	return s, path, err
}

// Summary is the readable status `cutover status` prints.
func (st *Status) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Lazy migration: %d of %d users migrated (%.1f%%), %d remaining\n", st.Migrated, st.Total, st.Percent, st.Remaining)
	if st.Invalid > 0 {
		fmt.Fprintf(&b, "  %d of the remaining cannot be imported as they are (invalid rows); 'cutover sweep' reports why\n", st.Invalid)
	}
	if st.NotInSource > 0 {
		fmt.Fprintf(&b, "  %d verified users are no longer in the legacy source\n", st.NotInSource)
	}
	if len(st.PerDay) > 0 {
		b.WriteString("\nMigrations per day (UTC):\n")
		for _, d := range st.PerDay {
			fmt.Fprintf(&b, "  %s  %d\n", d.Day, d.Users)
		}
	}
	fmt.Fprintf(&b, "\nStore: %s\n", st.Store)
	if st.Remaining > 0 {
		b.WriteString("When the old system must go: 'cutover sweep --plan ...' imports the remaining users.\n")
	}
	return b.String()
}
