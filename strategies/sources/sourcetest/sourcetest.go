// Package sourcetest starts real, throwaway database servers for tests: PostgreSQL
// and MariaDB from the machine's own binaries, each in a temporary directory on a free
// loopback port, stopped and removed when the test ends.
//
// When the binaries are absent the test is skipped with the reason; when the
// environment variable CI is "true" it fails instead, so CI cannot pass by skipping.
package sourcetest

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql" // readiness checks
	_ "github.com/jackc/pgx/v5/stdlib" // readiness checks
)

// postgresBinDirs are searched, in order, for initdb and postgres (Debian's layout).
func postgresBinDirs() []string {
	return []string{"/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/14/bin"}
}

// unavailable skips t, or fails it when CI=true.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s", msg)
	}
	t.Skip(msg)
}

// Postgres starts a PostgreSQL server for the test and returns a DSN for its
// "postgres" database (user postgres, trust authentication, no password):
// postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable. Startup takes about
// a second (initdb with fsync off).
func Postgres(t testing.TB) string {
	t.Helper()
	var bin string
	for _, d := range postgresBinDirs() {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			bin = d
			break
		}
	}
	if bin == "" {
		if p, err := exec.LookPath("postgres"); err == nil {
			bin = filepath.Dir(p)
		}
	}
	if bin == "" {
		unavailable(t, "no PostgreSQL server binaries (looked in %s and $PATH); install postgresql-15", strings.Join(postgresBinDirs(), ", "))
	}
	dir, cred := serverDir(t, "postgres")
	data := filepath.Join(dir, "data")
	port := freePort(t)
	run(t, cred, filepath.Join(bin, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "--locale=C")
	start(t, cred, filepath.Join(dir, "server.log"), filepath.Join(bin, "postgres"),
		"-D", data, "-p", strconv.Itoa(port), "-h", "127.0.0.1", "-k", dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	dsn := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	waitReady(t, "pgx", dsn, filepath.Join(dir, "server.log"))
	return dsn
}

// MariaDB starts a MariaDB (or MySQL-compatible mariadbd) server for the test and
// returns a go-sql-driver DSN for an empty database "cutover" as root without a
// password: root@tcp(127.0.0.1:PORT)/cutover?parseTime=true.
func MariaDB(t testing.TB) string {
	t.Helper()
	server := lookBin("mariadbd", "/usr/sbin/mariadbd", "/usr/sbin/mysqld")
	install := lookBin("mariadb-install-db", "/usr/bin/mariadb-install-db", "/usr/bin/mysql_install_db")
	if server == "" || install == "" {
		unavailable(t, "no MariaDB server binaries (mariadbd, mariadb-install-db); install mariadb-server")
	}
	dir, cred := serverDir(t, "mysql")
	data := filepath.Join(dir, "data")
	port := freePort(t)
	args := []string{"--no-defaults", "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db"}
	if os.Geteuid() == 0 {
		args = append(args, "--user="+credName(cred))
	}
	run(t, cred, install, args...)
	srv := []string{"--no-defaults", "--datadir=" + data, "--socket=" + filepath.Join(dir, "mysqld.sock"),
		"--port=" + strconv.Itoa(port), "--bind-address=127.0.0.1", "--skip-name-resolve",
		"--pid-file=" + filepath.Join(dir, "mysqld.pid"), "--innodb-flush-log-at-trx-commit=0",
		"--innodb-buffer-pool-size=64M", "--skip-log-bin", "--log-error=" + filepath.Join(dir, "server.log")}
	if os.Geteuid() == 0 {
		srv = append(srv, "--user="+credName(cred))
	}
	start(t, cred, filepath.Join(dir, "stdout.log"), server, srv...)
	// root@localhost is the only account; with skip-name-resolve, TCP from 127.0.0.1
	// does not match it, so create the database over the unix socket first.
	sock := fmt.Sprintf("root@unix(%s)/", filepath.Join(dir, "mysqld.sock"))
	db := waitReady(t, "mysql", sock, filepath.Join(dir, "server.log"))
	for _, q := range []string{
		"CREATE DATABASE cutover CHARACTER SET utf8mb4",
		"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''",
		"GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("mariadb setup %q: %v", q, err)
		}
	}
	return fmt.Sprintf("root@tcp(127.0.0.1:%d)/cutover?parseTime=true", port)
}

func lookBin(name string, paths ...string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// serverDir makes a directory for a server's files. As root, servers run as an
// unprivileged user (postgres refuses root): the named one when it exists, else nobody;
// the directory is theirs. It is removed when the test ends.
func serverDir(t testing.TB, account string) (string, *syscall.Credential) {
	t.Helper()
	dir, err := os.MkdirTemp("", "cutover-"+account+"-*")
	if err != nil {
		t.Fatalf("make server directory: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if os.Geteuid() != 0 {
		return dir, nil
	}
	u, err := user.Lookup(account)
	if err != nil {
		u, err = user.Lookup("nobody")
	}
	if err != nil {
		t.Fatalf("running as root and found neither a %s nor a nobody user to run the server as", account)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(dir, uid, gid); err != nil {
		t.Fatalf("chown server directory: %v", err)
	}
	return dir, &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}
}

func credName(c *syscall.Credential) string {
	if c == nil {
		return ""
	}
	if u, err := user.LookupId(strconv.Itoa(int(c.Uid))); err == nil {
		return u.Username
	}
	return strconv.Itoa(int(c.Uid))
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// run runs a set-up command as cred and fails the test with its output on error.
func run(t testing.TB, cred *syscall.Credential, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	cmd.Dir = os.TempDir()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", filepath.Base(name), err, out.String())
	}
}

// start starts a server as cred, logging to logFile, and stops it when the test ends.
func start(t testing.TB, cred *syscall.Credential, logFile, name string, args ...string) {
	t.Helper()
	log, err := os.Create(logFile)
	if err != nil {
		t.Fatalf("create server log: %v", err)
	}
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	cmd.Dir = os.TempDir()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		log.Close()
		t.Fatalf("start %s: %v", filepath.Base(name), err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		log.Close()
	})
}

// waitReady pings the server until it answers (30 s at most) and returns a pool
// closed when the test ends.
func waitReady(t testing.TB, driver, dsn, logFile string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", driver, err)
	}
	t.Cleanup(func() { db.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err = db.PingContext(ctx)
		cancel()
		if err == nil {
			return db
		}
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(logFile)
			t.Fatalf("%s server not ready after 30s: %v\nserver log:\n%s", driver, err, logText)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
