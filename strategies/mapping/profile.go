package mapping

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	_ "time/tzdata" // zoneinfo is checked against the IANA names even where the system has no tz database
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/language"

	"github.com/cutover/cutover/strategies"
)

// profileProblem checks an optional profile value the way the real IdP's user schema
// does (OIDC standard claims): it returns "" for a good value, else what is wrong and
// what a good value looks like. Values the target takes as free text are not checked.
func profileProblem(key, s string) string {
	if s == "" {
		return ""
	}
	switch key {
	case "birthdate":
		if !birthdate(s) {
			return "is not a date the target accepts; write YYYY-MM-DD (or YYYY, or 0000-MM-DD without the year)"
		}
	case "profile", "picture", "website":
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return "is not an absolute http(s) URL; write e.g. https://example.com/me"
		}
	case "locale":
		if _, err := language.Parse(s); err != nil {
			return "is not a BCP 47 language tag; write e.g. en, en-GB or pt-BR"
		}
	case "zoneinfo":
		if _, err := time.LoadLocation(s); err != nil || s == "Local" {
			return "is not an IANA time zone name; write e.g. Europe/Paris or America/New_York"
		}
	}
	return ""
}

// birthdate accepts OIDC's birthdate forms: a full date, a year alone, or a date whose
// year is 0000 (year withheld).
func birthdate(s string) bool {
	switch len(s) {
	case 4:
		_, err := time.Parse("2006", s)
		return err == nil
	case 10:
		if strings.HasPrefix(s, "0000-") {
			s = "2000" + s[4:] // a leap year, so 0000-02-29 passes
		}
		_, err := time.Parse(time.DateOnly, s)
		return err == nil
	}
	return false
}

// strict reports whether a problem on this field makes the row invalid whatever
// mapping.strict_profile says: the identifier (the user could not sign in without it),
// the password (a dropped hash is a locked-out user: that is bulk.unsupported_hash's
// decision, made knowingly), the legacy id (the key back to the source), and disabled
// (dropping it would let a disabled user in).
func (m *Mapper) strict(key string) bool {
	switch key {
	case m.identifier, "password_hash", "password_salt", "legacy_id", "disabled":
		return true
	}
	return m.plan.Mapping.StrictProfile
}

// demote turns the problems of optional fields into warnings on u and removes those
// fields' values, so the user moves without them; it returns the problems that still
// make the row invalid. shapes holds the shape of values apply could not convert.
func (m *Mapper) demote(u *strategies.User, errs []*strategies.Error, shapes map[*strategies.Error]string) []*strategies.Error {
	keep := errs[:0]
	for _, e := range errs {
		if m.strict(e.Field) {
			keep = append(keep, e)
			continue
		}
		sh, ok := shapes[e]
		if !ok {
			sh = valueShape(m.dropIdentifier(u, e.Field))
		}
		w := *e
		w.Message = fmt.Sprintf("dropped, the user moves without it (value shaped %q): %s; or set mapping.strict_profile: true to reject such rows", sh, e.Message)
		u.Warnings = append(u.Warnings, &w)
	}
	return keep
}

// dropIdentifier clears an email, phone number or username that is not the plan's
// identifier (checkIdentifiers validates those after they were set) and returns it.
func (m *Mapper) dropIdentifier(u *strategies.User, key string) string {
	var p *string
	switch key {
	case "email":
		p = &u.Email
	case "phone_number":
		p = &u.PhoneNumber
	case "preferred_username":
		p = &u.PreferredUsername
	default:
		return ""
	}
	v := *p
	*p = ""
	return v
}

// valueShape describes a value without giving it away: digits become 9, letters a or A,
// other characters stay, and long values are cut. "+15550000001" is "+99999999999".
func valueShape(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == 32 {
			b.WriteString("…")
			break
		}
		n++
		switch {
		case unicode.IsDigit(r):
			b.WriteByte('9')
		case unicode.IsUpper(r):
			b.WriteByte('A')
		case unicode.IsLetter(r):
			b.WriteByte('a')
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&b, "<U+%04X>", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
