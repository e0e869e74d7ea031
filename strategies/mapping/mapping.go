// Package mapping turns legacy source records into canonical users. It applies the
// plan's field mapping and transforms, normalises values (emails, booleans, phone
// numbers), detects password formats, and validates every row with typed errors that
// name the row, the field and the fix. Suggest proposes a mapping from a source's columns.
package mapping

import (
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources"
)

// Options tune a Mapper beyond what the plan says.
type Options struct {
	// Verifier detects password formats; nil uses passwords.New with no options.
	Verifier *passwords.Verifier
	// ShowValues quotes offending values (emails, usernames, phone numbers) in error
	// messages. Off by default: messages then name the row, field and problem only, so
	// they can go into logs and failure files without personal data.
	ShowValues bool
	// SkipDuplicates turns off duplicate tracking, e.g. when mapping single rows on demand
	// (the lazy bridge). Tracking keeps about 30 bytes per identifier seen.
	SkipDuplicates bool
	// DupMemory is how many identifiers the duplicate index keeps in memory before moving
	// to a temporary file (default DefaultDupMemory; -1 keeps everything in memory).
	DupMemory int
}

func dupMemory(n int) int {
	switch {
	case n < 0:
		return 0
	case n == 0:
		return DefaultDupMemory
	}
	return n
}

// Field limits, close to Authgear's: longer values make the row invalid.
const (
	LimitEmail    = 320
	LimitDefault  = 255  // names, username, locale, roles, groups and other short text
	LimitURL      = 2048 // profile, picture, website
	LimitLongText = 1024 // formatted address, custom attribute text, password hash and salt
)

// kind is what a canonical field holds.
type kind int

const (
	kindString kind = iota
	kindBool
	kindList
	kindAny // custom attributes keep the value's type
)

// field is one mapped canonical field, compiled from the plan.
type field struct {
	key     string // plan key under mapping: "email", "address.locality", "custom_attributes.x"
	col     string
	tf      string
	kind    kind
	limit   int
	str     func(u *strategies.User) *string
	setBool func(u *strategies.User, b bool)
	setList func(u *strategies.User, l []string)
	attr    string // custom attribute name
	absent  int64  // rows that lack the column
}

// Mapper maps and validates the records of one source. It remembers the identifiers it
// has seen to report duplicates, so Map must be called in source order from a single
// goroutine; use one Mapper per pass over a source.
type Mapper struct {
	plan       *strategies.Plan
	opts       Options
	fields     []field
	identifier string // canonical field users are identified by at the target
	format     string // password_format: "" (auto), a name, or "recipe:..."
	region     string // default phone region, upper case
	verifier   *passwords.Verifier
	dups       map[string]*dupIndex // identifier field -> seen identifiers
	weak       map[string]bool      // detected formats flagged weak
	// noPasswords: mapping.password_format is "none", users move without passwords on
	// purpose, so whatever the hash column holds is dropped.
	noPasswords bool
	hashes      int64 // rows with a value in the password_hash column
}

// New compiles the plan's mapping. A transform that does not fit its field, an unknown
// phone region or an identifier that is not mapped is a plan error naming the key.
func New(p *strategies.Plan, opts Options) (*Mapper, error) {
	m := &Mapper{
		plan:       p,
		opts:       opts,
		identifier: p.Identifier(),
		format:     strings.TrimSpace(p.Mapping.PasswordFormat),
		verifier:   opts.Verifier,
		weak:       map[string]bool{},
	}
	if m.format == "auto" {
		m.format = ""
	}
	if m.format == strategies.PasswordFormatNone {
		m.format, m.noPasswords = "", true
	}
	planErr := func(key, format string, args ...any) error {
		return &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: key, Message: fmt.Sprintf(format, args...)}
	}
	if r := strings.TrimSpace(p.Mapping.PhoneRegion); r != "" {
		m.region = strings.ToUpper(r)
		if !phonenumbers.GetSupportedRegions()[m.region] {
			return nil, planErr("mapping.phone_region", "%q is not a region phone numbers know; use a two-letter ISO 3166 code such as US, GB or DE", r)
		}
	}
	for _, nf := range p.Mapping.Fields() {
		f, err := compile(nf)
		if err != nil {
			return nil, planErr("mapping."+nf.Key, "%s", err.Error())
		}
		m.fields = append(m.fields, f)
	}
	if m.format != "" {
		if _, ok := passwords.Describe(m.format); !ok {
			return nil, planErr("mapping.password_format", "%q is not a format cutover knows; use auto, a name from 'cutover hash detect --help', or recipe:<expression>", m.format)
		}
	}
	if !m.mapped(m.identifier) {
		return nil, planErr("bulk.identifier", "users are identified by %s, but mapping.%s is not set; map it or choose another identifier", m.identifier, m.identifier)
	}
	if m.verifier == nil {
		v, err := passwords.New(passwords.Options{})
		if err != nil {
			return nil, fmt.Errorf("set up password detection: %w", err)
		}
		m.verifier = v
	}
	if !opts.SkipDuplicates {
		m.dups = map[string]*dupIndex{}
		for _, id := range []string{"email", "phone_number", "preferred_username"} {
			if m.mapped(id) {
				m.dups[id] = newDupIndex(dupMemory(opts.DupMemory))
			}
		}
	}
	return m, nil
}

func (m *Mapper) mapped(key string) bool {
	return slices.ContainsFunc(m.fields, func(f field) bool { return f.key == key })
}

// transformsFor lists the transforms each kind of field accepts.
var transformsFor = map[kind][]string{
	kindString: {"", "lower", "upper", "trim", "string", "rdn"},
	kindBool:   {"", "bool", "not", "verified_at", "ad_disabled"},
	kindList:   {"", "split", "lower", "upper", "trim", "rdn"},
	kindAny:    append([]string{""}, strategies.Transforms...),
}

// stringField is a canonical text field: its limit and where it lives in a User.
type stringField struct {
	limit int
	get   func(u *strategies.User) *string
}

// userStrings are the User's text fields by plan key; one table, so adding a field is
// one line.
var userStrings = map[string]stringField{
	"legacy_id":          {LimitDefault, func(u *strategies.User) *string { return &u.LegacyID }},
	"email":              {LimitEmail, func(u *strategies.User) *string { return &u.Email }},
	"phone_number":       {64, func(u *strategies.User) *string { return &u.PhoneNumber }}, // as written; E.164 is at most 16
	"preferred_username": {LimitDefault, func(u *strategies.User) *string { return &u.PreferredUsername }},
	"name":               {LimitDefault, func(u *strategies.User) *string { return &u.Name }},
	"given_name":         {LimitDefault, func(u *strategies.User) *string { return &u.GivenName }},
	"family_name":        {LimitDefault, func(u *strategies.User) *string { return &u.FamilyName }},
	"middle_name":        {LimitDefault, func(u *strategies.User) *string { return &u.MiddleName }},
	"nickname":           {LimitDefault, func(u *strategies.User) *string { return &u.Nickname }},
	"profile":            {LimitURL, func(u *strategies.User) *string { return &u.Profile }},
	"picture":            {LimitURL, func(u *strategies.User) *string { return &u.Picture }},
	"website":            {LimitURL, func(u *strategies.User) *string { return &u.Website }},
	"gender":             {LimitDefault, func(u *strategies.User) *string { return &u.Gender }},
	"birthdate":          {LimitDefault, func(u *strategies.User) *string { return &u.Birthdate }},
	"zoneinfo":           {LimitDefault, func(u *strategies.User) *string { return &u.Zoneinfo }},
	"locale":             {LimitDefault, func(u *strategies.User) *string { return &u.Locale }},
	"password_hash":      {LimitLongText, func(u *strategies.User) *string { return &u.PasswordHash }},
	"password_salt":      {LimitLongText, func(u *strategies.User) *string { return &u.PasswordSalt }},
}

// addressParts are the address claim's parts by plan key.
var addressParts = map[string]struct {
	limit int
	get   func(a *strategies.Address) *string
}{
	"address.formatted":      {LimitLongText, func(a *strategies.Address) *string { return &a.Formatted }},
	"address.street_address": {LimitDefault, func(a *strategies.Address) *string { return &a.StreetAddress }},
	"address.locality":       {LimitDefault, func(a *strategies.Address) *string { return &a.Locality }},
	"address.region":         {LimitDefault, func(a *strategies.Address) *string { return &a.Region }},
	"address.postal_code":    {LimitDefault, func(a *strategies.Address) *string { return &a.PostalCode }},
	"address.country":        {LimitDefault, func(a *strategies.Address) *string { return &a.Country }},
}

func compile(nf strategies.NamedField) (field, error) {
	f := field{key: nf.Key, col: nf.Ref.Column, tf: nf.Ref.Transform, kind: kindString, limit: LimitDefault}
	if err := f.bind(nf.Key); err != nil {
		return f, err
	}
	if f.col == "" {
		return f, fmt.Errorf("the column is empty; name the source column or remove the key")
	}
	allowed := transformsFor[f.kind]
	if nf.Key == "phone_number" {
		allowed = append(slices.Clone(allowed), "e164")
	}
	if !slices.Contains(allowed, f.tf) {
		return f, fmt.Errorf("transform %q does not apply to this field; use one of %s", f.tf, strings.Join(slices.DeleteFunc(slices.Clone(allowed), func(s string) bool { return s == "" }), ", "))
	}
	return f, nil
}

// bind sets what kind of value the field holds and where it goes in a User.
func (f *field) bind(key string) error {
	if sf, ok := userStrings[key]; ok {
		f.limit, f.str = sf.limit, sf.get
		return nil
	}
	if ap, ok := addressParts[key]; ok {
		f.limit = ap.limit
		f.str = func(u *strategies.User) *string {
			if u.Address == nil {
				u.Address = &strategies.Address{}
			}
			return ap.get(u.Address)
		}
		return nil
	}
	switch key {
	case "email_verified":
		f.kind = kindBool
		f.setBool = func(u *strategies.User, b bool) { u.EmailVerified = &b }
	case "phone_number_verified":
		f.kind = kindBool
		f.setBool = func(u *strategies.User, b bool) { u.PhoneNumberVerified = &b }
	case "disabled":
		f.kind = kindBool
		f.setBool = func(u *strategies.User, b bool) { u.Disabled = b }
	case "roles":
		f.kind = kindList
		f.setList = func(u *strategies.User, l []string) { u.Roles = l }
	case "groups":
		f.kind = kindList
		f.setList = func(u *strategies.User, l []string) { u.Groups = l }
	default:
		name, ok := strings.CutPrefix(key, "custom_attributes.")
		if !ok {
			return fmt.Errorf("cutover does not know this field")
		}
		f.kind, f.attr, f.limit = kindAny, name, LimitLongText
	}
	return nil
}

// Map turns one record into a user and validates it. The user is returned even when
// the row is invalid (for reports); errs lists every problem, the most important first:
// identifiers, duplicates, then other fields and the password hash.
func (m *Mapper) Map(rec sources.Record) (*strategies.User, []*strategies.Error) {
	u := &strategies.User{Row: rec.Row, Line: rec.Line}
	var errs []*strategies.Error
	bad := func(key string, code strategies.Code, format string, args ...any) {
		errs = append(errs, &strategies.Error{Code: code, Row: rec.Row, Line: rec.Line, Field: key, Message: fmt.Sprintf(format, args...)})
	}
	var shapes map[*strategies.Error]string // only rows with problems pay for it
	for i := range m.fields {
		f := &m.fields[i]
		v, ok := lookup(rec.Fields, f.col)
		if !ok {
			f.absent++
			continue
		}
		n := len(errs)
		m.apply(f, u, v, bad)
		for _, e := range errs[n:] {
			if shapes == nil {
				shapes = map[*strategies.Error]string{}
			}
			s, _ := text(v)
			shapes[e] = valueShape(s)
		}
	}
	if m.noPasswords {
		u.PasswordHash, u.PasswordSalt = "", ""
	} else if u.PasswordHash != "" {
		m.hashes++
	}
	m.checkIdentifiers(u, errs, bad)
	m.checkPassword(u, errs, bad)
	if len(errs) > 0 {
		errs = m.demote(u, errs, shapes)
	}
	slices.SortStableFunc(errs, func(a, b *strategies.Error) int { return rank(a.Code) - rank(b.Code) })
	return u, errs
}

// Hashes returns how many rows so far had a value in the password_hash column: none at
// all in a source whose plan maps one means the mapping names the wrong column.
func (m *Mapper) Hashes() int64 { return m.hashes }

type badFunc func(key string, code strategies.Code, format string, args ...any)

// apply converts and stores one value, reporting what cannot be converted.
func (m *Mapper) apply(f *field, u *strategies.User, v any, bad badFunc) {
	switch f.kind {
	case kindBool:
		b, known, err := m.boolValue(f, v)
		if err != nil {
			bad(f.key, strategies.CodeInvalidValue, "%v; use true/false, t/f, 1/0 or yes/no", err)
		} else if known {
			f.setBool(u, b)
		}
	case kindList:
		l := listFor(f.tf, v)
		for i, e := range l {
			if e = m.stringTransform(f.tf, e); !m.checkText(f, e, bad) {
				return
			}
			l[i] = e
		}
		f.setList(u, l)
	case kindString:
		s, _ := text(v)
		s = m.stringTransform(f.tf, strings.TrimSpace(s))
		if !m.checkText(f, s, bad) {
			return
		}
		if p := profileProblem(f.key, s); p != "" {
			bad(f.key, strategies.CodeInvalidValue, "%s%s", or(m.quote(s), "the value")+" ", p)
			return
		}
		*f.str(u) = s
	case kindAny:
		if v = m.anyValue(f, v, bad); v != nil {
			if u.CustomAttributes == nil {
				u.CustomAttributes = map[string]any{}
			}
			u.CustomAttributes[f.attr] = v
		}
	}
}

func (m *Mapper) boolValue(f *field, v any) (b, known bool, err error) {
	switch f.tf {
	case "verified_at":
		return verifiedAt(v), true, nil
	case "ad_disabled":
		return adDisabled(v)
	case "not":
		b, known, err = parseBool(v)
		return !b, known, err
	}
	b, known, err = parseBool(v)
	if err != nil && (f.key == "email_verified" || f.key == "phone_number_verified") && looksLikeTime(v) {
		// A "verified" column holding the time of verification.
		return true, true, nil
	}
	return b, known, err
}

func (m *Mapper) stringTransform(tf, s string) string {
	switch tf {
	case "lower":
		return strings.ToLower(s)
	case "upper":
		return strings.ToUpper(s)
	case "rdn":
		return rdnValue(s)
	}
	return s
}

// checkText rejects text that is not UTF-8 or longer than the field's limit.
func (m *Mapper) checkText(f *field, s string, bad badFunc) bool {
	if !utf8.ValidString(s) {
		bad(f.key, strategies.CodeInvalidValue, "is not valid UTF-8 text; re-export the source as UTF-8 (it may be in Latin-1 or Windows-1252)")
		return false
	}
	if n := utf8.RuneCountInString(s); n > f.limit {
		bad(f.key, strategies.CodeTooLong, "is %d characters long, over the limit of %d; shorten it in the source or unmap mapping.%s", n, f.limit, f.key)
		return false
	}
	return true
}

// anyValue converts a custom attribute, keeping numbers and booleans typed.
func (m *Mapper) anyValue(f *field, v any, bad badFunc) any {
	switch f.tf {
	case "bool", "not", "verified_at", "ad_disabled":
		b, known, err := m.boolValue(f, v)
		if err != nil {
			bad(f.key, strategies.CodeInvalidValue, "%v; use true/false, t/f, 1/0 or yes/no", err)
			return nil
		}
		if !known {
			return nil
		}
		return b
	case "split":
		l := list(v)
		for _, e := range l {
			if !m.checkText(f, e, bad) {
				return nil
			}
		}
		if l == nil {
			return nil
		}
		return l
	case "e164":
		s, ok := text(v)
		if s = strings.TrimSpace(s); !ok || s == "" {
			return nil
		}
		e, problem := m.phone(s)
		if problem != "" {
			bad(f.key, strategies.CodeInvalidPhone, "%s", problem)
			return nil
		}
		return e
	case "lower", "upper", "trim", "string", "rdn":
		s, ok := text(v)
		if !ok {
			return nil
		}
		s = m.stringTransform(f.tf, strings.TrimSpace(s))
		if !m.checkText(f, s, bad) {
			return nil
		}
		return s
	}
	switch x := v.(type) {
	case nil:
		return nil
	case int64, int, int32, float64, bool, []any, map[string]any:
		return x
	}
	s, _ := text(v)
	s = strings.TrimSpace(s)
	if !m.checkText(f, s, bad) {
		return nil
	}
	return s
}

// rank orders a row's problems: the first one is the row's reason in reports.
func rank(c strategies.Code) int {
	switch c {
	case strategies.CodeMissingIdentifier:
		return 0
	case strategies.CodeInvalidEmail, strategies.CodeInvalidPhone:
		return 1
	case strategies.CodeDuplicate:
		return 2
	case strategies.CodeTooLong:
		return 3
	case strategies.CodeInvalidValue:
		return 4
	}
	return 5
}

// Absent returns, per plan key, how many rows so far lacked the mapped column. A key
// absent from every row usually means a misspelt column name.
func (m *Mapper) Absent() map[string]int64 {
	out := map[string]int64{}
	for _, f := range m.fields {
		if f.absent > 0 {
			out[f.key] = f.absent
		}
	}
	return out
}

// DuplicateGroups returns how many identifiers so far were shared by more than one row.
func (m *Mapper) DuplicateGroups() int64 {
	var n int64
	for _, d := range m.dups {
		n += d.groups
	}
	return n
}

// Close releases the duplicate index's temporary file. It returns the first error the
// index met reading or writing that file; after such an error duplicates may have gone
// unreported, so callers treat it as a failed pass.
func (m *Mapper) Close() error {
	var first error
	for _, d := range m.dups {
		if err := d.close(); err != nil && first == nil {
			first = fmt.Errorf("duplicate index: %w", err)
		}
	}
	return first
}

// Weak reports whether a detected password format is flagged weak (plain md5, sha1...).
func (m *Mapper) Weak(format string) bool { return m.weak[format] }

// Identifier returns the canonical field users are identified by at the target.
func (m *Mapper) Identifier() string { return m.identifier }

// quote renders a value for a message when Options.ShowValues allows it.
func (m *Mapper) quote(s string) string {
	if !m.opts.ShowValues {
		return ""
	}
	return fmt.Sprintf(" %q", clip(s, 64))
}
