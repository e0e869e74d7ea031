package passwords

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/go-crypt/crypt/algorithm"
	"golang.org/x/crypto/bcrypt"
)

// Messages about a stored value describe its shape, never its content. The value is
// a secret even when it is a hash, and legacy tables do hold plaintext passwords where
// hashes should be: "$ecretPa55:..." is then the password itself. Messages travel to
// failures.csv, run outcomes and the bridge's logs, so a quoted fragment leaks. A shape
// is the length, the classes of characters used and, only when the value starts with a
// scheme marker this package knows, that marker in this package's own spelling.

// schemeMarkers are the prefixes of hash schemes that this package does not verify but
// an operator should recognise, with a name where the marker alone does not say it. The
// prefixes of registered formats are markers too (see markerOf).
var schemeMarkers = []struct{ prefix, name string }{
	{"$y$", "yescrypt"}, {"$gy$", "gost-yescrypt"}, {"$7$", "scrypt crypt"}, {"$apr1$", "Apache md5"},
	{"$md5$", "Sun md5-crypt"}, {"$sha1$", "NetBSD sha1-crypt"}, {"$3$", "NT hash"}, {"$argon2d$", ""},
	{"$bcrypt-sha256$", "passlib"}, {"$bcrypt-sha512$", "Authgear"}, {"scrypt$", "Django"}, {"crypt$", "Django"},
	{"{SHA256}", ""}, {"{SHA384}", ""}, {"{SHA512}", ""}, {"{SSHA384}", ""}, {"{PBKDF2}", ""},
	{"{PBKDF2-SHA256}", ""}, {"{PBKDF2-SHA512}", ""}, {"{ARGON2}", ""}, {"{BCRYPT}", ""}, {"{BLF-CRYPT}", ""},
	{"{SHA256-CRYPT}", ""}, {"{SHA512-CRYPT}", ""}, {"{MD4}", ""}, {"{NT}", ""}, {"{CLEARTEXT}", ""}, {"{PLAIN}", ""},
}

// Shape describes a stored password value for people (previews, reports, logs)
// without any of its content: its length, character classes and, when it has one, a
// known scheme marker. Show it wherever a hash would otherwise be shown, even cut short:
// the first characters of a plaintext password are still the password.
func Shape(h string) string { return describeShape(h) }

// describeShape says what a stored value looks like without echoing any of it, e.g.
// "a 60-character value of letters, digits and symbols, starting with the scheme
// marker $2b$".
func describeShape(h string) string {
	shape := describeValue(h)
	if marker, name := markerOf(h); marker != "" {
		shape += ", starting with the scheme marker " + marker
		if name != "" {
			shape += " (" + name + ")"
		}
	}
	return shape
}

// describeValue is a value's length and character classes: "an 8-character value of
// lower-case letters and digits".
func describeValue(s string) string {
	if s == "" {
		return "an empty value"
	}
	n := utf8.RuneCountInString(s)
	article := "a"
	// English says "an" before "eight", "eleven" and "eighteen" (up to MaxHashLength).
	if d := strconv.Itoa(n); d[0] == '8' || n == 11 || n == 18 {
		article = "an"
	}
	return fmt.Sprintf("%s %d-character value of %s", article, n, classesOf(s))
}

// classesOf lists the classes of characters in s, in a fixed order.
func classesOf(s string) string {
	var lower, upper, digit, space, symbol, nonASCII bool
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			lower = true
		case r >= 'A' && r <= 'Z':
			upper = true
		case r >= '0' && r <= '9':
			digit = true
		case r > unicode.MaxASCII:
			nonASCII = true
		case unicode.IsSpace(r):
			space = true
		default:
			symbol = true
		}
	}
	var out []string
	switch {
	case lower && upper:
		out = append(out, "letters")
	case lower:
		out = append(out, "lower-case letters")
	case upper:
		out = append(out, "upper-case letters")
	}
	for _, c := range []struct {
		ok   bool
		name string
	}{{digit, "digits"}, {symbol, "symbols"}, {space, "spaces"}, {nonASCII, "non-ASCII characters"}} {
		if c.ok {
			out = append(out, c.name)
		}
	}
	if len(out) == 1 {
		return out[0]
	}
	return strings.Join(out[:len(out)-1], ", ") + " and " + out[len(out)-1]
}

// markerOf returns the longest known scheme marker h starts with, spelt as this
// package spells it (so nothing of h itself is repeated), and the scheme's name if the
// marker does not say it. Markers of two characters or fewer ("$2") are too short to
// tell a scheme from chance and are not reported.
func markerOf(h string) (marker, name string) {
	consider := func(prefix, label string) {
		fold := strings.HasPrefix(prefix, "{") // LDAP schemes are case-insensitive
		if len(prefix) > 2 && len(prefix) > len(marker) && hasPrefix(h, prefix, fold) {
			marker, name = prefix, label
		}
	}
	for _, f := range registry.list {
		if f.prefix != "" {
			consider(f.prefix, "")
		}
	}
	for _, m := range schemeMarkers {
		consider(m.prefix, m.name)
	}
	return marker, name
}

// refused is the error for a hash a library would not decode or verify. It does not
// repeat the library's message: go-crypt quotes option values and crypto/bcrypt a
// character of the hash. It names the kind of failure the library reported instead.
func refused(name string, err error) error {
	var corrupt base64.CorruptInputError
	var cost bcrypt.InvalidCostError
	why := "it does not decode"
	switch {
	case errors.As(err, &corrupt):
		why = fmt.Sprintf("its encoding breaks at byte %d", int64(corrupt))
	case errors.As(err, &cost):
		why = fmt.Sprintf("cost %d is out of range", int(cost))
	case errors.Is(err, bcrypt.ErrHashTooShort):
		why = "it is too short"
	case errors.Is(err, algorithm.ErrEncodedHashInvalidOption), errors.Is(err, algorithm.ErrEncodedHashInvalidOptionKey),
		errors.Is(err, algorithm.ErrEncodedHashInvalidOptionValue), errors.Is(err, algorithm.ErrParameterInvalid):
		why = "one of its parameters is invalid"
	case errors.Is(err, algorithm.ErrEncodedHashKeyEncoding):
		why = "its hash part does not decode"
	case errors.Is(err, algorithm.ErrEncodedHashSaltEncoding):
		why = "its salt does not decode"
	case errors.Is(err, algorithm.ErrEncodedHashInvalidFormat), errors.Is(err, algorithm.ErrEncodedHashInvalidIdentifier),
		errors.Is(err, algorithm.ErrEncodedHashInvalidVersion):
		why = "its fields are not laid out as the format's are"
	}
	return malformed(name, "%s", why)
}

// smallNumber returns s when it is a decimal number of at most three digits (a version
// or cost worth showing), and ok false otherwise, so that only values that can be
// nothing but parameters are ever repeated.
func smallNumber(s string) (string, bool) {
	if len(s) == 0 || len(s) > 3 {
		return "", false
	}
	if _, err := strconv.Atoi(s); err != nil || strings.ContainsAny(s, "+-") {
		return "", false
	}
	return s, true
}

// missing lists the parameter names not in seen, as "t and p".
func missing(seen map[string]bool, names ...string) string {
	var out []string
	for _, n := range names {
		if !seen[n] {
			out = append(out, n)
		}
	}
	if len(out) == 1 {
		return out[0] + " is"
	}
	return strings.Join(out[:len(out)-1], ", ") + " and " + out[len(out)-1] + " are"
}
