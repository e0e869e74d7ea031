package directory

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

const people = `dn: uid=ada,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: ada
cn: Ada
sn: Lovelace
mail: ada@example.org
userPassword: {SSHA}H7dAAQMg0UdhYfDQ+RFX8AdPL7LjrXju

dn: uid=locked,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: locked
cn: Locked
sn: Out
userPassword: {SSHA}H7dAAQMg0UdhYfDQ+RFX8AdPL7LjrXju
pwdAccountLockedTime: 000001010000Z

`

// TestBindVerifier verifies passwords by binding to a real slapd as the user. The
// stored hashes are {SSHA} of "secret"; the locked account is locked by the ppolicy
// overlay (pwdAccountLockedTime 000001010000Z: locked until an admin unlocks it).
func TestBindVerifier(t *testing.T) {
	d := sourcetest.Slapd(t, sourcetest.SlapdOptions{Seed: people})
	v, err := NewBindVerifier(Config{URL: d.URL}, "uid={login},ou=people,dc=example,dc=org")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name, login, password string
		want                  bool
	}{
		{"right password", "ada", "secret", true},
		{"right password, spaces around the login", " ada ", "secret", true},
		{"wrong password", "ada", "Secret", false},
		{"unknown user", "nobody", "secret", false},
		{"locked account, right password", "locked", "secret", false},
		{"empty password (an anonymous bind would succeed)", "ada", "", false},
		{"empty login", "", "secret", false},
		{"login adding an RDN", "ada,ou=people", "secret", false},
		{"login naming the admin", "x,cn=admin", "admin-secret", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(ctx, tt.login, tt.password)
			if err != nil || got != tt.want {
				t.Errorf("Verify(%q): got %v, %v; want %v, nil", tt.login, got, err, tt.want)
			}
		})
	}

	// The locked account's password is right: the refusal is the lock, not the password.
	c, err := ldap.DialURL(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(d.AdminDN, d.AdminPassword); err != nil {
		t.Fatal(err)
	}
	mod := ldap.NewModifyRequest("uid=locked,ou=people,dc=example,dc=org", nil)
	mod.Delete("pwdAccountLockedTime", nil)
	if err := c.Modify(mod); err != nil {
		t.Fatalf("unlock: %v", err)
	}
	if ok, err := v.Verify(ctx, "locked", "secret"); !ok || err != nil {
		t.Errorf("after unlocking: got %v, %v; want true", ok, err)
	}
	// DN escaping lets a login with DN specials sign in as itself.
	if v.BindName("a,b") != `uid=a\,b,ou=people,dc=example,dc=org` {
		t.Errorf("BindName: got %q", v.BindName("a,b"))
	}
}

// TestBindVerifierUnreachable: a directory that cannot answer is an error (the IdP may
// retry), never a "wrong password".
func TestBindVerifierUnreachable(t *testing.T) {
	v, err := NewBindVerifier(Config{URL: "ldap://127.0.0.1:1", Timeout: 2 * time.Second}, "{login}@corp.example.com")
	if err != nil {
		t.Fatal(err)
	}
	ok, err := v.Verify(context.Background(), "ada", "secret")
	if ok || err == nil {
		t.Fatalf("got %v, %v; want an error", ok, err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the password: %v", err)
	}
	if ok, err := v.Verify(context.Background(), `ada@corp.example.com\x`, "secret"); ok || err != nil {
		t.Errorf("a UPN login with a backslash: got %v, %v; want false without asking", ok, err)
	}
}

func TestNewBindVerifierChecksPlan(t *testing.T) {
	for _, tt := range []struct {
		url, template, field string
	}{
		{"ldap://h", "uid=x,dc=example", "lazy.bind.user"},
		{"ldap://h", "{login}{login}", "lazy.bind.user"},
		{"https://h", "{login}@h", "lazy.bind.url"},
	} {
		_, err := NewBindVerifier(Config{URL: tt.url}, tt.template)
		var se *strategies.Error
		if !errors.As(err, &se) || se.Field != tt.field || se.Code != strategies.CodePlan {
			t.Errorf("NewBindVerifier(%q, %q): got %v, want a plan error about %s", tt.url, tt.template, err, tt.field)
		}
	}
}

// TestBindWithoutReadableHash: nobody but the service account may read userPassword,
// so an anonymous reader sees users without hashes, and a bind still checks them. This
// is the Active Directory case, where no account can read the hash at all.
func TestBindWithoutReadableHash(t *testing.T) {
	d := sourcetest.Slapd(t, sourcetest.SlapdOptions{Seed: people})
	ctx := context.Background()
	c, err := Dial(ctx, Config{URL: d.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var seen []string
	err = c.Each(ctx, Search{BaseDN: "ou=people," + d.BaseDN, Filter: "(uid=ada)"}, func(e *ldap.Entry) error {
		seen = append(seen, e.DN)
		if v := e.GetAttributeValues("userPassword"); len(v) > 0 {
			t.Errorf("an anonymous search read userPassword")
		}
		return nil
	})
	if err != nil || len(seen) != 1 {
		t.Fatalf("search: got %v, %v; want ada", seen, err)
	}
	p := &strategies.Plan{
		Source: strategies.SourceSpec{Kind: strategies.SourceLDAP, LDAP: &strategies.LDAPSource{URL: "${CUTOVER_TEST_LDAP_URL}"}},
		Lazy:   strategies.LazyOptions{Bind: &strategies.LDAPBind{User: "uid={login},ou=people,dc=example,dc=org"}},
	}
	t.Setenv("CUTOVER_TEST_LDAP_URL", d.URL)
	v, err := BindVerifierFor(p)
	if err != nil {
		t.Fatalf("BindVerifierFor: %v", err)
	}
	if ok, err := v.Verify(ctx, "ada", "secret"); !ok || err != nil {
		t.Errorf("Verify: got %v, %v; want true", ok, err)
	}
}

// TestRefusalReason reads Active Directory's data codes, as AD writes them in a refused
// bind's diagnostic message, for the audit log.
func TestRefusalReason(t *testing.T) {
	ad := func(code string) error {
		return ldap.NewError(ldap.LDAPResultInvalidCredentials,
			errors.New("80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data "+code+", v2580"))
	}
	tests := []struct {
		err  error
		want string
	}{
		{ad("52e"), RefusedCredentials},
		{ad("525"), RefusedCredentials},
		{ad("775"), RefusedLocked},
		{ad("533"), RefusedDisabled},
		{ad("532"), RefusedExpired},
		{ad("701"), RefusedExpired},
		{ad("773"), RefusedMustChange},
		{ad("530"), RefusedRestricted},
		{ldap.NewError(ldap.LDAPResultInvalidCredentials, errors.New("")), RefusedCredentials},
		{ldap.NewError(ldap.LDAPResultUnwillingToPerform, errors.New("account disabled")), RefusedOther},
	}
	for _, tt := range tests {
		if !isRefusal(tt.err) {
			t.Errorf("%v: not a refusal, want one", tt.err)
		}
		if got := refusalReason(tt.err); got != tt.want {
			t.Errorf("%v: got %q, want %q", tt.err, got, tt.want)
		}
	}
	if isRefusal(ldap.NewError(ldap.LDAPResultBusy, errors.New("busy"))) || isRefusal(errors.New("connection reset")) {
		t.Errorf("a busy or unreachable server reads as a refusal; it must be an error")
	}
}
