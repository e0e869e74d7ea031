package lazy

import (
	"fmt"
	"strings"
)

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
