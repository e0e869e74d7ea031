package passwords

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
)

// format is one legacy hash format. Each family file returns its formats from a
// function listed in newRegistry; the table is built once and never changes.
type format struct {
	name     string
	family   string
	doc      string
	weak     bool
	authgear bool // Authgear imports it (as-is, or after toBcrypt)

	// prefix, when set, is how the format announces itself; the longest matching
	// prefix wins (so "md5$$" beats "md5$"). sniff is used for formats without one.
	// prefixFoldCase matches it in any case: LDAP scheme names are case-insensitive.
	prefix         string
	prefixFoldCase bool
	sniff_         func(v *Verifier, s Stored) float64
	parse          func(v *Verifier, s Stored) (map[string]string, error)
	verify         func(ctx context.Context, v *Verifier, s Stored, password string) (bool, error)
	toBcrypt       func(hash string) string // nil: already plain bcrypt
	hash           func(password string) (Stored, error)
}

// sniff returns how likely s is in this format: 1 for an announced prefix, less for
// shapes that several formats share, 0 for no.
func (f *format) sniff(v *Verifier, s Stored) float64 {
	if f.prefix != "" && hasPrefix(s.Hash, f.prefix, f.prefixFoldCase) {
		for _, p := range registry.longer[f.name] {
			if hasPrefix(s.Hash, p, true) {
				return 0 // a longer prefix names another format ("md5$$" vs "md5$")
			}
		}
		return 1
	}
	if f.sniff_ != nil {
		return f.sniff_(v, s)
	}
	return 0
}

func hasPrefix(s, prefix string, fold bool) bool {
	if !fold {
		return strings.HasPrefix(s, prefix)
	}
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// table is the immutable registry of formats.
type table struct {
	list   []*format
	byName map[string]*format
	longer map[string][]string // name -> prefixes of other formats that extend its prefix
}

// registry is built once in init (formats such as ldap_crypt dispatch through it, which
// a plain initialiser would reject as a cycle) and only read afterwards.
var registry *table

func init() {
	registry = newRegistry(
		bcryptFormats(),
		argon2Formats(),
		scryptFormats(),
		pbkdf2Formats(),
		djangoFormats(),
		phpassFormats(),
		cryptFormats(),
		ldapFormats(),
		firebaseFormats(),
		digestFormats(),
	)
}

// newRegistry builds the table; it panics on a duplicate name or prefix, which is a
// programming error caught by any test.
func newRegistry(groups ...[]format) *table {
	t := &table{byName: map[string]*format{}, longer: map[string][]string{}}
	prefixes := map[string]string{}
	for _, g := range groups {
		for i := range g {
			f := &g[i]
			if f.name == "" || f.name == "recipe" || f.parse == nil || f.verify == nil {
				panic(fmt.Sprintf("passwords: format %q is incomplete", f.name))
			}
			if _, dup := t.byName[f.name]; dup {
				panic(fmt.Sprintf("passwords: format %q registered twice", f.name))
			}
			if f.prefix != "" {
				// Compared upper-cased: a case-insensitive prefix must not shadow another format's.
				key := strings.ToUpper(f.prefix)
				if other, dup := prefixes[key]; dup {
					panic(fmt.Sprintf("passwords: prefix %q claimed by %q and %q", f.prefix, other, f.name))
				}
				prefixes[key] = f.name
			}
			t.byName[f.name] = f
			t.list = append(t.list, f)
		}
	}
	for _, f := range t.list {
		if f.prefix == "" {
			continue
		}
		for _, o := range t.list {
			if o != f && len(o.prefix) > len(f.prefix) && strings.HasPrefix(strings.ToUpper(o.prefix), strings.ToUpper(f.prefix)) {
				t.longer[f.name] = append(t.longer[f.name], o.prefix)
			}
		}
	}
	return t
}

// equal compares two byte strings in constant time (for equal lengths).
func equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// itoa is strconv.Itoa, short for the many Params maps.
func itoa(n int) string { return strconv.Itoa(n) }
