package mockidp

// Formats of identifiers and standard attributes, approximating Authgear's checkers.

import (
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
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
		ok := len(v) >= 8 && len(v) <= 16 && v[0] == '+' && v[1] >= '1' && v[1] <= '9'
		for i := 1; ok && i < len(v); i++ {
			ok = v[i] >= '0' && v[i] <= '9'
		}
		if !ok {
			return recordError("/phone_number", "format", fmt.Sprintf("phone_number %q is not in E.164 form (e.g. +14155550123)", v))
		}
	case "preferred_username":
		if v == "" || strings.ContainsAny(v, " \t\r\n@") {
			return recordError("/preferred_username", "format", fmt.Sprintf("preferred_username %q must be non-empty without spaces or @", v))
		}
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
