package sourcetest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Directory is a running OpenLDAP server started by Slapd.
type Directory struct {
	URL           string // ldap://127.0.0.1:PORT
	BaseDN        string // dc=example,dc=org
	AdminDN       string // cn=admin,dc=example,dc=org, the rootdn: reads everything
	AdminPassword string
	// ReaderDN is a service account as a migration would use: it may read everything,
	// userPassword included, and is bound by the server's size limits (the rootdn is not).
	ReaderDN       string
	ReaderPassword string
	// LDAPSURL and CAFile are set with SlapdOptions.TLS: the ldaps:// listener and the PEM
	// CA that signed the server's certificate (for 127.0.0.1 and localhost). The ldap://
	// listener then offers StartTLS.
	LDAPSURL string
	CAFile   string
	// PolicyDN is the default password policy (ppolicy overlay) every user falls under;
	// an entry with pwdAccountLockedTime "000001010000Z" is locked for good.
	PolicyDN string

	conf string
	cred *syscall.Credential
}

// SlapdOptions tune the server.
type SlapdOptions struct {
	// Seed is LDIF loaded with slapadd before the server starts (the fast way to load
	// thousands of entries). The base entry, ou=people, ou=groups and the password
	// policy are always there; Seed adds to them.
	Seed string
	// SizeLimit is the server's limit on entries per search and per page (0: 1,000).
	// Paged searches may return more in total, so a reader that does not page fails.
	SizeLimit int
	// TLS gives the server a certificate: StartTLS on URL and ldaps:// on LDAPSURL.
	TLS bool
}

// Slapd starts Debian's slapd for the test with its own configuration and database in a
// temporary directory, on a free loopback port, and stops it when the test ends. It
// never touches the system's slapd configuration. The server loads the memberof
// overlay (groupOfNames members get memberOf), ppolicy (account locking) and pw-sha2
// ({SSHA512} binds); userPassword is readable by the admin only and usable for binds.
func Slapd(t testing.TB, opts SlapdOptions) *Directory {
	t.Helper()
	bin := lookBin("slapd", "/usr/sbin/slapd")
	slapadd := lookBin("slapadd", "/usr/sbin/slapadd")
	if bin == "" || slapadd == "" || !fileExists("/etc/ldap/schema/inetorgperson.schema") {
		unavailable(t, "no OpenLDAP server (slapd, slapadd, /etc/ldap/schema); install slapd and ldap-utils")
	}
	modules := "/usr/lib/ldap"
	if !fileExists(filepath.Join(modules, "back_mdb.so")) {
		unavailable(t, "slapd is installed but %s/back_mdb.so is not; install Debian's slapd", modules)
	}
	dir, cred := serverDir(t, "openldap")
	if opts.SizeLimit == 0 {
		opts.SizeLimit = 1000
	}
	d := &Directory{
		BaseDN: "dc=example,dc=org", AdminDN: "cn=admin,dc=example,dc=org", AdminPassword: "admin-secret",
		ReaderDN: "cn=reader,dc=example,dc=org", ReaderPassword: "reader-secret",
		PolicyDN: "cn=default,ou=policies,dc=example,dc=org",
		conf:     filepath.Join(dir, "slapd.conf"), cred: cred,
	}
	db := filepath.Join(dir, "db")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatalf("slapd: %v", err)
	}
	if cred != nil {
		os.Chown(db, int(cred.Uid), int(cred.Gid))
	}
	pw2 := ""
	if fileExists(filepath.Join(modules, "pw-sha2.so")) {
		pw2 = "moduleload pw-sha2"
	}
	conf := slapdConfig(modules, pw2, dir, db, opts.SizeLimit, d)
	if opts.TLS {
		conf = tlsConfig(t, dir, cred, d) + conf
	}
	if err := os.WriteFile(d.conf, []byte(conf), 0o644); err != nil {
		t.Fatalf("slapd: write config: %v", err)
	}
	seed := slapdSeed(d) + opts.Seed
	seedFile := filepath.Join(dir, "seed.ldif")
	if err := os.WriteFile(seedFile, []byte(seed), 0o644); err != nil {
		t.Fatalf("slapd: write seed: %v", err)
	}
	run(t, cred, slapadd, "-q", "-f", d.conf, "-l", seedFile)
	port := freePort(t)
	d.URL = fmt.Sprintf("ldap://127.0.0.1:%d", port)
	// -d keeps slapd in the foreground (start stops it by signal); level 0 logs nothing
	// but startup failures.
	listen := d.URL + "/"
	if opts.TLS {
		d.LDAPSURL = fmt.Sprintf("ldaps://127.0.0.1:%d", freePort(t))
		listen += " " + d.LDAPSURL + "/"
	}
	start(t, cred, filepath.Join(dir, "server.log"), bin, "-d", "0", "-f", d.conf, "-h", listen)
	waitListening(t, port, filepath.Join(dir, "server.log"))
	return d
}

// Slapcat exports the directory as slapcat writes it (the LDIF a team retiring OpenLDAP
// would hand over), operational attributes included. It may run while slapd serves.
func (d *Directory) Slapcat(t testing.TB) []byte {
	t.Helper()
	cmd := exec.Command(lookBin("slapcat", "/usr/sbin/slapcat"), "-f", d.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: d.cred}
	cmd.Dir = os.TempDir()
	var errOut strings.Builder
	cmd.Stderr = &errOut
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("slapcat: %v\n%s", err, errOut.String())
	}
	return out
}

// tlsConfig makes a CA and a server certificate for 127.0.0.1 and localhost in dir and
// returns the slapd.conf lines that use them.
func tlsConfig(t testing.TB, dir string, cred *syscall.Credential, d *Directory) string {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cutover test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour), DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srv, ca, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	d.CAFile = filepath.Join(dir, "ca.pem")
	files := map[string][]byte{
		d.CAFile:                       pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		filepath.Join(dir, "cert.pem"): pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		filepath.Join(dir, "key.pem"):  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	for name, data := range files {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if cred != nil {
			os.Chown(name, int(cred.Uid), int(cred.Gid))
		}
	}
	return fmt.Sprintf("TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n",
		d.CAFile, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
}

// slapdConfig writes slapd.conf for a test server: only the schemas and overlays the
// tests rely on, the database under dir, and an ACL that lets the admin and the reader
// (not anonymous) read userPassword, as a real directory would.
func slapdConfig(modules, pw2, dir, db string, sizeLimit int, d *Directory) string {
	return fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath %[1]s
moduleload back_mdb
moduleload memberof
moduleload ppolicy
%[2]s
pidfile %[3]s/slapd.pid
argsfile %[3]s/slapd.args
sizelimit size.soft=%[4]d size.hard=%[4]d size.pr=%[4]d size.prtotal=unlimited

database mdb
maxsize 1073741824
suffix "%[5]s"
rootdn "%[6]s"
rootpw %[7]s
directory %[8]s
index objectClass eq
index uid,mail eq

overlay memberof
overlay ppolicy
ppolicy_default "%[9]s"

access to attrs=userPassword
	by self write
	by dn.exact="%[10]s" read
	by anonymous auth
	by * none
access to *
	by * read
`, modules, pw2, dir, sizeLimit, d.BaseDN, d.AdminDN, d.AdminPassword, db, d.PolicyDN, d.ReaderDN)
}

// slapdSeed is the LDIF every test directory starts with: the base entry, the reader
// account, the people/groups/policies units and a default password policy that locks
// no one out (pwdMaxFailure 0) until a test sets one.
func slapdSeed(d *Directory) string {
	return fmt.Sprintf(`dn: %[1]s
objectClass: dcObject
objectClass: organization
dc: example
o: Example

dn: %[3]s
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: %[4]s

dn: ou=people,%[1]s
objectClass: organizationalUnit
ou: people

dn: ou=groups,%[1]s
objectClass: organizationalUnit
ou: groups

dn: ou=policies,%[1]s
objectClass: organizationalUnit
ou: policies

dn: %[2]s
objectClass: device
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 0

`, d.BaseDN, d.PolicyDN, d.ReaderDN, d.ReaderPassword)
}

// waitListening waits until slapd accepts connections on port: slapd -d does not say
// when it is ready, so connecting is the only sign. It fails the test with the server's
// log after 30 seconds.
func waitListening(t testing.TB, port int, logFile string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(logFile)
			t.Fatalf("slapd not listening after 30s: %v\nserver log:\n%s", err, logText)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
