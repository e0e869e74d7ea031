package sourcetest

import (
	"strings"
	"testing"

	"github.com/go-ldap/ldap/v3"
)

// TestSlapd starts a directory with one seeded user, binds as the admin and as the
// user, and reads the user back (the admin sees userPassword, anonymous does not).
func TestSlapd(t *testing.T) {
	d := Slapd(t, SlapdOptions{Seed: `dn: uid=ada,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: ada
cn: Ada Lovelace
sn: Lovelace
mail: ada@example.org
userPassword: engine-1843
`})
	c, err := ldap.DialURL(d.URL)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if err := c.Bind("uid=ada,ou=people,dc=example,dc=org", "engine-1843"); err != nil {
		t.Fatalf("bind as the user: %v", err)
	}
	if err := c.Bind("uid=ada,ou=people,dc=example,dc=org", "wrong"); !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Fatalf("bind with a wrong password: got %v, want invalid credentials", err)
	}
	if err := c.Bind(d.AdminDN, d.AdminPassword); err != nil {
		t.Fatalf("bind as admin: %v", err)
	}
	res, err := c.Search(ldap.NewSearchRequest(d.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		"(uid=ada)", []string{"mail", "userPassword"}, nil))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("search: %v (%d entries)", err, len(res.Entries))
	}
	if got := res.Entries[0].GetAttributeValue("userPassword"); got != "engine-1843" {
		t.Errorf("userPassword: got %q, want the stored value", got)
	}
	if out := string(d.Slapcat(t)); !strings.Contains(out, "dn: uid=ada,ou=people,dc=example,dc=org") {
		t.Errorf("slapcat does not list the user:\n%s", out)
	}
}
