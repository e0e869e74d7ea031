package lazy

import (
	"fmt"
	"strings"
)

// Summary is the readable status `cutover status` prints.
func (st *Status) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Lazy migration: %d of %d users migrated by the bridge (%.1f%%)", st.Migrated, st.Total, st.Percent)
	if st.Sweep != nil {
		stopped := ""
		if !st.Sweep.Finished {
			stopped = ", stopped before it finished"
		}
		fmt.Fprintf(&b, ", %d imported by the sweep of %s%s", st.Swept, st.Sweep.Started.UTC().Format("2006-01-02 15:04 UTC"), stopped)
	}
	fmt.Fprintf(&b, ", %d remaining\n", st.Remaining)
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
	switch {
	case st.Sweep != nil && !st.Sweep.Finished:
		fmt.Fprintf(&b, "Sweep: %s; continue it with 'cutover sweep --plan %s --resume'.\n", st.Sweep.RunDir, st.plan)
	case st.Sweep != nil && st.Remaining > 0:
		fmt.Fprintf(&b, "Sweep: %s (failures.csv says why the remaining users were not imported); once fixed, 'cutover sweep --plan %s' imports them.\n", st.Sweep.RunDir, st.plan)
	case st.Sweep != nil:
		fmt.Fprintf(&b, "Sweep: %s. Every legacy user is at the IdP.\n", st.Sweep.RunDir)
	case st.Remaining > 0:
		fmt.Fprintf(&b, "When the old system must go: 'cutover sweep --plan %s' imports the remaining users.\n", st.plan)
	}
	return b.String()
}
