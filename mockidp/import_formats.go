package mockidp

// Formats of identifiers and standard attributes, approximating Authgear's checkers.

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"
)

// attrFormat is a string format Authgear's schema gives a standard attribute.
type attrFormat struct {
	name, hint string
	ok         func(string) bool
}

// attrFormats are the formats the mock checks, approximating Authgear's checkers.
var attrFormats = map[string]attrFormat{
	"account_valid_from":  {"date-time", "an RFC 3339 date-time such as 2025-01-31T00:00:00Z", isRFC3339},
	"account_valid_until": {"date-time", "an RFC 3339 date-time such as 2025-01-31T00:00:00Z", isRFC3339},
	"profile":             {"uri", "an absolute URL", isAbsoluteURL},
	"picture":             {"uri", "an absolute URL", isAbsoluteURL},
	"website":             {"uri", "an absolute URL", isAbsoluteURL},
	"birthdate":           {"birthdate", "a date such as 1990-12-31", isBirthdate},
	"zoneinfo":            {"timezone", "an IANA time zone such as Europe/London", isTimeZone},
}

func isRFC3339(s string) bool { _, err := time.Parse(time.RFC3339, s); return err == nil }

func isAbsoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != ""
}

func isBirthdate(s string) bool {
	for _, layout := range []string{"2006-01-02", "2006", "--01-02"} {
		if _, err := time.Parse(layout, s); err == nil {
			return true
		}
	}
	return false
}

func isTimeZone(s string) bool {
	_, err := time.LoadLocation(s)
	return err == nil && s != "" && s != "Local"
}

func checkIdentifier(k, v string) *APIError {
	switch k {
	case "email":
		if !validEmail(v) {
			return recordError("/email", "format", fmt.Sprintf("email %q is not an email address", v))
		}
	case "phone_number":
		if problem := phoneProblem(v); problem != "" {
			return recordErrorDetails("/phone_number", "format", map[string]any{"format": "phone", "error": problem},
				fmt.Sprintf("phone_number %q: %s (E.164 form of a number in use, e.g. +14155550123)", v, problem))
		}
	case "preferred_username":
		// The schema asks only for a non-empty string; the username's format is checked
		// when it becomes a login id (usernameError), which the project may not allow.
		if v == "" {
			return recordErrorDetails("/preferred_username", "minLength", map[string]any{"expected": 1, "actual": 0}, "preferred_username must not be empty")
		}
	}
	return nil
}

// usernameError checks a username that becomes a login id, approximating Authgear's
// username checker: no spaces and no @.
func usernameError(v string) *APIError {
	if strings.ContainsAny(v, " \t\r\n@") {
		return recordError("/preferred_username", "format", fmt.Sprintf("preferred_username %q must be without spaces or @", v))
	}
	return nil
}

// validEmail refuses what the real Authgear refuses (issue 13 item 11): no single @
// between a local part and a domain, spaces and angle brackets, control and invisible
// format characters (NUL, U+200B, the bidi controls U+200E and U+202E, which make one
// address look like another), invalid UTF-8, a local part over 64 octets and an address
// over 254 octets (RFC 5321's limits).
func validEmail(v string) bool {
	at := strings.IndexByte(v, '@')
	if at <= 0 || at == len(v)-1 || strings.IndexByte(v[at+1:], '@') >= 0 || strings.ContainsAny(v, " \t\r\n<>") {
		return false
	}
	if at > 64 || len(v) > 254 || !utf8.ValidString(v) {
		return false
	}
	for _, r := range v {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}

// phoneProblem checks a phone number as Authgear's "phone" format does under its default
// validation (libphonenumber's IsValidNumber, pkg/util/phone): "+" and digits, spaces or
// dashes, a possible and valid number (so the UK's drama range +447700900xxx is refused),
// written exactly in E.164. It returns Authgear's error text, or "" when the number holds.
func phoneProblem(v string) string {
	const notE164, invalid = "not in E.164 format", "invalid phone number"
	if !phoneInput.MatchString(v) {
		return notE164
	}
	num, err := phonenumbers.Parse(v, "")
	if err != nil {
		return notE164
	}
	if !phonenumbers.IsPossibleNumber(num) || !phonenumbers.IsValidNumber(num) {
		return invalid
	}
	if phonenumbers.Format(num, phonenumbers.E164) != v {
		return notE164
	}
	return ""
}

var phoneInput = regexp.MustCompile(`^ *\+[0-9\ \-]*$`)
