// Package preflight checks a plan against its source without writing anything: it reads
// every record once (streaming, in constant memory apart from the duplicate index), maps
// and validates each, and reports what a cutover would meet: invalid rows by reason,
// duplicates, password formats the target can or cannot import, and a recommended strategy.
package preflight

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/mapping"
	"github.com/cutover/cutover/strategies/sources"
	"github.com/cutover/cutover/strategies/targets"
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
	// Limit stops after this many rows (0: read everything); Gate sets it. The report
	// then has Sampled set and its counts are the sample's.
	Limit int64
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
	Plan    string `json:"plan,omitempty"`
	Source  string `json:"source"`  // kind and path or table; never a DSN
	Profile string `json:"profile"` // the target's hash rules: authgear | permissive | kratos
	// Rules says in a few words which hashes the target imports.
	Rules      string     `json:"target_accepts"`
	hashes     idp.Hashes // the target's hash rules (targets.Hashes)
	Identifier string     `json:"identifier"`

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

	// Warned counts valid rows whose optional fields were dropped (mapping.strict_profile
	// off), by plan key: those users move without the field.
	Warned map[string]int64 `json:"warned,omitempty"`

	Warnings []string `json:"warnings,omitempty"`
	CanRun   bool     `json:"can_run"`
	// Blockers are the messages of the problems that stop the plan (Err returns them
	// typed): a mapped column the source lacks, a password column with no hash, no row
	// or no valid row.
	Blockers       []string       `json:"blockers,omitempty"`
	Sampled        bool           `json:"sampled,omitempty"` // only the first Options.Limit rows were read
	Recommendation Recommendation `json:"recommendation"`
	// Lockouts are, per target (the plan's first), the users each of its rules would
	// lock out.
	Lockouts []TargetLockouts `json:"lockouts"`
	Seconds  float64          `json:"seconds"`

	mapped   int64               // rows the source could parse, so the mapper saw them
	problems []*strategies.Error // what Blockers says, typed
}

// Err returns the problems that stop the plan, typed: CodePlan for a mistake in the plan
// (cmd exits 2), CodeNothingToImport when no user could be imported (exit 1); nil when
// the plan can run. Gate returns it; `plan check` should too, so both say the same.
func (r *Report) Err() error {
	switch len(r.problems) {
	case 0:
		return nil
	case 1:
		return r.problems[0]
	}
	errs := make([]error, len(r.problems))
	for i, e := range r.problems {
		errs[i] = e
	}
	return errors.Join(errs...)
}

// GateSample is how many rows Gate reads: enough to catch a wrong column, a password
// column that holds no hashes or a mapping under which no row is valid, in well under a
// second, before anything is written to the target.
const GateSample = 1000

// CodeNothingToImport is the code of a preflight finding that no user could be
// imported (a source with no rows, or no valid row): a failure (exit 1), not a plan
// mistake (exit 2).
const CodeNothingToImport = strategies.CodeNothingToImport

// Gate is the preflight every entry point runs before it writes to a target (bulk's
// Runner.Run, which run, rehearse, the wizard and sweep use, and the authonly runner):
// the same checks as `cutover plan check`, on the first GateSample rows (or
// opts.Limit). It returns Report.Err: nil, or typed errors whose messages are the ones
// plan check prints as blockers.
func Gate(ctx context.Context, p *strategies.Plan, opts Options) error {
	if opts.Limit == 0 {
		opts.Limit = GateSample
	}
	if opts.Examples == 0 {
		opts.Examples = 1
	}
	r, err := Run(ctx, p, opts)
	if err != nil {
		return err
	}
	return r.Err()
}

// Run reads p's whole source once (or its first opts.Limit rows) and reports. A plan
// the mapping rejects returns a CodePlan error, a source that cannot be opened or read
// a CodeSource error; invalid rows are not errors, they are counted in the report, and
// what stops the plan from running is in Blockers and Err.
func Run(ctx context.Context, p *strategies.Plan, opts Options) (*Report, error) {
	start := time.Now()
	opts = opts.withDefaults()
	src, err := sources.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	if opts.Mapping.Verifier == nil {
		if opts.Mapping.Verifier, err = sources.Verifier(ctx, p, src); err != nil {
			return nil, err
		}
	}
	m, err := mapping.New(p, opts.Mapping)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	r := &Report{
		Plan:       p.File,
		Source:     describeSource(p),
		hashes:     targets.Hashes(p),
		Identifier: m.Identifier(),
		Invalid:    map[string]int64{},
		Examples:   map[string][]Problem{},
		Formats:    map[string]FormatStat{},
		Warned:     map[string]int64{},
	}
	r.Profile, r.Rules = r.hashes.Name(), r.hashes.Rules()
	r.Lockouts = lockoutTargets(p)
	sc := &scan{r: r, opts: opts, m: m, start: start, total: -1}
	// The schema gives progress its total and checkColumns the columns. A sampled run
	// (the gate, on every run's start) has no progress to show and gets its columns
	// from the records, so it asks only when there was no record to go by.
	describe := func() {
		if d, ok := src.(sources.Describer); ok {
			if s, err := d.Describe(ctx); err == nil {
				sc.total, sc.columns = tableInfo(p, s)
			} else {
				opts.Log.Debug("describe source", "err", err)
			}
		}
	}
	if opts.Limit == 0 || opts.Progress != nil {
		describe()
	}
	if err := sc.read(ctx, src); err != nil {
		return nil, err
	}
	if r.Rows == 0 && sc.columns == nil {
		describe()
	}
	sc.progress()
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
	r.finish(p, m, sc.columns)
	r.Seconds = time.Since(start).Seconds()
	return r, nil
}

func (o Options) withDefaults() Options {
	if o.Examples == 0 {
		o.Examples = 5
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return o
}

// scan is one pass over a source, tallying into the report.
type scan struct {
	r       *Report
	opts    Options
	m       *mapping.Mapper
	start   time.Time
	last    time.Time // last progress call
	total   int64     // estimated rows, -1 when unknown
	columns []string  // the source's columns: from its schema, else its first record
}

// errLimit ends a sampled scan early.
var errLimit = errors.New("sample complete")

// read feeds every record (up to opts.Limit) to row.
func (sc *scan) read(ctx context.Context, src sources.Source) error {
	r := sc.r
	sc.last = time.Now()
	err := src.Read(ctx, "", func(rec sources.Record) error {
		if sc.opts.Limit > 0 && r.Rows >= sc.opts.Limit {
			r.Sampled = true
			return errLimit
		}
		r.Rows++
		if r.Rows%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
			if time.Since(sc.last) >= sc.opts.ProgressEvery {
				sc.last = time.Now()
				sc.progress()
			}
		}
		sc.row(rec)
		return nil
	})
	switch {
	case err == nil, errors.Is(err, errLimit):
		return nil
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return &strategies.Error{Code: strategies.CodeCancelled, Message: fmt.Sprintf("preflight stopped after %d rows", r.Rows), Err: err}
	case strategies.CodeOf(err) != "":
		return err
	}
	return &strategies.Error{Code: strategies.CodeSource, Message: fmt.Sprintf("read the source (after %d rows)", r.Rows), Err: err}
}

// row maps and tallies one record.
func (sc *scan) row(rec sources.Record) {
	r := sc.r
	if rec.Err != nil {
		r.invalid(sc.opts, rec, []*strategies.Error{asRowError(rec)})
		return
	}
	if sc.columns == nil && len(rec.Fields) > 0 {
		// No schema (a query, a JSON export): the first record's fields say what there is.
		for k := range rec.Fields {
			sc.columns = append(sc.columns, k)
		}
		sort.Strings(sc.columns)
	}
	r.mapped++
	u, errs := sc.m.Map(rec)
	if len(errs) > 0 {
		r.invalid(sc.opts, rec, errs)
		return
	}
	r.Valid++
	for _, w := range u.Warnings {
		r.Warned[w.Field]++
	}
	r.countLockouts(u)
	if u.PasswordFormat == "" {
		r.WithoutPassword++
		return
	}
	st, ok := r.Formats[u.PasswordFormat]
	if !ok {
		st.Importable = r.hashes.Importable(u.PasswordFormat)
		st.Weak = sc.m.Weak(u.PasswordFormat)
	}
	st.Count++
	r.Formats[u.PasswordFormat] = st
	if st.Importable {
		r.Importable++
	} else {
		r.NotImportable++
	}
}

// progress reports to opts.Progress.
func (sc *scan) progress() {
	if sc.opts.Progress == nil {
		return
	}
	r := sc.r
	el := time.Since(sc.start)
	pr := strategies.Progress{Phase: "preflight", Total: sc.total, Done: r.Rows,
		Counts: map[strategies.Outcome]int64{strategies.OutcomeInvalid: r.InvalidRows}}
	if s := el.Seconds(); s > 0 {
		pr.Rate = float64(r.Rows) / s
		if sc.total > r.Rows && pr.Rate > 0 {
			pr.ETA = time.Duration(float64(sc.total-r.Rows) / pr.Rate * float64(time.Second))
		}
	}
	sc.opts.Progress(pr)
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
	// Sorted, as columns read from a record are: the gate (which reads records) and plan
	// check (which asks the schema) then print the same message.
	slices.Sort(cols)
	return t.EstimatedRows, cols
}

// finish adds warnings, blockers and the recommendation.
func (r *Report) finish(p *strategies.Plan, m *mapping.Mapper, columns []string) {
	r.checkColumns(p, m, columns)
	r.checkPasswords(p, m)
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
	for _, k := range slices.Sorted(maps.Keys(r.Warned)) {
		r.Warnings = append(r.Warnings, fmt.Sprintf("mapping.%s: %d users move without it, its value being invalid (see the outcome warnings); fix the source, or set mapping.strict_profile: true to reject those rows", k, r.Warned[k]))
	}
	r.checkRows()
	for _, e := range r.problems {
		r.Blockers = append(r.Blockers, e.Error())
	}
	r.CanRun = len(r.problems) == 0
	r.Recommendation = r.recommend()
	r.finishLockouts()
	r.adviseDirectory(p, columns) // directory.go
}

// checkColumns reports mapped columns that no row has. Databases and CSV files give
// every record every column, so there a column no record has is not in the source: a
// misspelt mapping, and an error naming the plan line and the columns there are. In
// JSON exports optional fields are simply left out, so there it is a warning.
func (r *Report) checkColumns(p *strategies.Plan, m *mapping.Mapper, columns []string) {
	absent := m.Absent()
	complete := completeRecords(p.Source.Kind)
	have := ""
	if len(columns) > 0 {
		have = " (the source has " + strings.Join(columns, ", ") + ")"
	}
	for _, f := range p.Mapping.Fields() {
		missing := r.mapped > 0 && absent[f.Key] >= r.mapped
		if r.mapped == 0 { // no record to go by (a header-only file): ask the schema
			missing = len(columns) > 0 && !slices.Contains(columns, f.Ref.Column)
		}
		switch {
		case !missing:
		case complete:
			r.problems = append(r.problems, p.PlanError("mapping."+f.Key,
				"names the column %q, which the source does not have%s; correct the column name or remove the key", f.Ref.Column, have))
		default:
			r.Warnings = append(r.Warnings, fmt.Sprintf("mapping.%s: no row has the column %q; check its spelling%s", f.Key, f.Ref.Column, have))
		}
	}
}

// completeRecords reports whether every record of a source kind has every column
// (databases, CSV), so a column no record has is not there at all; sparse kinds
// (JSON exports, directory entries) leave out what a record does not have.
func completeRecords(kind string) bool {
	k, _ := strategies.SourceKindOf(kind)
	return !k.Sparse
}

// checkPasswords reports a password column that holds no hash in any row read: users
// would silently move without passwords, which a plan must say on purpose.
func (r *Report) checkPasswords(p *strategies.Plan, m *mapping.Mapper) {
	mp := p.Mapping
	if mp.PasswordHash.IsZero() || strings.TrimSpace(mp.PasswordFormat) == strategies.PasswordFormatNone ||
		p.Strategy == strategies.StrategyAuthOnly || r.mapped == 0 || m.Hashes() > 0 {
		return
	}
	if completeRecords(p.Source.Kind) && m.Absent()["password_hash"] >= r.mapped {
		return // not a column of the source: checkColumns said so
	}
	r.problems = append(r.problems, p.PlanError("mapping.password_hash",
		"the column %q holds no password hash in any of the %s rows read, so every user would move without a password; map the column that holds the hashes, or set mapping.password_format: none to move users without passwords on purpose",
		mp.PasswordHash.Column, strategies.GroupDigits(r.mapped)))
}

// checkRows reports a source with nothing to import.
func (r *Report) checkRows() {
	nothing := func(format string, args ...any) {
		// No file: the message is about the source, and plan check's report names it.
		r.problems = append(r.problems, &strategies.Error{Code: strategies.CodeNothingToImport, Message: fmt.Sprintf(format, args...)})
	}
	switch {
	case r.Rows == 0:
		nothing("the source has no rows; check source.path, source.table or source.query")
	case r.Valid == 0:
		which := "no row is valid"
		if r.Sampled {
			which = fmt.Sprintf("no row is valid among the first %s", strategies.GroupDigits(r.Rows))
		}
		reason := reasonsByCount(r.Invalid)[0]
		verb := "are"
		if r.Invalid[reason] == 1 {
			verb = "is"
		}
		why := fmt.Sprintf("%s of them %s %s", strategies.GroupDigits(r.Invalid[reason]), verb, reason)
		if ex := r.Examples[reason]; len(ex) > 0 {
			loc := fmt.Sprintf("row %d", ex[0].Row)
			if ex[0].Field != "" {
				loc += " " + ex[0].Field
			}
			why += fmt.Sprintf(" (%s: %s)", loc, ex[0].Message)
		}
		nothing("%s: %s; fix the mapping or the source (often a wrong column in mapping)", which, why)
	}
}

// reasonsByCount orders reasons, most rows first.
func reasonsByCount(m map[string]int64) []string {
	keys := slices.Collect(maps.Keys(m))
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || m[keys[i]] == m[keys[j]] && keys[i] < keys[j] })
	return keys
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
	switch r.Profile {
	case strategies.ProfileAuthgear:
		target = "Authgear (bcrypt only)"
	case "kratos":
		target = "Ory Kratos (translated)"
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

// ProgressPrinter returns a Progress function that writes "checked N rows of about M
// (P%), R rows/s" lines to w once quiet has passed: small sources finish before anyone
// needs a progress line.
func ProgressPrinter(w io.Writer, quiet time.Duration) func(strategies.Progress) {
	started := time.Now()
	return func(pr strategies.Progress) {
		if time.Since(started) < quiet {
			return
		}
		line := "checked " + strategies.GroupDigits(pr.Done) + " rows"
		if pr.Total > 0 {
			line += fmt.Sprintf(" of about %s (%.0f%%)", strategies.GroupDigits(pr.Total), 100*float64(pr.Done)/float64(max(pr.Total, pr.Done)))
		}
		line += fmt.Sprintf(", %s rows/s", strategies.GroupDigits(int64(pr.Rate)))
		fmt.Fprintln(w, line)
	}
}
