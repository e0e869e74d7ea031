package strategies

import (
	"errors"
	"strings"
	"testing"
)

const ldapPlan = `version: 1
strategy: lazy
source:
  kind: ldap
  ldap:
    url: ldaps://dc1.corp.example.com
    bind_dn: CN=cutover,OU=Service,DC=corp,DC=example,DC=com
    bind_password: ${AD_PASSWORD}
    base_dn: OU=Staff,DC=corp,DC=example,DC=com
    filter: (&(objectCategory=person)(objectClass=user))
    attributes: [mail, sAMAccountName, displayName, userAccountControl, memberOf]
    page_size: 1000
mapping:
  email: mail
  preferred_username: sAMAccountName
  name: displayName
  disabled: {column: userAccountControl, transform: ad_disabled}
  groups: {column: memberOf, transform: rdn}
target:
  kind: mockidp
lazy:
  bind:
    user: "{login}@corp.example.com"
`

// TestLDAPPlan reads a directory plan and reports what is wrong in one.
func TestLDAPPlan(t *testing.T) {
	p, err := ParsePlan("ad.yaml", []byte(ldapPlan))
	if err != nil {
		t.Fatalf("ParsePlan: %v", err)
	}
	if p.Source.LDAP.PageSize != 1000 || len(p.Source.LDAP.Attributes) != 5 || p.Lazy.Bind.User != "{login}@corp.example.com" {
		t.Errorf("parsed: got %+v %+v", p.Source.LDAP, p.Lazy.Bind)
	}
	p.Source.LDAP = nil
	p.Lazy.Bind = nil
	var e *Error
	if err := p.Validate(); !errors.As(err, &e) || e.Field != "source.ldap" {
		t.Errorf("an ldap source without source.ldap: got %v, want an error about source.ldap", err)
	}
	tests := []struct {
		name, from, to, field string
	}{
		{"literal password", "${AD_PASSWORD}", "hunter2", "source.ldap.bind_password"},
		{"no base", "    base_dn: OU=Staff,DC=corp,DC=example,DC=com\n", "", "source.ldap.base_dn"},
		{"no url", "    url: ldaps://dc1.corp.example.com\n", "", "source.ldap.url"},
		{"filter without parentheses", "(&(objectCategory=person)(objectClass=user))", "objectClass=user", "source.ldap.filter"},
		{"bind template without login", `"{login}@corp.example.com"`, `"corp\\ada"`, "lazy.bind.user"},
		{"bind and delegate", "  bind:\n", "  delegate: {url: https://legacy.example.com/login}\n  bind:\n", "lazy.bind"},
		{"unknown transform", "ad_disabled", "uac", "mapping.disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := strings.Replace(ldapPlan, tt.from, tt.to, 1)
			if text == ldapPlan {
				t.Fatalf("the edit %q changed nothing", tt.from)
			}
			_, err := ParsePlan("ad.yaml", []byte(text))
			var e *Error
			if !errors.As(err, &e) || e.Field != tt.field {
				t.Errorf("got %v, want an error about %s", err, tt.field)
			}
		})
	}
}
