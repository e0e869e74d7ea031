package mapping

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// Transforms for directory attributes (LDAP and Active Directory sources).

// adAccountDisabled is userAccountControl's ACCOUNTDISABLE flag.
const adAccountDisabled = 0x2

// adDisabled reads Active Directory's userAccountControl (e.g. 512 normal, 514
// disabled, 66050 disabled with a password that never expires) as "disabled".
func adDisabled(v any) (b, known bool, err error) {
	s, ok := text(v)
	s = strings.TrimSpace(s)
	if !ok || s == "" {
		return false, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return false, false, fmt.Errorf("%q is not a userAccountControl number", clip(s, 20))
	}
	return n&adAccountDisabled != 0, true, nil
}

// rdnValue turns a DN into the value of its first RDN: a memberOf value
// "cn=staff,ou=groups,dc=example,dc=org" becomes the group name "staff". Text that is
// not a DN is kept as it is.
func rdnValue(s string) string {
	dn, err := ldap.ParseDN(s)
	if err != nil || len(dn.RDNs) == 0 || len(dn.RDNs[0].Attributes) == 0 {
		return s
	}
	return dn.RDNs[0].Attributes[0].Value
}

// listFor reads a list column for a transform: DNs hold commas, so for rdn a text value
// is split on ";" and line breaks only (csvde writes memberOf as DNs joined by ";").
func listFor(tf string, v any) []string {
	s, isText := v.(string)
	if tf != "rdn" || !isText {
		return list(v)
	}
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' || r == '\r' }) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
