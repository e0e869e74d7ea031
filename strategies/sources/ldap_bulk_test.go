package sources_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/go-ldap/ldap/v3"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

// TestBulkFromOpenLDAP moves directory users whose userPassword is {SSHA}, {SSHA512}
// and {CRYPT}$6$ (made by OpenLDAP's slappasswd, and accepted by slapd for binds) into
// the mock IdP by bulk import, then signs each in there with the old password.
func TestBulkFromOpenLDAP(t *testing.T) {
	users := []struct{ uid, scheme, password string }{
		{"ssha", "{SSHA}", "salted-sha1 pass"},
		{"ssha512", "{SSHA512}", "salted-sha512 pass"},
		{"crypt", "{CRYPT}", "sha512-crypt pass"},
	}
	var seed strings.Builder
	for _, u := range users {
		fmt.Fprintf(&seed, "dn: uid=%s,ou=people,dc=example,dc=org\nobjectClass: inetOrgPerson\nuid: %[1]s\ncn: User %[1]s\nsn: %[1]s\nmail: %[1]s@example.org\nuserPassword: %s\n\n",
			u.uid, slappasswd(t, u.scheme, u.password))
	}
	d := sourcetest.Slapd(t, sourcetest.SlapdOptions{Seed: seed.String()})
	ctx := context.Background()

	// The hashes are real: slapd itself accepts each password.
	c, err := ldap.DialURL(d.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, u := range users {
		if err := c.Bind("uid="+u.uid+",ou=people,dc=example,dc=org", u.password); err != nil {
			t.Fatalf("slapd bind as %s (%s): %v", u.uid, u.scheme, err)
		}
	}
	if err := c.Bind(d.AdminDN, d.AdminPassword); err != nil {
		t.Fatal(err)
	}
	group := ldap.NewAddRequest("cn=staff,ou=groups,dc=example,dc=org", nil)
	group.Attribute("objectClass", []string{"groupOfNames"})
	group.Attribute("member", []string{"uid=ssha,ou=people,dc=example,dc=org", "uid=crypt,ou=people,dc=example,dc=org"})
	if err := c.Add(group); err != nil {
		t.Fatalf("add group: %v", err)
	}

	t.Setenv("CUTOVER_TEST_LDAP_PASSWORD", d.ReaderPassword)
	p := &strategies.Plan{
		Version:  strategies.PlanVersion,
		Strategy: strategies.StrategyBulk,
		Source: strategies.SourceSpec{Kind: strategies.SourceLDAP, LDAP: &strategies.LDAPSource{
			URL: d.URL, BindDN: d.ReaderDN, BindPassword: "${CUTOVER_TEST_LDAP_PASSWORD}",
			BaseDN: "ou=people," + d.BaseDN, Filter: "(objectClass=inetOrgPerson)",
			Attributes: []string{"uid", "mail", "cn", "userPassword", "memberOf"},
		}},
		Mapping: strategies.Mapping{
			LegacyID: strategies.FieldRef{Column: "uid"}, Email: strategies.FieldRef{Column: "mail"},
			PreferredUsername: strategies.FieldRef{Column: "uid"}, Name: strategies.FieldRef{Column: "cn"},
			PasswordHash: strategies.FieldRef{Column: "userPassword"}, Groups: strategies.FieldRef{Column: "memberOf", Transform: "rdn"},
		},
		Target: strategies.Target{Kind: strategies.TargetMockIDP, Profile: strategies.ProfilePermissive},
		Bulk:   strategies.BulkOptions{RunDir: filepath.Join(t.TempDir(), "runs")},
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("plan: %v", err)
	}
	s := startIdP(t)
	rep, err := runner(t, s).Run(ctx, p, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("bulk: %v", err)
	}
	if rep.Rows != 3 || rep.Inserted != 3 || !rep.Reconciles() {
		t.Fatalf("report: got %+v, want 3 rows, 3 inserted", rep)
	}
	for _, u := range users {
		info, err := signIn(ctx, s, u.uid+"@example.org", u.password)
		if err != nil {
			t.Errorf("%s (%s): sign-in with the directory password: %v", u.uid, u.scheme, err)
		}
		// memberOf became the group's name at the IdP.
		wantGroups := map[string]string{"ssha": "[staff]", "crypt": "[staff]", "ssha512": "<nil>"}[u.uid]
		if got := fmt.Sprint(info["groups"]); err == nil && got != wantGroups {
			t.Errorf("%s: groups at the IdP: got %s, want %s", u.uid, got, wantGroups)
		}
		if _, err := signIn(ctx, s, u.uid+"@example.org", u.password+"!"); err == nil {
			t.Errorf("%s (%s): a wrong password signed in", u.uid, u.scheme)
		}
	}
}

// slappasswd hashes password with OpenLDAP's own slappasswd.
func slappasswd(t testing.TB, scheme, password string) string {
	t.Helper()
	args := []string{"-h", scheme, "-s", password}
	switch scheme {
	case "{SSHA512}":
		args = append([]string{"-o", "module-path=/usr/lib/ldap", "-o", "module-load=pw-sha2"}, args...)
	case "{CRYPT}":
		args = append(args, "-c", "$6$%.16s")
	}
	bin, err := exec.LookPath("slappasswd")
	if err != nil {
		bin = "/usr/sbin/slappasswd"
	}
	out, err := exec.Command(bin, args...).Output()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true and slappasswd %s: %v", scheme, err)
		}
		t.Skipf("slappasswd %s: %v (install slapd)", scheme, err)
	}
	return strings.TrimSpace(string(out))
}

// startIdP starts the mock IdP, permissive: it verifies every format cutover reads.
func startIdP(t testing.TB) *mockidp.Server {
	t.Helper()
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	return mockidptest.Start(t, mockidp.Config{AdminKey: keys[0], SigningKey: keys[1], BcryptCost: bcrypt.MinCost, Profile: mockidp.ProfilePermissive})
}

func runner(t testing.TB, s *mockidp.Server) *bulk.Runner {
	return &bulk.Runner{OpenTarget: func(ctx context.Context, p *strategies.Plan) (*idp.Target, error) {
		info := s.Config()
		c, err := idp.New(idp.Config{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey})
		if err != nil {
			return nil, err
		}
		return &idp.Target{Importer: &idp.MockClient{Client: c}, Hashes: idp.ProfileHashes(info.Profile), Name: "mockidp-" + info.Profile, URL: info.Issuer}, nil
	}}
}

// signIn signs in with the password grant, verifies the ID token with go-oidc and
// returns the userinfo claims.
func signIn(ctx context.Context, s *mockidp.Server, email, password string) (map[string]any, error) {
	info := s.Config()
	provider, err := oidc.NewProvider(ctx, info.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}
	ep := provider.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	conf := oauth2.Config{ClientID: info.ClientID, Endpoint: ep, Scopes: []string{oidc.ScopeOpenID, "email"}}
	tok, err := conf.PasswordCredentialsToken(ctx, email, password)
	if err != nil {
		return nil, err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: info.ClientID}).Verify(ctx, raw)
	if err != nil {
		return nil, fmt.Errorf("verify the ID token: %w", err)
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != email {
		return nil, fmt.Errorf("ID token email: got %q, want %q (%v)", claims.Email, email, err)
	}
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		return nil, fmt.Errorf("userinfo: %w", err)
	}
	var out map[string]any
	return out, ui.Claims(&out)
}
