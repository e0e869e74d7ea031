// Package preflight checks a plan against its source without writing anything: it reads
// every record once (streaming, in constant memory apart from the duplicate index), maps
// and validates each, and reports what a cutover would meet: invalid rows by reason,
// duplicates, password formats the target can or cannot import, and a recommended strategy.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/mapping"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources"
)

// SmallRemainder is the share of users with passwords whose hashes the target cannot
// import, up to which bulk with unsupported_hash: without_password is recommended
// (those few sign in with a code or reset); above it, lazy migration.
const SmallRemainder = 0.05

// Options tune a preflight run.
type Options struct {
	Mapping mapping.Options
	// Examples is how many rows are kept per invalid reason (default 5; -1 for none).
	Examples int
	// Progress is called about every ProgressEvery (default 2s) and once at the end.
	Progress      func(strategies.Progress)
	ProgressEvery time.Duration
	// OnInvalid, when set, is called for every invalid row with its problems, most
	// important first, e.g. to write them all to a file.
	OnInvalid func(row Problem, all []*strategies.Error)
	// Log receives debug lines; nil discards them.
	Log *slog.Logger
}

// Problem is one invalid row as reports show it: where and what.
type Problem struct {
	Row     int    `json:"row"`
	Line    int    `json:"line,omitempty"`
	Field   string `json:"field,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// FormatStat counts the valid users with one password format.
type FormatStat struct {
	Count      int64 `json:"count"`
	Importable bool  `json:"importable"`     // the target accepts the hash (as-is or converted)
	Weak       bool  `json:"weak,omitempty"` // fast or unsalted: accepted, but flagged
}

// Recommendation is the strategy preflight suggests, with its reason in one paragraph.
type Recommendation struct {
	Strategy        string `json:"strategy"`                   // bulk | lazy | "" (nothing can run)
	UnsupportedHash string `json:"unsupported_hash,omitempty"` // bulk: what to do with the remainder
	Sweep           bool   `json:"sweep,omitempty"`            // lazy: finish with `cutover sweep`
	Reason          string `json:"reason"`
}

// Report is what preflight found. Rows = Valid + InvalidRows; each invalid row is
// counted once, under its most important problem.
type Report struct {
	Plan       string `json:"plan,omitempty"`
	Source     string `json:"source"`  // kind and path or table; never a DSN
	Profile    string `json:"profile"` // the target's import rules: authgear | permissive
	Identifier string `json:"identifier"`

	Rows        int64                `json:"rows"`
	Valid       int64                `json:"valid"`
	InvalidRows int64                `json:"invalid_rows"`
	Invalid     map[string]int64     `json:"invalid"`            // reason -> rows
	Examples    map[string][]Problem `json:"examples,omitempty"` // reason -> first rows
	Duplicates  int64                `json:"duplicates"`         // identifiers shared by more than one row

	Formats         map[string]FormatStat `json:"formats"` // over valid rows with a hash
	WithoutPassword int64                 `json:"without_password"`
	Importable      int64                 `json:"importable"`     // valid rows whose hash the target accepts
	NotImportable   int64                 `json:"not_importable"` // valid rows whose hash it does not

	Warnings       []string       `json:"warnings,omitempty"`
	CanRun         bool           `json:"can_run"`
	Blockers       []string       `json:"blockers,omitempty"`
	Recommendation Recommendation `json:"recommendation"`
	Seconds        float64        `json:"seconds"`

	mapped int64 // rows the source could parse, so the mapper saw them
}

// Run reads p's whole source once and reports. A plan the mapping rejects returns a
// CodePlan error, a source that cannot be opened or read a CodeSource error; invalid
// rows are not errors, they are counted in the report.
func Run(ctx context.Context, p *strategies.Plan, opts Options) (*Report, error) {
	start := time.Now()
	if opts.Examples == 0 {
		opts.Examples = 5
	}
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = 2 * time.Second
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m, err := mapping.New(p, opts.Mapping)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	src, err := sources.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer src.Close()

	r := &Report{
		Plan:       p.File,
		Source:     describeSource(p),
		Profile:    Profile(p.Target),
		Identifier: m.Identifier(),
		Invalid:    map[string]int64{},
		Examples:   map[string][]Problem{},
		Formats:    map[string]FormatStat{},
	}
	total, columns := int64(-1), []string(nil)
	if d, ok := src.(sources.Describer); ok {
		if s, err := d.Describe(ctx); err == nil {
			total, columns = tableInfo(p, s)
		} else {
			log.Debug("describe source", "err", err)
		}
	}
	progress := func() {
		if opts.Progress == nil {
			return
		}
		el := time.Since(start)
		pr := strategies.Progress{Phase: "preflight", Total: total, Done: r.Rows,
			Counts: map[strategies.Outcome]int64{strategies.OutcomeInvalid: r.InvalidRows}}
		if s := el.Seconds(); s > 0 {
			pr.Rate = float64(r.Rows) / s
			if total > r.Rows && pr.Rate > 0 {
				pr.ETA = time.Duration(float64(total-r.Rows) / pr.Rate * float64(time.Second))
			}
		}
		opts.Progress(pr)
	}
	last := time.Now()
	err = src.Read(ctx, "", func(rec sources.Record) error {
		r.Rows++
		if r.Rows%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if time.Since(last) >= opts.ProgressEvery {
				last = time.Now()
				progress()
			}
		}
		if rec.Err != nil {
			r.invalid(opts, rec, []*strategies.Error{asRowError(rec)})
			return nil
		}
		r.mapped++
		u, errs := m.Map(rec)
		if len(errs) > 0 {
			r.invalid(opts, rec, errs)
			return nil
		}
		r.Valid++
		if u.PasswordFormat == "" {
			r.WithoutPassword++
			return nil
		}
		st, ok := r.Formats[u.PasswordFormat]
		if !ok {
			st.Importable = passwords.Importable(u.PasswordFormat, r.Profile)
			st.Weak = m.Weak(u.PasswordFormat)
		}
		st.Count++
		r.Formats[u.PasswordFormat] = st
		if st.Importable {
			r.Importable++
		} else {
			r.NotImportable++
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, &strategies.Error{Code: strategies.CodeCancelled, Message: fmt.Sprintf("preflight stopped after %d rows", r.Rows), Err: err}
		}
		if strategies.CodeOf(err) != "" {
			return nil, err
		}
		return nil, &strategies.Error{Code: strategies.CodeSource, Message: fmt.Sprintf("read the source (after %d rows)", r.Rows), Err: err}
	}
	progress()
	if err := m.Close(); err != nil {
		return nil, fmt.Errorf("preflight: %w", err)
	}
	r.Duplicates = m.DuplicateGroups()
	for f, st := range r.Formats {
		if m.Weak(f) && !st.Weak {
			st.Weak = true
			r.Formats[f] = st
		}
	}
	r.finish(p, m, columns)
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

// asRowError makes a record the source could not parse into a row problem.
func asRowError(rec sources.Record) *strategies.Error {
	var e *strategies.Error
	if errors.As(rec.Err, &e) {
		c := *e
		c.File = "" // the report names the source once
		if c.Code == "" {
			c.Code = strategies.CodeMalformedRecord
		}
		return &c
	}
	return &strategies.Error{Code: strategies.CodeMalformedRecord, Row: rec.Row, Line: rec.Line, Message: rec.Err.Error()}
}

func (r *Report) invalid(opts Options, rec sources.Record, errs []*strategies.Error) {
	r.InvalidRows++
	e := errs[0]
	reason := string(e.Code)
	r.Invalid[reason]++
	pr := Problem{Row: rec.Row, Line: rec.Line, Field: e.Field, Code: reason, Message: e.Message}
	if e.Err != nil {
		pr.Message = strings.TrimPrefix(pr.Message+": "+e.Err.Error(), ": ")
	}
	if opts.Examples > 0 && len(r.Examples[reason]) < opts.Examples {
		r.Examples[reason] = append(r.Examples[reason], pr)
	}
	if opts.OnInvalid != nil {
		opts.OnInvalid(pr, errs)
	}
}

// Profile returns the import rules of a target: a real Authgear, and the mock IdP in
// its default profile, accept bcrypt only; the permissive mock accepts any known format.
func Profile(t strategies.Target) string {
	if t.Kind == strategies.TargetMockIDP && t.Profile == strategies.ProfilePermissive {
		return strategies.ProfilePermissive
	}
	return strategies.ProfileAuthgear
}

func describeSource(p *strategies.Plan) string {
	s := p.Source
	switch {
	case s.Path != "" && s.Table != "":
		return fmt.Sprintf("%s %s (table %s)", s.Kind, s.Path, s.Table)
	case s.Path != "":
		return fmt.Sprintf("%s %s", s.Kind, s.Path)
	case s.Table != "":
		return fmt.Sprintf("%s table %s", s.Kind, s.Table)
	}
	return s.Kind + " query"
}

// tableInfo picks the plan's table from a schema: its estimated rows and columns.
func tableInfo(p *strategies.Plan, s *sources.Schema) (int64, []string) {
	if s == nil || len(s.Tables) == 0 || p.Source.Query != "" {
		return -1, nil
	}
	t := s.Tables[0]
	if p.Source.Table != "" {
		i := slices.IndexFunc(s.Tables, func(t sources.Table) bool { return strings.EqualFold(t.Name, p.Source.Table) })
		if i < 0 {
			return -1, nil
		}
		t = s.Tables[i]
	}
	cols := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		cols[i] = c.Name
	}
	return t.EstimatedRows, cols
}

// finish adds warnings, blockers and the recommendation.
func (r *Report) finish(p *strategies.Plan, m *mapping.Mapper, columns []string) {
	absent := m.Absent()
	keys := make([]string, 0, len(absent))
	for k := range absent {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if absent[k] < r.mapped {
			continue // present in some rows: optional fields of JSON exports
		}
		w := fmt.Sprintf("mapping.%s: no row has the column %q; check its spelling", k, columnOf(p, k))
		if len(columns) > 0 {
			w += " (the source has " + strings.Join(columns, ", ") + ")"
		}
		r.Warnings = append(r.Warnings, w)
	}
	var weak []string
	for f, st := range r.Formats {
		if st.Weak {
			weak = append(weak, f)
		}
	}
	if len(weak) > 0 {
		sort.Strings(weak)
		r.Warnings = append(r.Warnings, fmt.Sprintf("weak password hashes (%s): fast or unsalted; they are accepted, but plan to have those users set a new password", strings.Join(weak, ", ")))
	}
	if p.Strategy == strategies.StrategyBulk && r.NotImportable > 0 && (p.Bulk.UnsupportedHash == "" || p.Bulk.UnsupportedHash == strategies.UnsupportedFail) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("bulk.unsupported_hash is fail (the default): %d users whose hashes the target cannot import will fail; set it to without_password or skip, or use the lazy strategy", r.NotImportable))
	}
	switch {
	case r.Rows == 0:
		r.Blockers = append(r.Blockers, "the source has no rows")
	case r.Valid == 0:
		r.Blockers = append(r.Blockers, "no row is valid; fix the problems listed above (often a wrong column in mapping)")
	}
	r.CanRun = len(r.Blockers) == 0
	r.Recommendation = r.recommend()
	r.adviseDirectory(p, columns) // directory.go
}

func columnOf(p *strategies.Plan, key string) string {
	for _, f := range p.Mapping.Fields() {
		if f.Key == key {
			return f.Ref.Column
		}
	}
	return ""
}

// recommend chooses a strategy from how many hashes the target can import.
func (r *Report) recommend() Recommendation {
	target := "the target"
	if r.Profile == strategies.ProfileAuthgear {
		target = "Authgear (bcrypt only)"
	}
	withHash := r.Importable + r.NotImportable
	switch {
	case r.Valid == 0:
		return Recommendation{Reason: "Nothing can be migrated yet: no row is valid. Fix the mapping or the source and check again."}
	case withHash == 0:
		return Recommendation{Strategy: strategies.StrategyBulk, Reason: fmt.Sprintf(
			"No valid user has a password hash, so there is nothing to verify at sign-in: a bulk import moves all %d users with their profiles, and they sign in with a one-time code or set a password. If your app keeps its own user model, authonly links it to the IdP instead.", r.Valid)}
	case r.NotImportable == 0:
		return Recommendation{Strategy: strategies.StrategyBulk, Reason: fmt.Sprintf(
			"Every password hash (%d users, %s) can be imported into %s, so a bulk import moves everyone at once and nobody has to reset a password.", withHash, r.formatList(true), target)}
	}
	share := float64(r.NotImportable) / float64(withHash)
	if share <= SmallRemainder {
		return Recommendation{Strategy: strategies.StrategyBulk, UnsupportedHash: strategies.UnsupportedWithoutPassword, Reason: fmt.Sprintf(
			"Only %d of %d users with a password (%.1f%%) have hashes %s cannot import (%s). Bulk-import everyone and set bulk.unsupported_hash: without_password: those few sign in with a one-time code or reset their password, everyone else keeps theirs.",
			r.NotImportable, withHash, 100*share, target, r.formatList(false))}
	}
	return Recommendation{Strategy: strategies.StrategyLazy, Sweep: true, Reason: fmt.Sprintf(
		"%d of %d users with a password (%.0f%%) have hashes %s cannot import (%s). With lazy migration the IdP asks 'cutover bridge' to check each of them against the legacy hash at their first sign-in, so nobody is forced to reset; after a few weeks 'cutover sweep' imports whoever never signed in (a hybrid of lazy and bulk).",
		r.NotImportable, withHash, 100*share, target, r.formatList(false))}
}

// formatList names the importable (or not importable) formats, most common first.
func (r *Report) formatList(importable bool) string {
	type fc struct {
		name string
		n    int64
	}
	var l []fc
	for f, st := range r.Formats {
		if st.Importable == importable {
			l = append(l, fc{f, st.Count})
		}
	}
	sort.Slice(l, func(i, j int) bool { return l[i].n > l[j].n || l[i].n == l[j].n && l[i].name < l[j].name })
	parts := make([]string, len(l))
	for i, x := range l {
		parts[i] = fmt.Sprintf("%d %s", x.n, x.name)
	}
	return strings.Join(parts, ", ")
}
