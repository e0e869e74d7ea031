package strategies

import (
	"fmt"
	"io"
	"strings"
	"sync"
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

// ProgressPrinter returns a progress callback that writes Line to w at most once every
// interval, and a last line at the end of a run that printed any (a short run says
// nothing: its summary says it all).
func ProgressPrinter(w io.Writer, every time.Duration) func(Progress) {
	var mu sync.Mutex
	var last time.Time
	return func(pr Progress) {
		mu.Lock()
		defer mu.Unlock()
		final := pr.Phase == "done"
		if !final && time.Since(last) < every {
			return
		}
		if final && last.IsZero() {
			return // a short run: the summary says it all
		}
		last = time.Now()
		fmt.Fprintln(w, pr.Line())
	}
}
