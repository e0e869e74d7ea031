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
	admin, err := ldap.DialURL(dir.HostURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Bind("cn=admin,dc=example,dc=org", dir.AdminPassword); err != nil {
		t.Fatal(err)
	}
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
