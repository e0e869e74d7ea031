package images

import (
	"context"

	docker "github.com/ory/dockertest/v3/docker"
)

// EnvSlapdImage names an OpenLDAP image to use instead of the packed one; it must behave
// like it (entrypoint reading LDAP_ADMIN_PASSWORD, port 1389, suffix dc=example,dc=org,
// userPassword readable by cn=reader,dc=example,dc=org).
const EnvSlapdImage = "CUTOVER_E2E_SLAPD_IMAGE"

// SlapdPort is where the packed slapd listens: above 1024, as it runs unprivileged.
const SlapdPort = "1389/tcp"

// Slapd returns an OpenLDAP image packed from the host's Debian slapd package (built on
// a cache miss), or the image $CUTOVER_E2E_SLAPD_IMAGE names. No official image takes
// the same settings, so none is looked for. The directory starts empty with suffix
// dc=example,dc=org; its rootdn cn=admin,dc=example,dc=org adds the base entry.
func Slapd(ctx context.Context, c *docker.Client, opts Options) (Image, error) {
	opts.ForcePacked = true
	return ensure(ctx, c, opts, slapdRecipe(), officialChoice{env: EnvSlapdImage, ref: "", port: SlapdPort})
}

func slapdRecipe() recipe {
	return recipe{
		name: "slapd",
		// The tag hashes the package version and the other recipes' entrypoints, not this
		// one's: bump the -rN suffix when slapdEntrypoint changes.
		repo:     "cutover-e2e/slapd-r2",
		packages: []string{"slapd"},
		elves: []string{dash, "/usr/sbin/slapd",
			"/usr/lib/ldap/back_mdb.so", "/usr/lib/ldap/memberof.so", "/usr/lib/ldap/pw-sha2.so"},
		trees: []string{"/etc/ldap/schema"},
		files: []genFile{
			{path: "/etc/passwd", mode: 0o644, content: text("root:x:0:0:root:/root:/bin/sh\nopenldap:x:999:999:OpenLDAP:/var/lib/ldap:/bin/sh\n")},
			{path: "/etc/group", mode: 0o644, content: text("root:x:0:\nopenldap:x:999:\n")},
			{path: "/usr/local/bin/cutover-e2e-slapd", mode: 0o755, content: text(slapdEntrypoint)},
		},
		dirs: []genDir{
			{path: "/tmp", mode: 0o1777},
			{path: "/var/lib/ldap", mode: 0o700, uid: 999, gid: 999},
		},
		user:       "999:999",
		entrypoint: "/usr/local/bin/cutover-e2e-slapd",
	}
}

// slapdEntrypoint writes a slapd.conf like the one the source tests use: an mdb
// database, memberOf kept by the overlay, {SSHA512} from pw-sha2, and userPassword
// readable only by the reader service account, which the test adds (binds work for
// everyone).
const slapdEntrypoint = `#!/bin/sh
set -e
if [ -z "$LDAP_ADMIN_PASSWORD" ]; then
  echo "cutover-e2e-slapd: set LDAP_ADMIN_PASSWORD" >&2
  exit 2
fi
umask 077
# No cat in the image: dash builtins copy the here-document.
while IFS= read -r line; do printf '%s\n' "$line"; done > /tmp/slapd.conf <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
moduleload pw-sha2
pidfile /tmp/slapd.pid
sizelimit size.soft=1000 size.hard=1000 size.pr=1000 size.prtotal=unlimited
database mdb
maxsize 268435456
suffix "dc=example,dc=org"
rootdn "cn=admin,dc=example,dc=org"
rootpw $LDAP_ADMIN_PASSWORD
directory /var/lib/ldap
index objectClass eq
index uid,mail eq
overlay memberof
access to attrs=userPassword
	by self write
	by dn.exact="cn=reader,dc=example,dc=org" read
	by anonymous auth
	by * none
access to *
	by * read
EOF
exec /usr/sbin/slapd -d 0 -f /tmp/slapd.conf -h ldap://0.0.0.0:1389/ "$@"
`
