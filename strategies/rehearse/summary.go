package rehearse

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
)

// Summary is the readable rehearsal report: the headline, the run's summary, the
// write-back (authonly) and each sign-in with the reason it failed. The sign-ins are
// the ones made, whether their passwords came from --passwords or from a
// known-passwords.csv found beside the plan or the source.
func (r *Result) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", r.Headline)
	b.WriteString(bulk.Summary(r.Report))
	if r.WriteBack != nil {
		b.WriteString(r.WriteBack.Summary())
	}
	if len(r.SignIns) == 0 && r.Known == "" && r.WriteBack == nil {
		fmt.Fprintf(&b, "\nNo sign-ins: no --passwords was given and there is no %s beside the plan or the source; give --passwords FILE (lines of email,password) to prove users can sign in.\n", KnownPasswordsFile)
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

// Verdict says in one line why the rehearsal passed or not: the sign-ins that did not
// work and the rows that failed, which is what makes its exit status partial.
func (r *Result) Verdict() string {
	var why []string
	if n := len(r.SignIns) - r.SignedIn(); n > 0 {
		why = append(why, fmt.Sprintf("%d of %d sign-ins did not work (FAIL above)", n, len(r.SignIns)))
	}
	if r.Failed > 0 {
		why = append(why, fmt.Sprintf("%s rows failed (the table above says why)", strategies.GroupDigits(r.Failed)))
	}
	if len(why) > 0 {
		return "partial success: " + strings.Join(why, "; ")
	}
	if len(r.SignIns) == 0 {
		return "ok: no row failed (no sign-in was tried)"
	}
	return fmt.Sprintf("ok: no row failed and all %d sign-ins worked", len(r.SignIns))
}

// seeTemp matches a "(see FILE ...)" pointer into the rehearsal's temporary records.
var seeTemp = regexp.MustCompile(`\s*\(see [^()]*\)`)

// withoutTemp rewrites the run's next steps for a rehearsal whose records were
// temporary, deleted when it ended: a pointer to a file there is dropped, a step
// clause whose command names a path there (--only-failed, undo) with it, and one step says
// how to get the row-by-row reasons without importing anyone.
func withoutTemp(steps []string, tmp string, p *strategies.Plan) []string {
	out := make([]string, 0, len(steps)+1)
	dropped := false
	for _, s := range steps {
		if !strings.Contains(s, tmp) {
			out = append(out, s)
			continue
		}
		dropped = true
		var kept []string // the step's clauses that say nothing of the gone records
		for _, c := range strings.Split(s, "; ") {
			c = seeTemp.ReplaceAllStringFunc(c, func(m string) string {
				if strings.Contains(m, tmp) {
					return ""
				}
				return m
			})
			if !strings.Contains(c, tmp) {
				kept = append(kept, c)
			}
		}
		if len(kept) > 0 {
			out = append(out, strings.Join(kept, "; "))
		}
	}
	if dropped {
		cmd := "run"
		if p.Strategy == strategies.StrategyLazy {
			cmd = "sweep"
		}
		out = append(out, fmt.Sprintf("the rehearsal's run records were temporary and are gone; for each row's reason in a failures.csv, without importing anyone: cutover %s --plan %s --dry-run", cmd, planName(p)))
	}
	return out
}

// planName is the plan's file as a command line should name it.
func planName(p *strategies.Plan) string {
	if p.File == "" {
		return "PLAN"
	}
	return p.File
}
