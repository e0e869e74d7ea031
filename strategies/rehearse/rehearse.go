// Package rehearse proves a cutover works before it is done for real: it runs a plan's
// strategy against a target the caller hands in, then signs users in with the passwords
// they already have, and accounts for every input row and every sign-in.
//
// It knows nothing of the bundled mock IdP: cmd/cutover hands in the mock (its import
// API, its password grant and its one-time codes) when rehearsing on a laptop; a real
// IdP's sign-in API can be handed in the same way.
package rehearse

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
)

// KnownPasswordsFile is looked for beside the plan and the source when Config.Known is
// empty; the bundled demo database ships one.
const KnownPasswordsFile = "known-passwords.csv"

// Target is what a rehearsal imports into and signs users in at.
type Target struct {
	Bulk   *idp.Target         // the import API the strategy's runner writes to
	SignIn strategies.SignIner // signs a user in with a password
	// Codes signs in users who were imported without a password (authonly); nil when
	// the target cannot hand out one-time codes.
	Codes CodeSignIner
	// Issuer and ClientID are what access tokens are checked against (authonly's
	// example app verifies them like a real app would).
	Issuer, ClientID string
	// Name says what the target is in the report's headline, e.g. "the mock IdP".
	Name  string
	Close func() error // may be nil
}

// CodeSignIner signs in a user who has no password at the target (authonly) and returns
// the access token the user's app would receive.
type CodeSignIner interface {
	SignInWithCode(ctx context.Context, userID, login string) (accessToken string, err error)
}

// Hook is the lazy strategy's verification endpoint, which the target must call when a
// user it does not know yet signs in.
type Hook struct {
	URL    string // POST form email, password (the authproject dialect)
	Secret string // the Bearer token the target must send
}

// Config is one rehearsal.
type Config struct {
	// Plan is the plan to rehearse, its target already the one Open starts. It is not
	// changed: the rehearsal runs a copy whose records go to a temporary directory.
	Plan *strategies.Plan
	// Known is a CSV file of email,password pairs; "" looks for KnownPasswordsFile
	// beside the plan and the source.
	Known string
	// Open starts (or connects to) the target. For the lazy strategy hook is the
	// bridge's endpoint the target must call for unknown users; nil otherwise.
	Open func(ctx context.Context, hook *Hook) (*Target, error)
	// Log receives the runners' lines; ServiceLog the services the rehearsal starts
	// (the lazy bridge), which log every request. nil discards.
	Log, ServiceLog *slog.Logger
	// Progress is called by the import as it goes; may be nil.
	Progress func(strategies.Progress)
	// KeepRecords keeps the run's records in the plan's run directory: a rehearsal at a
	// real target (Authgear) leaves its users there, and `cutover undo` needs the
	// records to delete them.
	KeepRecords bool
}

// SignIn is the result of one rehearsal sign-in.
type SignIn struct {
	Email  string `json:"email"`
	OK     bool   `json:"ok"`
	Reason string `json:"reason,omitempty"`
}

// Result is the end of a rehearsal: the run's report (its records were temporary unless
// Config.KeepRecords, so it names no run directory), the write-back of an authonly plan, and the sign-ins.
type Result struct {
	*strategies.Report
	Profile   string              `json:"profile"`
	WriteBack *authonly.WriteBack `json:"write_back,omitempty"`
	SignIns   []SignIn            `json:"sign_ins"`

	// Headline opens the readable report; SignInsTitle heads its sign-ins.
	Headline     string `json:"-"`
	SignInsTitle string `json:"-"`
	// Known is the known-passwords file used; "" when there was none.
	Known string `json:"-"`
	// Notes are said on stderr: what the rehearsal does differently from the plan.
	Notes []string `json:"-"`
}

// OK reports whether every row was accounted for without failure and every sign-in worked.
func (r *Result) OK() bool {
	if r.Failed > 0 {
		return false
	}
	for _, s := range r.SignIns {
		if !s.OK {
			return false
		}
	}
	return true
}

// SignedIn counts the sign-ins that worked.
func (r *Result) SignedIn() int {
	n := 0
	for _, s := range r.SignIns {
		if s.OK {
			n++
		}
	}
	return n
}

// title heads the sign-ins in the readable report: "what: 9 of 10 worked".
func title(what string, ins []SignIn, verb string) string {
	ok := 0
	for _, s := range ins {
		if s.OK {
			ok++
		}
	}
	return fmt.Sprintf("%s: %d of %d %s", what, ok, len(ins), verb)
}

// rehearsal is one rehearsal under way: the known passwords, a temporary directory and
// the copy of the plan with its records there (and emails in the outcome log, so that
// a failed sign-in can be explained).
type rehearsal struct {
	cfg   Config
	creds [][2]string
	known string
	tmp   string
	plan  strategies.Plan
}

// Run rehearses cfg.Plan's strategy against the target cfg.Open starts.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	st, ok := table[cfg.Plan.Strategy]
	if !ok {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: cfg.Plan.File, Field: "strategy", Message: fmt.Sprintf("%q cannot be rehearsed", cfg.Plan.Strategy)}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.ServiceLog == nil {
		cfg.ServiceLog = cfg.Log
	}
	rh := &rehearsal{cfg: cfg, known: cfg.Known}
	if rh.known == "" {
		rh.known = FindKnownPasswords(cfg.Plan)
	}
	if rh.known != "" {
		var err error
		if rh.creds, err = ReadKnownPasswords(rh.known); err != nil {
			return nil, &strategies.Error{Code: strategies.CodeUsage, Message: err.Error()}
		}
	}
	tmp, err := os.MkdirTemp("", "cutover-rehearse-")
	if err != nil {
		return nil, fmt.Errorf("rehearse: %w", err)
	}
	defer os.RemoveAll(tmp)
	rh.tmp = tmp
	rh.plan = *cfg.Plan
	if !cfg.KeepRecords {
		rh.plan.Bulk.RunDir = filepath.Join(tmp, "runs")
	}
	rh.plan.Bulk.LogEmails = true
	res, err := st.rehearse(ctx, rh)
	if err != nil {
		return nil, err
	}
	res.Known = rh.known
	if !cfg.KeepRecords {
		res.RunDir, res.Files = "", nil // the records were temporary
		res.NextSteps = withoutTemp(res.NextSteps, tmp, cfg.Plan)
		if wb := res.WriteBack; wb != nil && strings.Contains(wb.Into+wb.MappingFile, tmp) {
			// The write-back went into a copy (or a mapping file) that is gone now.
			wb.Into = "a copy of the legacy database (deleted when the rehearsal ended; the original was not written)"
			if wb.MappingFile != "" {
				wb.Into, wb.MappingFile = "a mapping file (deleted when the rehearsal ended; the source was not written)", ""
			}
		}
	}
	return res, nil
}

// open starts the target and returns a copy whose Close is left to the rehearsal: the
// runners close what they open, but sign-ins come after the run.
func (rh *rehearsal) open(ctx context.Context, hook *Hook) (*Target, func(context.Context, *strategies.Plan) (*idp.Target, error), error) {
	t, err := rh.cfg.Open(ctx, hook)
	if err != nil {
		return nil, nil, err
	}
	return t, func(context.Context, *strategies.Plan) (*idp.Target, error) {
		b := *t.Bulk
		b.Close = nil
		return &b, nil
	}, nil
}

func (t *Target) close() {
	if t.Close != nil {
		t.Close()
	}
}

// FindKnownPasswords returns KnownPasswordsFile beside the plan or the source, or "".
func FindKnownPasswords(p *strategies.Plan) string {
	var dirs []string
	if p.File != "" {
		dirs = append(dirs, filepath.Dir(p.File))
	}
	if p.Source.Path != "" {
		if src, err := p.Resolve("source.path", p.Source.Path); err == nil {
			dirs = append(dirs, filepath.Dir(src))
		}
	}
	for _, d := range dirs {
		f := filepath.Join(d, KnownPasswordsFile)
		if _, err := os.Stat(f); err == nil {
			return f
		}
	}
	return ""
}

// ReadKnownPasswords reads email,password pairs; a header row "email,password" is allowed.
func ReadKnownPasswords(path string) ([][2]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--passwords: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	var out [][2]string
	for n := 1; ; n++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(rec) < 2 {
			return nil, fmt.Errorf("%s:%d: want email,password; got %d field(s)", path, n, len(rec))
		}
		if n == 1 && strings.EqualFold(strings.TrimSpace(rec[0]), "email") {
			continue
		}
		out = append(out, [2]string{strings.TrimSpace(rec[0]), rec[1]})
	}
}

// outcomeByEmail reads a run's outcome log: email (lower-case) -> final line.
func outcomeByEmail(dir string) (map[string]bulk.Line, error) {
	out := map[string]bulk.Line{}
	err := bulk.EachFinal(dir, func(l *bulk.Line) error {
		if l.Email != "" {
			out[strings.ToLower(l.Email)] = *l
		}
		return nil
	})
	return out, err
}

// signInAll signs every known user in, a few at a time (a real IdP limits the rate;
// bcrypt costs the mock CPU), each through one, which says how it went.
func signInAll(creds [][2]string, parallel int, one func(email, password string) SignIn) []SignIn {
	out := make([]SignIn, len(creds))
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, c := range creds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = one(c[0], c[1])
		}()
	}
	wg.Wait()
	return out
}

// cannotSignIn says why the run's outcome line for a known-password user (found, or
// not) already rules the sign-in out: no row, or a row that was invalid or failed.
// "" means the target must be asked.
func cannotSignIn(l bulk.Line, found bool) string {
	switch {
	case !found:
		return "not in the source (no row with this email)"
	case l.Outcome == strategies.OutcomeInvalid || l.Outcome == strategies.OutcomeFailed:
		return fmt.Sprintf("row %d %s: %s", l.Row, l.Outcome, l.Reason)
	}
	return ""
}
