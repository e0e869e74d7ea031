package strategies

import (
	"fmt"
	"strings"
)

// Directory source kinds: an LDIF export (slapcat, ldapsearch -LLL) and a live
// directory read over LDAP.
const (
	SourceLDIF = "ldif"
	SourceLDAP = "ldap"
)

// LDAPSource is the plan's `source.ldap:` block for a live directory.
type LDAPSource struct {
	URL          string   `yaml:"url"`                     // ldap://host[:port] or ldaps://host[:port]
	StartTLS     bool     `yaml:"start_tls,omitempty"`     // upgrade ldap:// with StartTLS
	CAFile       string   `yaml:"ca_file,omitempty"`       // PEM CA to trust; system roots when empty
	BindDN       string   `yaml:"bind_dn,omitempty"`       // anonymous when empty
	BindPassword string   `yaml:"bind_password,omitempty"` // a ${VAR} reference, never the password itself
	BaseDN       string   `yaml:"base_dn"`                 // where the users are, searched with subtree scope
	Filter       string   `yaml:"filter,omitempty"`        // default (objectClass=person)
	Attributes   []string `yaml:"attributes,omitempty"`    // default: all user attributes
	PageSize     int      `yaml:"page_size,omitempty"`     // default 500 (RFC 2696 paged results)
}

// LDAPBind is the plan's `lazy.bind:` block: the bridge verifies a password by binding
// to the directory as the user instead of checking a hash (Active Directory, whose
// password hashes cannot be read).
type LDAPBind struct {
	URL      string `yaml:"url,omitempty"` // default: source.ldap.url
	StartTLS bool   `yaml:"start_tls,omitempty"`
	CAFile   string `yaml:"ca_file,omitempty"`
	// User forms the bind name from the login: a DN such as
	// "uid={login},ou=people,dc=example,dc=org", a UPN "{login}@corp.example.com" or a
	// down-level name "CORP\{login}".
	User string `yaml:"user"`
}

func (s *LDAPSource) validate(bad badFunc) error {
	if s == nil {
		return bad("source.ldap", "missing; an ldap source needs url and base_dn under source.ldap")
	}
	if s.URL == "" {
		return bad("source.ldap.url", "missing; give the directory's URL, e.g. ldaps://ldap.example.com")
	}
	if s.BaseDN == "" {
		return bad("source.ldap.base_dn", "missing; give the DN the users are under, e.g. ou=people,dc=example,dc=org")
	}
	if s.BindPassword != "" && !IsEnvRef(s.BindPassword) {
		return bad("source.ldap.bind_password", "holds a literal password; write bind_password: ${LDAP_PASSWORD} and export LDAP_PASSWORD")
	}
	if s.BindDN != "" && s.BindPassword == "" {
		return bad("source.ldap.bind_password", "missing; a bind_dn needs its password as a ${VAR} reference")
	}
	if s.PageSize < 0 {
		return bad("source.ldap.page_size", "must be positive (or left out for 500)")
	}
	if f := s.Filter; f != "" && (!strings.HasPrefix(f, "(") || !strings.HasSuffix(f, ")")) {
		return bad("source.ldap.filter", "%q is not an LDAP filter; write it in parentheses, e.g. (objectClass=inetOrgPerson)", f)
	}
	return nil
}

func (b *LDAPBind) validate(bad badFunc, src SourceSpec, delegate bool) error {
	if b == nil {
		return nil
	}
	if delegate {
		return bad("lazy.bind", "give lazy.bind or lazy.delegate, not both: each is a way to check the password")
	}
	if strings.Count(b.User, "{login}") != 1 {
		return bad("lazy.bind.user", "%s; it must hold {login} once, e.g. uid={login},ou=people,dc=example,dc=org or {login}@corp.example.com",
			map[bool]string{true: "missing", false: fmt.Sprintf("%q", b.User)}[b.User == ""])
	}
	if b.URL == "" && (src.LDAP == nil || src.LDAP.URL == "") {
		return bad("lazy.bind.url", "missing; give the directory's URL (or read users from an ldap source, whose URL is used)")
	}
	return nil
}
