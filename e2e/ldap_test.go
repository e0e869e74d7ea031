package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/cutover/cutover/e2e/images"
)

// directoryServer is an OpenLDAP server in a container on the scenario's network,
// reachable as "ldap" on port 1389, with dc=example,dc=org, ou=people, ou=groups and a
// reader service account that may read userPassword.
type directoryServer struct {
	NetURL         string // ldap://ldap:1389, from containers
	HostURL        string // from this process
	AdminPassword  string
	ReaderDN       string
	ReaderPassword string
	Admin          *ldap.Conn // bound as the rootdn, closed when the test ends
}

// Slapd starts the directory (packed from the host's slapd on the first use) and adds
// the base entries as its rootdn.
func (sc *scenario) Slapd() *directoryServer {
	t := sc.t
	t.Helper()
	img, err := images.Slapd(t.Context(), sc.s.pool.Client, images.Options{Log: sc.s.log})
	if err != nil {
		skipOrFail(t, fmt.Sprintf("no OpenLDAP image: %v", err))
	}
	d := &directoryServer{NetURL: "ldap://ldap:1389", AdminPassword: randomHex(12),
		ReaderDN: "cn=reader,dc=example,dc=org", ReaderPassword: randomHex(12)}
	c, err := sc.start(t.Context(), containerSpec{
		Image: img.Ref, Aliases: []string{"ldap"}, Entrypoint: img.Entrypoint, User: img.User,
		Env: []string{"LDAP_ADMIN_PASSWORD=" + d.AdminPassword}, Ports: []string{img.Port},
	})
	if err != nil {
		t.Fatalf("start slapd (image %s): %v", img.Ref, err)
	}
	d.HostURL = "ldap://" + c.HostAddr(img.Port)
	var admin *ldap.Conn
	err = sc.ready(c, func(ctx context.Context) error {
		conn, err := ldap.DialURL(d.HostURL)
		if err != nil {
			return err
		}
		if err := conn.Bind("cn=admin,dc=example,dc=org", d.AdminPassword); err != nil {
			conn.Close()
			return err
		}
		admin = conn
		return nil
	})
	if err != nil {
		t.Fatalf("slapd (image %s) did not accept binds: %v", img.Ref, err)
	}
	t.Cleanup(func() { admin.Close() })
	d.Admin = admin
	d.add(t, admin, "dc=example,dc=org", map[string][]string{"objectClass": {"dcObject", "organization"}, "dc": {"example"}, "o": {"Example"}})
	d.add(t, admin, "ou=people,dc=example,dc=org", map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"people"}})
	d.add(t, admin, "ou=groups,dc=example,dc=org", map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"groups"}})
	d.add(t, admin, d.ReaderDN, map[string][]string{"objectClass": {"organizationalRole", "simpleSecurityObject"}, "cn": {"reader"}, "userPassword": {d.ReaderPassword}})
	return d
}

func (d *directoryServer) add(t *testing.T, c *ldap.Conn, dn string, attrs map[string][]string) {
	t.Helper()
	req := ldap.NewAddRequest(dn, nil)
	for k, v := range attrs {
		req.Attribute(k, v)
	}
	if err := c.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

// openLDAPUsers are people whose userPassword OpenLDAP's own slappasswd made: the
// schemes an OpenLDAP directory holds.
func openLDAPUsers(t *testing.T) []legacyUser {
	t.Helper()
	out := []legacyUser{
		{ID: 1, Login: "ssha", Format: "{SSHA}", Password: "salted sha1 for ssha"},
		{ID: 2, Login: "ssha512", Format: "{SSHA512}", Password: "salted sha512 for ssha512"},
		{ID: 3, Login: "crypt", Format: "{CRYPT}$6$", Password: "sha512-crypt for crypt"},
	}
	for i := range out {
		u := &out[i]
		u.Email, u.First, u.Last, u.Active, u.CanSignIn = u.Login+"@example.org", "User", u.Login, true, true
		args := []string{"-h", u.Format, "-s", u.Password}
		switch u.Format {
		case "{SSHA512}":
			args = append([]string{"-o", "module-path=/usr/lib/ldap", "-o", "module-load=pw-sha2"}, args...)
		case "{CRYPT}$6$":
			args = []string{"-h", "{CRYPT}", "-c", "$6$%.16s", "-s", u.Password}
		}
		hash, err := exec.Command("/usr/sbin/slappasswd", args...).Output()
		if err != nil {
			skipOrFail(t, fmt.Sprintf("slappasswd %s: %v (install slapd)", u.Format, err))
		}
		u.Hash = strings.TrimSpace(string(hash))
	}
	return out
}

// TestBulkOpenLDAP moves the people of an OpenLDAP directory (in a container) into the
// mock IdP with `cutover run`, reading the directory live with paged results, and proves
// it the way users will: each signs in with the password the directory had.
func TestBulkOpenLDAP(t *testing.T) {
	t.Parallel()
	start := time.Now()
	sc := newScenario(t)
	requireCommand(t, sc.s, "run")
	requireCommand(t, sc.s, "mockidp")
	requireCommand(t, sc.s, "login")
	users := openLDAPUsers(t)
	dir := sc.Slapd()
	admin := dir.Admin
	var members []string
	for _, u := range users {
		dn := "uid=" + u.Login + ",ou=people,dc=example,dc=org"
		dir.add(t, admin, dn, map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {u.Login}, "cn": {u.First + " " + u.Last},
			"sn": {u.Last}, "mail": {u.Email}, "userPassword": {u.Hash}})
		members = append(members, dn)
	}
	dir.add(t, admin, "cn=staff,ou=groups,dc=example,dc=org", map[string][]string{"objectClass": {"groupOfNames"}, "member": members})
	t.Cleanup(func() { t.Logf("scenario ldap took %s", time.Since(start).Round(time.Millisecond)) })

	idp := sc.MockIDP("idp", "permissive")
	plan := `version: 1
strategy: bulk
source:
  kind: ldap
  ldap:
    url: ` + dir.NetURL + `
    bind_dn: ` + dir.ReaderDN + `
    bind_password: ${LEGACY_DSN}
    base_dn: ou=people,dc=example,dc=org
    filter: (objectClass=inetOrgPerson)
    attributes: [uid, mail, cn, userPassword, memberOf]
    page_size: 2
mapping:
  legacy_id: uid
  email: mail
  preferred_username: uid
  name: cn
  password_hash: userPassword
  groups: {column: memberOf, transform: rdn}
` + idp.Target("mockidp")
	rep, res := sc.RunBulk(3*time.Minute, bulkRun{Plan: plan, DSN: dir.ReaderPassword, IDP: idp}, 0)
	if strings.Contains(res.Stdout+res.Stderr, dir.ReaderPassword) {
		t.Errorf("cutover run printed the directory password")
	}
	if rep.Rows != int64(len(users)) || rep.Inserted != int64(len(users)) || rep.Failed != 0 || rep.Invalid != 0 {
		t.Errorf("report: got %s; want %d rows, all inserted", rep, len(users))
	}
	checkSignIns(t, sc, idp, users, func(legacyUser) bool { return true })
}

// TestLazyOpenLDAPBind migrates directory users lazily with no hash to read: the
// bridge reads the directory anonymously, which the directory's ACL lets see everything
// but userPassword (the Active Directory situation, where unicodePwd is never
// readable), and verifies each sign-in by binding to the directory as the user. A user
// who signs in with the directory password is created at the IdP; a wrong password is
// refused and creates nobody; the second sign-in does not ask the bridge.
func TestLazyOpenLDAPBind(t *testing.T) {
	t.Parallel()
	start := time.Now()
	sc := newScenario(t)
	for _, cmd := range []string{"bridge", "mockidp", "login"} {
		requireCommand(t, sc.s, cmd)
	}
	users := openLDAPUsers(t)
	dir := sc.Slapd()
	admin := dir.Admin
	// Entries named by mail, so the email a user types at the IdP (the lazy protocol
	// sends the login as "email") forms the bind DN, as a UPN does at Active Directory.
	for _, u := range users {
		dir.add(t, admin, "mail="+u.Email+",ou=people,dc=example,dc=org", map[string][]string{"objectClass": {"inetOrgPerson"},
			"uid": {u.Login}, "cn": {u.First + " " + u.Last}, "sn": {u.Last}, "mail": {u.Email}, "userPassword": {u.Hash}})
	}
	t.Cleanup(func() { t.Logf("scenario ldap lazy took %s", time.Since(start).Round(time.Millisecond)) })

	secret := randomHex(16)
	plan := `version: 1
strategy: lazy
source:
  kind: ldap
  ldap:
    url: ` + dir.NetURL + `
    base_dn: ou=people,dc=example,dc=org
    filter: (objectClass=inetOrgPerson)
mapping:
  legacy_id: uid
  email: mail
  preferred_username: uid
  name: cn
target:
  kind: mockidp
  url: http://idp:8080
  profile: permissive
lazy:
  listen: 0.0.0.0:8788
  secret: ${BRIDGE_SECRET}
  store: state/lazy.db
  bind:
    user: mail={login},ou=people,dc=example,dc=org
`
	bridge := sc.ServeCutover(8788, "/healthz", cutoverSpec{
		Args:    []string{"bridge", "--plan", "bridge.yaml"},
		Env:     []string{"BRIDGE_SECRET=" + secret},
		Files:   map[string]string{"bridge.yaml": plan},
		Volumes: map[string]string{sc.Volume(): "/work"},
		Aliases: []string{"bridge"},
	})
	idp := sc.MockIDPEnv("idp", "permissive", []string{"LAZY_SECRET=" + secret},
		"--lazy-hook", bridge.NetURL+"/verify", "--lazy-secret-env", "LAZY_SECRET")

	u := users[0]
	steps := []struct {
		name      string
		password  string
		wantOK    bool
		wantIdP   int
		wantAsked bool
	}{
		{"a wrong password is refused and creates nobody", u.Password + "!", false, 0, true},
		{"the directory password migrates the user", u.Password, true, 1, true},
		{"the second sign-in does not ask the bridge", u.Password, true, 1, false},
	}
	for _, st := range steps {
		ok := t.Run(st.name, func(t *testing.T) {
			before := bridgeStats(t, bridge)
			res, _ := sc.in(t).SignIn(idp, u.Email, st.password)
			if got := res.ExitCode == 0; got != st.wantOK {
				t.Fatalf("sign-in as %s: got exit code %d, want signed in %v\n%s", u.Login, res.ExitCode, st.wantOK, res)
			}
			if got := idp.Count(t); got != st.wantIdP {
				t.Errorf("users at the IdP: got %d, want %d", got, st.wantIdP)
			}
			after := bridgeStats(t, bridge)
			if asked := after != before; asked != st.wantAsked {
				t.Errorf("bridge counts went from %+v to %+v; want asked %v", before, after, st.wantAsked)
			}
			if after.Errors != 0 {
				t.Errorf("bridge errors: got %d, want 0 (a refused bind is a refusal, not an error)", after.Errors)
			}
		})
		if !ok {
			t.FailNow() // the next steps' counts assume this one
		}
	}
	if got, ok := idp.User(t, u.Email); !ok || got.Source != "lazy" {
		t.Errorf("%s at the IdP: got %+v (found %v), want a user created by the lazy hook with the directory's mail", u.Login, got, ok)
	}
}
