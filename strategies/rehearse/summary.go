package rehearse

import (
	"fmt"
	"strings"

	"github.com/cutover/cutover/strategies/bulk"
)

// Summary is the readable rehearsal report: the headline, the run's summary, the
// write-back (authonly) and each sign-in with the reason it failed.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", r.Headline)
	b.WriteString(bulk.Summary(r.Report))
	if r.WriteBack != nil {
		b.WriteString(r.WriteBack.Summary())
	} else if r.Known == "" {
		b.WriteString("\nNo sign-ins: give --passwords known.csv (email,password) to prove users can sign in.\n")
		return b.String()
	}
	fmt.Fprintf(&b, "\n%s\n", r.SignInsTitle)
	for _, s := range r.SignIns {
		if s.OK {
			fmt.Fprintf(&b, "  ok    %s\n", s.Email)
		} else {
			fmt.Fprintf(&b, "  FAIL  %s: %s\n", s.Email, s.Reason)
		}
	}
	return b.String()
}
