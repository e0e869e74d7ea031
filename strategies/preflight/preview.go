package preflight

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/mapping"
	"github.com/cutover/cutover/strategies/sources"
)

// previewColumns are the canonical fields the preview table shows, when mapped, in order.
func previewColumns() []string {
	return []string{"legacy_id", "email", "phone_number", "preferred_username", "name", "disabled"}
}

// hashShown is how much of a password hash the preview shows: enough to recognise the
// scheme ($2b$12$…, pbkdf2_sha256$…), never enough to be the hash.
const hashShown = 12

// Preview maps and validates the first n records for the preview table, then runs
// the preflight over the whole source for the validation summary, the password-format
// histogram and the recommended strategy.
func Preview(ctx context.Context, p *strategies.Plan, n int, progress func(strategies.Progress)) (strategies.Preview, error) {
	var res strategies.Preview
	if p.Strategy == strategies.StrategyAuthOnly {
		p = p.IdentifiersOnly() // preview what the run imports: no password fields
	}
	m, err := mapping.New(p, mapping.Options{})
	if err != nil {
		return res, err
	}
	res.Columns = previewHeader(p)
	if res.Rows, err = previewRows(ctx, p, m, res.Columns, n); err != nil {
		return res, err
	}

	rep, err := Run(ctx, p, Options{Examples: 1, Progress: progress, ProgressEvery: 250 * time.Millisecond})
	if err != nil {
		return res, err
	}
	summarize(&res, rep)
	if p.Strategy == strategies.StrategyAuthOnly {
		res.Formats = nil
		res.Recommendation = fmt.Sprintf("authonly: %d valid users move as identifiers only; their password hashes stay in the legacy table and they sign in at the IdP without them", rep.Valid)
	}
	return res, nil
}

// previewHeader lists the preview table's columns: only the fields the plan maps, so an
// unmapped field does not show as a column of blanks, and the hash columns only when
// there is a hash.
func previewHeader(p *strategies.Plan) []string {
	cols := []string{"row"}
	for _, c := range previewColumns() {
		if !mappedField(p, c) {
			continue
		}
		cols = append(cols, c)
	}
	if !p.Mapping.PasswordHash.IsZero() {
		cols = append(cols, "format", "hash")
	}
	return append(cols, "problem")
}

// previewRows maps the source's first n records into table rows. A record the source
// could not read still gets a row, with its problem, so the preview shows what the run
// would refuse.
func previewRows(ctx context.Context, p *strategies.Plan, m *mapping.Mapper, cols []string, n int) ([][]string, error) {
	src, err := sources.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	var rows [][]string
	// Stopping the read with an error is the only way to end it early; this one is not
	// reported.
	errEnough := errors.New("enough rows")
	err = src.Read(ctx, "", func(rec sources.Record) error {
		row := make([]string, 0, len(cols))
		var u *strategies.User
		var problems []*strategies.Error
		if rec.Err != nil {
			u = &strategies.User{Row: rec.Row}
			problems = []*strategies.Error{asStrategiesError(rec.Err)}
		} else {
			u, problems = m.Map(rec)
		}
		for _, c := range cols {
			row = append(row, previewCell(c, u, rec, problems))
		}
		rows = append(rows, row)
		if len(rows) >= n {
			return errEnough
		}
		return nil
	})
	if err != nil && !errors.Is(err, errEnough) {
		return rows, err
	}
	return rows, nil
}

// summarize copies the whole-source preflight into the preview: counts, one example per
// reason in a stable order, and the format histogram with the commonest first.
func summarize(res *strategies.Preview, rep *Report) {
	res.Total = rep.Rows
	res.Invalid = map[string]int{}
	for k, v := range rep.Invalid {
		res.Invalid[k] = int(v)
	}
	for _, k := range slices.Sorted(maps.Keys(rep.Examples)) {
		for _, e := range rep.Examples[k] {
			res.Examples = append(res.Examples, strategies.InvalidExample{Row: e.Row, Reason: k, Detail: e.Message})
		}
	}
	for name, f := range rep.Formats {
		res.Formats = append(res.Formats, strategies.FormatCount{Format: name, Count: int(f.Count), Importable: f.Importable})
	}
	slices.SortFunc(res.Formats, func(a, b strategies.FormatCount) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.Format, b.Format)
	})
	if rep.WithoutPassword > 0 {
		res.Formats = append(res.Formats, strategies.FormatCount{Format: "(no password)", Count: int(rep.WithoutPassword), Importable: true})
	}
	res.Recommendation = recommendation(rep)
	res.Lockouts = lockoutLines(rep)
}

// recommendation renders the preflight's advice in one paragraph.
func recommendation(rep *Report) string {
	r := rep.Recommendation
	var b strings.Builder
	switch {
	case r.Strategy == "":
	case r.UnsupportedHash != "":
		fmt.Fprintf(&b, "%s with unsupported_hash: %s. ", r.Strategy, r.UnsupportedHash)
	case r.Sweep:
		fmt.Fprintf(&b, "%s, then a sweep. ", r.Strategy)
	default:
		fmt.Fprintf(&b, "%s. ", r.Strategy)
	}
	b.WriteString(r.Reason)
	for _, bl := range rep.Blockers {
		b.WriteString(" Blocker: " + bl)
	}
	return b.String()
}

// mappedField reports whether a canonical preview column is mapped in the plan.
func mappedField(p *strategies.Plan, c string) bool {
	m := p.Mapping
	switch c {
	case "legacy_id":
		return !m.LegacyID.IsZero()
	case "email":
		return !m.Email.IsZero()
	case "phone_number":
		return !m.PhoneNumber.IsZero()
	case "preferred_username":
		return !m.PreferredUsername.IsZero()
	case "name":
		return !m.Name.IsZero()
	case "disabled":
		return !m.Disabled.IsZero()
	}
	return false
}

// previewCell is one cell of the preview table. Hashes are cut to hashShown characters.
func previewCell(col string, u *strategies.User, rec sources.Record, problems []*strategies.Error) string {
	switch col {
	case "row":
		return strconv.Itoa(rec.Row)
	case "legacy_id":
		return u.LegacyID
	case "email":
		return u.Email
	case "phone_number":
		return u.PhoneNumber
	case "preferred_username":
		return u.PreferredUsername
	case "name":
		return u.Name
	case "disabled":
		if u.Disabled {
			return "yes"
		}
		return ""
	case "format":
		return u.PasswordFormat
	case "hash":
		h := []rune(u.PasswordHash)
		if len(h) > hashShown {
			return string(h[:hashShown]) + "…"
		}
		if len(h) > 0 {
			return "…" // a short value is shown as present, never in full
		}
		return ""
	case "problem":
		if len(problems) == 0 {
			return "ok"
		}
		e := problems[0]
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return ""
}

// asStrategiesError returns err as a typed error for the preview's problem column.
func asStrategiesError(err error) *strategies.Error {
	var e *strategies.Error
	if errors.As(err, &e) {
		return e
	}
	return &strategies.Error{Code: strategies.CodeSource, Message: err.Error()}
}
