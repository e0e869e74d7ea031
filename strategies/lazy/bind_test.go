package lazy

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

// directoryPeople are {SSHA} of "secret". The anonymous reader the source uses cannot
// read userPassword (as with Active Directory's unicodePwd), so the bridge has no hash
// and only a bind as the user can check a password. svc is a real account outside the
// source's filter (not an inetOrgPerson): it can bind, but is no user to migrate.
const directoryPeople = `dn: uid=ada,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: ada
cn: Ada Lovelace
sn: Lovelace
mail: ada@example.org
userPassword: {SSHA}H7dAAQMg0UdhYfDQ+RFX8AdPL7LjrXju

dn: uid=locked,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: locked
cn: Locked Out
sn: Out
mail: locked@example.org
userPassword: {SSHA}H7dAAQMg0UdhYfDQ+RFX8AdPL7LjrXju
pwdAccountLockedTime: 000001010000Z

dn: uid=svc,ou=people,dc=example,dc=org
objectClass: account
objectClass: simpleSecurityObject
uid: svc
userPassword: {SSHA}H7dAAQMg0UdhYfDQ+RFX8AdPL7LjrXju

`

// TestBindDelegatedSignInMigrates proves issue 18's lazy path on a real slapd: a user
// whose entry holds no readable hash migrates when the directory accepts a bind as
// them, with the profile of their entry; a wrong password, a locked account, an
// unknown user and an account outside the source all get the same refusal.
func TestBindDelegatedSignInMigrates(t *testing.T) {
	d := sourcetest.Slapd(t, sourcetest.SlapdOptions{Seed: directoryPeople})
	t.Setenv("CUTOVER_TEST_LDAP_URL", d.URL)
	col := func(c string) strategies.FieldRef { return strategies.FieldRef{Column: c} }
	dir := t.TempDir()
	p := &strategies.Plan{
		Version:  strategies.PlanVersion,
		Strategy: strategies.StrategyLazy,
		Source: strategies.SourceSpec{Kind: strategies.SourceLDAP, LDAP: &strategies.LDAPSource{
			URL: "${CUTOVER_TEST_LDAP_URL}", BaseDN: "ou=people," + d.BaseDN, Filter: "(objectClass=inetOrgPerson)"}},
		Mapping: strategies.Mapping{LegacyID: col("uid"), PreferredUsername: col("uid"), Email: col("mail"), Name: col("cn")},
		Target:  strategies.Target{Kind: strategies.TargetMockIDP, Profile: strategies.ProfileAuthgear},
		Lazy: strategies.LazyOptions{Store: filepath.Join(dir, "lazy.db"), Login: []string{"preferred_username"},
			Bind: &strategies.LDAPBind{User: "uid={login},ou=people," + d.BaseDN}},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	tb := startBridge(t, p, Config{})
	ctx := context.Background()

	res, err := tb.Verify(ctx, "ada", "secret")
	if err != nil || !res.OK {
		t.Fatalf("ada with her directory password: got %+v, %v; want OK", res, err)
	}
	if res.UserInfo["email"] != "ada@example.org" || res.UserInfo["name"] != "Ada Lovelace" {
		t.Errorf("ada's user_info: got %v, want her entry's mail and cn", res.UserInfo)
	}
	if m, err := tb.Store().Migrated(ctx); err != nil || m.Users != 1 || !m.Has(&strategies.User{LegacyID: "ada"}) {
		t.Errorf("tracking store: got %+v, %v; want ada recorded as migrated", m, err)
	}

	for _, tc := range []struct{ name, login, password string }{
		{"wrong password", "ada", "not-secret"},
		{"locked account", "locked", "secret"},
		{"unknown user", "nobody", "secret"},
		{"an account outside the source", "svc", "secret"},
	} {
		res, err := tb.Verify(ctx, tc.login, tc.password)
		if err != nil || res.OK {
			t.Errorf("%s: got %+v, %v; want a refusal", tc.name, res, err)
			continue
		}
		if res.Reason != ReasonWrong {
			t.Errorf("%s: got reason %q, want %q like every other refusal", tc.name, res.Reason, ReasonWrong)
		}
	}
}
