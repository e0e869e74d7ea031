package images

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// recipeVersion is part of every packed tag: bump it when a recipe changes so cached
// images built by the old recipe are not reused.
const recipeVersion = "3"

// recipe says what goes into a packed image: ELF files with their shared libraries (the
// closure ldd reports), whole data trees, generated files and empty directories.
type recipe struct {
	name       string   // "postgres", for messages
	repo       string   // image repository
	packages   []string // Debian packages whose versions make the tag
	elves      []string // executables and shared objects, packed with their libraries
	elfGlobs   []string // globs of more shared objects (extensions, plugins)
	skipGlobs  []string // globs excluded from elfGlobs (e.g. the LLVM JIT)
	trees      []string // directories copied whole
	files      []genFile
	dirs       []genDir
	user       string // numeric user the entrypoint runs as
	entrypoint string // path of the generated entrypoint script
}

// genFile is a file written by the recipe; content may be computed from host files at pack time.
type genFile struct {
	path    string
	mode    int64
	content func() ([]byte, error)
}

// genDir is an empty directory with an owner, e.g. a data directory.
type genDir struct {
	path     string
	mode     int64
	uid, gid int
}

func text(s string) func() ([]byte, error) { return func() ([]byte, error) { return []byte(s), nil } }

// dash is the only shell the entrypoints need: `[`, printf, exec and redirections are built in.
const dash = "/usr/bin/dash"

const pgBin = "/usr/lib/postgresql/15/bin"

func postgresRecipe() recipe {
	return recipe{
		name:     "postgres",
		repo:     "cutover-e2e/postgres",
		packages: []string{"postgresql-15"},
		elves:    []string{dash, pgBin + "/postgres", pgBin + "/initdb", pgBin + "/pg_ctl", pgBin + "/psql", pgBin + "/pg_isready"},
		elfGlobs: []string{"/usr/lib/postgresql/15/lib/*.so"},
		// The JIT pulls in libLLVM (over 100 MB); the entrypoint turns jit off.
		skipGlobs: []string{"/usr/lib/postgresql/15/lib/llvmjit*.so"},
		trees:     []string{"/usr/share/postgresql/15", "/usr/share/zoneinfo"},
		files: []genFile{
			{path: "/etc/passwd", mode: 0o644, content: text("root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999:PostgreSQL:/var/lib/postgresql:/bin/sh\n")},
			{path: "/etc/group", mode: 0o644, content: text("root:x:0:\npostgres:x:999:\n")},
			{path: "/usr/local/bin/cutover-e2e-postgres", mode: 0o755, content: text(postgresEntrypoint)},
		},
		dirs: []genDir{
			{path: "/tmp", mode: 0o1777},
			{path: "/var/run/postgresql", mode: 0o2775, uid: 999, gid: 999},
			{path: "/var/lib/postgresql", mode: 0o755, uid: 999, gid: 999},
		},
		user:       "999:999",
		entrypoint: "/usr/local/bin/cutover-e2e-postgres",
	}
}

// postgresEntrypoint mirrors what the official image does with POSTGRES_PASSWORD: a
// cluster whose superuser postgres signs in with that password over TCP. Durability is
// traded for speed (fsync off): these databases live for one test.
const postgresEntrypoint = `#!/bin/sh
set -e
PATH=` + pgBin + `:/usr/bin:/bin
TZ=UTC
export PATH TZ
PGDATA=/var/lib/postgresql/data
if [ -z "$POSTGRES_PASSWORD" ]; then
  echo "cutover-e2e-postgres: set POSTGRES_PASSWORD" >&2
  exit 2
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/.pwfile
  initdb -D "$PGDATA" -U postgres --pwfile=/tmp/.pwfile --auth-local=trust --auth-host=scram-sha-256 --locale=C --encoding=UTF8 --no-sync >/dev/null
  : > /tmp/.pwfile
  printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
fi
exec postgres -D "$PGDATA" -k /tmp -c listen_addresses='*' -c jit=off -c fsync=off -c synchronous_commit=off -c full_page_writes=off "$@"
`

func mariadbRecipe() recipe {
	return recipe{
		name:     "mariadb",
		repo:     "cutover-e2e/mariadb",
		packages: []string{"mariadb-server-core", "mariadb-server"},
		elves:    []string{dash, "/usr/sbin/mariadbd"},
		trees:    []string{"/usr/share/mysql/charsets", "/usr/share/mysql/english", "/usr/share/zoneinfo"},
		files: []genFile{
			{path: "/etc/passwd", mode: 0o644, content: text("root:x:0:0:root:/root:/bin/sh\nmysql:x:999:999:MariaDB:/var/lib/mysql:/bin/sh\n")},
			{path: "/etc/group", mode: 0o644, content: text("root:x:0:\nmysql:x:999:\n")},
			{path: "/usr/local/bin/cutover-e2e-mariadb", mode: 0o755, content: text(mariadbEntrypoint)},
			{path: "/usr/share/mysql/cutover-e2e-bootstrap.sql", mode: 0o644, content: mariadbBootstrapSQL},
		},
		dirs: []genDir{
			{path: "/tmp", mode: 0o1777},
			{path: "/run/mysqld", mode: 0o755, uid: 999, gid: 999},
			{path: "/var/lib/mysql", mode: 0o750, uid: 999, gid: 999},
		},
		user:       "999:999",
		entrypoint: "/usr/local/bin/cutover-e2e-mariadb",
	}
}

// mariadbEntrypoint mirrors the official image's MARIADB_ROOT_PASSWORD: root may sign in
// from anywhere with that password. The system tables come from the bootstrap file that
// mariadb-install-db would have fed to `mariadbd --bootstrap`.
const mariadbEntrypoint = `#!/bin/sh
set -e
PATH=/usr/sbin:/usr/bin:/bin
TZ=UTC
export PATH TZ
DATA=/var/lib/mysql
if [ -z "$MARIADB_ROOT_PASSWORD" ]; then
  echo "cutover-e2e-mariadb: set MARIADB_ROOT_PASSWORD" >&2
  exit 2
fi
OPTS="--no-defaults --datadir=$DATA --socket=/run/mysqld/mysqld.sock --pid-file=/run/mysqld/mysqld.pid --lc-messages-dir=/usr/share/mysql --character-sets-dir=/usr/share/mysql/charsets --innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --skip-log-bin --skip-name-resolve"
if [ ! -d "$DATA/mysql" ]; then
  mariadbd $OPTS --bootstrap < /usr/share/mysql/cutover-e2e-bootstrap.sql
fi
printf "CREATE USER IF NOT EXISTS 'root'@'%%' IDENTIFIED BY '%s';\nGRANT ALL ON *.* TO 'root'@'%%' WITH GRANT OPTION;\n" "$MARIADB_ROOT_PASSWORD" > /tmp/.init.sql
exec mariadbd $OPTS --bind-address=0.0.0.0 --port=3306 --init-file=/tmp/.init.sql "$@"
`

// mariadbBootstrapSQL concatenates the system-table scripts the way mariadb-install-db
// does (help tables and the sys schema left out: the suite needs neither).
func mariadbBootstrapSQL() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("create database if not exists mysql;\nuse mysql;\nSET @auth_root_socket=NULL;\n")
	for _, f := range []string{"mysql_system_tables.sql", "mysql_performance_tables.sql", "mysql_system_tables_data.sql", "maria_add_gis_sp_bootstrap.sql"} {
		data, err := os.ReadFile(filepath.Join("/usr/share/mysql", f))
		if err != nil {
			return nil, fmt.Errorf("read mariadb bootstrap script: %w (is mariadb-server installed?)", err)
		}
		b.Write(data)
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

// tag derives the cache tag from the installed package versions and the recipe version,
// e.g. "15.18-0-deb12u1-r3-1a2b3c4d".
func (r recipe) tag(ctx context.Context) (string, error) {
	var versions []string
	for _, p := range r.packages {
		v, err := packageVersion(ctx, p)
		if err != nil {
			return "", fmt.Errorf("pack the %s image: %w", r.name, err)
		}
		versions = append(versions, p+"="+v)
	}
	sum := sha256.Sum256([]byte(strings.Join(versions, "\n") + "\n" + recipeVersion + "\n" + postgresEntrypoint + mariadbEntrypoint))
	v := versions[0][strings.IndexByte(versions[0], '=')+1:]
	if i := strings.IndexByte(v, ':'); i >= 0 { // drop a Debian epoch ("1:10.11.19")
		v = v[i+1:]
	}
	clean := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' {
			return c
		}
		return '-'
	}, v)
	return clean + "-r" + recipeVersion + "-" + hex.EncodeToString(sum[:4]), nil
}

// pack writes the image's root filesystem as a tar stream.
func (r recipe) pack(ctx context.Context, w io.Writer) error {
	elves := slices.Clone(r.elves)
	for _, g := range r.elfGlobs {
		matches, err := filepath.Glob(g)
		if err != nil {
			return fmt.Errorf("glob %s: %w", g, err)
		}
		for _, m := range matches {
			if !matchesAny(r.skipGlobs, m) {
				elves = append(elves, m)
			}
		}
	}
	libs, err := sharedLibraries(ctx, elves)
	if err != nil {
		return err
	}
	tw := newTreeWriter(w)
	if err := tw.dir("/", 0o755, 0, 0); err != nil {
		return err
	}
	for _, d := range r.dirs {
		if err := tw.dir(d.path, d.mode, d.uid, d.gid); err != nil {
			return err
		}
	}
	for _, f := range append(elves, libs...) {
		if err := tw.hostFile(f, f); err != nil {
			return err
		}
	}
	// /bin/sh for the entrypoints' shebang; merged-/usr symlinks so either path resolves.
	if err := tw.symlink("/bin/sh", dash); err != nil {
		return err
	}
	for _, t := range r.trees {
		if err := tw.hostTree(ctx, t); err != nil {
			return err
		}
	}
	for _, f := range r.files {
		data, err := f.content()
		if err != nil {
			return err
		}
		if err := tw.bytes(f.path, f.mode, data); err != nil {
			return err
		}
	}
	return tw.close()
}

func matchesAny(globs []string, name string) bool {
	for _, g := range globs {
		if ok, _ := filepath.Match(g, name); ok {
			return true
		}
	}
	return false
}

// sharedLibraries returns the libraries (and the dynamic loader) that ldd reports for files.
func sharedLibraries(ctx context.Context, files []string) ([]string, error) {
	seen := map[string]bool{}
	var libs []string
	for _, f := range files {
		out, err := exec.CommandContext(ctx, "ldd", f).Output()
		if err != nil {
			return nil, fmt.Errorf("list the shared libraries of %s with ldd: %v", f, errText(err))
		}
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if strings.Contains(line, "not found") {
				return nil, fmt.Errorf("ldd %s: a library is missing on this host: %s", f, line)
			}
			if _, after, ok := strings.Cut(line, "=>"); ok {
				line = strings.TrimSpace(after)
			}
			p, _, _ := strings.Cut(line, " ")
			if strings.HasPrefix(p, "/") && !seen[p] {
				seen[p] = true
				libs = append(libs, p)
			}
		}
	}
	return libs, nil
}

// treeWriter writes a root filesystem, creating parent directories once and skipping
// paths already written.
type treeWriter struct {
	tw      *tar.Writer
	written map[string]bool
	mtime   time.Time
}

func newTreeWriter(w io.Writer) *treeWriter {
	return &treeWriter{tw: tar.NewWriter(w), written: map[string]bool{}, mtime: time.Unix(0, 0)}
}

// name turns an absolute path into a tar entry name ("./usr/lib/...").
func entryName(p string) string {
	p = path.Clean("/" + p)
	if p == "/" {
		return "./"
	}
	return "." + p
}

func (t *treeWriter) parents(p string) error {
	dir := path.Dir(path.Clean(p))
	if dir == "/" || t.written[dir] {
		return nil
	}
	return t.dir(dir, 0o755, 0, 0)
}

func (t *treeWriter) dir(p string, mode int64, uid, gid int) error {
	p = path.Clean(p)
	if t.written[p] {
		return nil
	}
	if p != "/" {
		if err := t.parents(p); err != nil {
			return err
		}
	}
	t.written[p] = true
	name := entryName(p)
	if !strings.HasSuffix(name, "/") {
		name += "/"
	}
	return t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: uid, Gid: gid, ModTime: t.mtime})
}

func (t *treeWriter) bytes(p string, mode int64, data []byte) error {
	p = path.Clean(p)
	if err := t.parents(p); err != nil {
		return err
	}
	t.written[p] = true
	if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: entryName(p), Mode: mode, Size: int64(len(data)), ModTime: t.mtime}); err != nil {
		return err
	}
	_, err := t.tw.Write(data)
	return err
}

func (t *treeWriter) symlink(p, target string) error {
	p = path.Clean(p)
	if t.written[p] {
		return nil
	}
	if err := t.parents(p); err != nil {
		return err
	}
	t.written[p] = true
	return t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: entryName(p), Linkname: target, Mode: 0o777, ModTime: t.mtime})
}

// hostFile copies host file src (following symlinks) to dst in the image.
func (t *treeWriter) hostFile(dst, src string) error {
	dst = path.Clean(dst)
	if t.written[dst] {
		return nil
	}
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("pack %s: %w", src, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("pack %s: %w", src, err)
	}
	if err := t.parents(dst); err != nil {
		return err
	}
	t.written[dst] = true
	if err := t.tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: entryName(dst), Mode: int64(st.Mode().Perm()), Size: st.Size(), ModTime: t.mtime}); err != nil {
		return err
	}
	if _, err := io.Copy(t.tw, f); err != nil {
		return fmt.Errorf("pack %s: %w", src, err)
	}
	return nil
}

// hostTree copies a host directory, keeping symlinks as symlinks.
func (t *treeWriter) hostTree(ctx context.Context, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("pack %s: %w", root, err)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return fmt.Errorf("pack %s: %w", p, err)
			}
			return t.symlink(p, target)
		case d.IsDir():
			return t.dir(p, 0o755, 0, 0)
		case d.Type().IsRegular():
			return t.hostFile(p, p)
		}
		return nil // sockets, devices: nothing a server needs
	})
}

func (t *treeWriter) close() error { return t.tw.Close() }
