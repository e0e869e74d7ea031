package strategies

import (
	"fmt"
	"strings"
	"time"
)

// Line is the progress as one line for a log or a terminal: rows done, rate, ETA,
// failures and retries so far.
func (pr Progress) Line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d", pr.Phase, pr.Done)
	if pr.Total > 0 {
		fmt.Fprintf(&b, "/%d rows (%.0f%%)", pr.Total, 100*float64(pr.Done)/float64(pr.Total))
	} else {
		b.WriteString(" rows")
	}
	fmt.Fprintf(&b, ", %.0f rows/s", pr.Rate)
	if pr.ETA > 0 {
		fmt.Fprintf(&b, ", ETA %s", pr.ETA.Round(time.Second))
	}
	if n := pr.Counts[OutcomeFailed]; n > 0 {
		fmt.Fprintf(&b, ", %d failed", n)
	}
	if pr.Retries > 0 {
		fmt.Fprintf(&b, ", %d retries", pr.Retries)
	}
	return b.String()
}
