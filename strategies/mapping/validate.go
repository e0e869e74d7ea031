package mapping

import (
	"errors"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
)

// checkIdentifiers validates email and phone number, requires the plan's identifier and
// reports duplicates. Fields that already failed are not reported twice.
func (m *Mapper) checkIdentifiers(u *strategies.User, errs []*strategies.Error, bad badFunc) {
	failed := map[string]bool{}
	for _, e := range errs {
		failed[e.Field] = true
	}
	if u.Email != "" && !failed["email"] {
		if p := emailProblem(u.Email); p != "" {
			bad("email", strategies.CodeInvalidEmail, "%s is not a valid email address: %s; correct it in the source, or empty it if the user signs in another way", or(m.quote(u.Email), "the value"), p)
			failed["email"] = true
		}
	}
	if u.PhoneNumber != "" && !failed["phone_number"] {
		e, p := m.phone(u.PhoneNumber)
		if p != "" {
			bad("phone_number", strategies.CodeInvalidPhone, "%s", p)
			failed["phone_number"] = true
		} else {
			u.PhoneNumber = e
		}
	}
	ids := map[string]string{"email": u.Email, "phone_number": u.PhoneNumber, "preferred_username": u.PreferredUsername}
	if ids[m.identifier] == "" && !failed[m.identifier] {
		if u.Email == "" && u.PhoneNumber == "" && u.PreferredUsername == "" && !failed["email"] && !failed["phone_number"] && !failed["preferred_username"] {
			bad(m.identifier, strategies.CodeMissingIdentifier, "is empty and the row has no other email, phone number or username; a user needs one to sign in: fill one in the source or leave the row out")
		} else {
			bad(m.identifier, strategies.CodeMissingIdentifier, "is empty, and users are identified by %s; fill it in the source, or set bulk.identifier to a field every user has", m.identifier)
		}
		failed[m.identifier] = true
	}
	for _, id := range []string{"email", "phone_number", "preferred_username"} {
		d := m.dups[id]
		v := ids[id]
		if d == nil || v == "" || failed[id] {
			continue
		}
		if winner, dup := d.add(v, u.Row); dup {
			what := "ignoring case"
			if id == "phone_number" {
				what = "in E.164 form"
			}
			subject := "the same"
			if q := m.quote(v); q != "" {
				subject = strings.TrimSpace(q) + " is the same"
			}
			bad(id, strategies.CodeDuplicate, "duplicate of row %d: %s %s %s; the first row wins, so merge the two users in the source or drop this row", winner, subject, strings.ReplaceAll(id, "_", " "), what)
		}
	}
}

func or(a, b string) string {
	if a != "" {
		return strings.TrimSpace(a)
	}
	return b
}

// Limits of an address in octets (RFC 5321 4.5.3.1), which the real Authgear enforces.
const (
	maxLocalOctets   = 64
	maxAddressOctets = 254
)

// emailProblem is a pragmatic address check: what net/mail accepts as a bare address,
// with one @, no spaces, no invisible or bidirectional control characters, RFC 5321's
// lengths, and a dotted domain. It returns "" for a good address, else the rule broken.
func emailProblem(s string) string {
	if strings.ContainsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0' }) {
		return "it contains spaces"
	}
	if i := strings.IndexFunc(s, invisible); i >= 0 {
		r, _ := utf8.DecodeRuneInString(s[i:])
		// Named by code point only: such a character is how one address poses as another.
		return fmt.Sprintf("it contains the invisible or control character U+%04X; the target refuses it, so remove it in the source", r)
	}
	if len(s) > maxAddressOctets {
		return fmt.Sprintf("it is %d octets long, over the limit of %d for an address", len(s), maxAddressOctets)
	}
	switch strings.Count(s, "@") {
	case 0:
		return "it has no @"
	case 1:
	default:
		return "it has more than one @"
	}
	local, domain, _ := strings.Cut(s, "@")
	switch {
	case local == "":
		return "nothing before the @"
	case len(local) > maxLocalOctets:
		return fmt.Sprintf("the part before the @ is %d octets long, over the limit of %d", len(local), maxLocalOctets)
	case domain == "":
		return "nothing after the @"
	case !strings.Contains(domain, "."):
		return "the domain has no dot"
	case strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") || strings.Contains(domain, "..") ||
		strings.HasPrefix(domain, "-") || strings.Contains(domain, ".-") || strings.Contains(domain, "-."):
		return "the domain is malformed"
	}
	if a, err := mail.ParseAddress(s); err != nil || a.Address != s || a.Name != "" {
		return "it is not a bare address (check for quotes, brackets or stray characters)"
	}
	return ""
}

// invisible reports the characters the real IdP refuses in an email: controls (NUL...)
// and format characters, which include zero-width spaces and joiners (U+200B-U+200D),
// direction marks and overrides (U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), the
// word joiner and the byte order mark.
func invisible(r rune) bool {
	return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}

// phone converts a number to E.164. Without a default region the number must start
// with +country code; problem is a user-facing message, "" when the number is good.
func (m *Mapper) phone(s string) (e164, problem string) {
	s = strings.TrimSpace(s)
	if m.region == "" && !strings.HasPrefix(s, "+") {
		return "", fmt.Sprintf("%s has no +country code; write numbers as +<country code><number>, or set mapping.phone_region (e.g. GB) for numbers in national form", or(m.quote(s), "the number"))
	}
	num, err := phonenumbers.Parse(s, m.region)
	if err != nil {
		return "", fmt.Sprintf("%s is not a phone number (%v); correct it in the source or empty it", or(m.quote(s), "the value"), err)
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Sprintf("%s is not a valid number for its country; correct it in the source or empty it", or(m.quote(s), "the number"))
	}
	return phonenumbers.Format(num, phonenumbers.E164), ""
}

// checkPassword detects the hash's format (or checks it has the plan's format) and
// reports unknown or malformed hashes. No hash at all is fine: the user has no password.
// The hash itself never appears in a message.
func (m *Mapper) checkPassword(u *strategies.User, errs []*strategies.Error, bad badFunc) {
	if u.PasswordHash == "" || slices.ContainsFunc(errs, func(e *strategies.Error) bool { return e.Field == "password_hash" }) {
		return
	}
	if passwords.Unusable(u.PasswordHash) {
		// A deliberately unusable password (Django's "!...", a locked shadow entry): the
		// user moves without one, as they could not sign in with a password before either.
		u.PasswordHash, u.PasswordSalt = "", ""
		return
	}
	d, err := m.verifier.Detect(passwords.Stored{Hash: u.PasswordHash, Salt: u.PasswordSalt, Format: m.format})
	if err != nil {
		msg := err.Error()
		var e *strategies.Error
		if errors.As(err, &e) && e.Message != "" {
			msg = e.Message
		}
		if errors.Is(err, passwords.ErrUnknownFormat) || strategies.CodeOf(err) == strategies.CodeUnknownHash {
			if e != nil && e.Message != "" {
				bad("password_hash", strategies.CodeUnknownHash, "%s", e.Message)
			} else {
				bad("password_hash", strategies.CodeUnknownHash, "is not a password hash format cutover recognises; check one with 'cutover hash detect', then set mapping.password_format to its format or a recipe:")
			}
			return
		}
		bad("password_hash", strategies.CodeMalformedHash, "is malformed: %s; fix it in the source, or empty it so the user is imported without a password", msg)
		return
	}
	u.PasswordFormat = d.Format
	if m.format != "" {
		u.PasswordFormat = m.format // "recipe:<expr>" stays as the plan wrote it
	}
	if d.Weak {
		m.weak[u.PasswordFormat] = true
	}
}
