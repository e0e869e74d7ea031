package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/cutover/cutover/e2e/images"
)

// database is a PostgreSQL or MariaDB server in a container on the scenario's network,
// with one empty database (Name) that the test fills. Passwords are generated per server
// and only travel in environment variables; DSN methods build strings that hold them, so
// never log those.
type database struct {
	Kind     string // "postgres" or "mysql"
	User     string
	Password string
	Name     string // the database the test uses ("legacy")
	Alias    string // host name on the scenario's network
	Port     int    // port on the scenario's network
	HostAddr string // host:port from this process
	DB       *sql.DB
	c        *container
}

// Postgres starts a PostgreSQL 15 server reachable as alias "postgres" (and any extra
// aliases, e.g. "db") with an empty database "legacy", and connects to it from the host.
func (sc *scenario) Postgres(aliases ...string) *database {
	sc.t.Helper()
	return sc.startDatabase(sc.s.pg, "postgres", 5432, aliases, func(d *database) string {
		return "POSTGRES_PASSWORD=" + d.Password
	})
}

// MariaDB starts a MariaDB server reachable as alias "mariadb" (and any extra aliases)
// with an empty database "legacy", and connects to it from the host.
func (sc *scenario) MariaDB(aliases ...string) *database {
	sc.t.Helper()
	return sc.startDatabase(sc.s.maria, "mysql", 3306, aliases, func(d *database) string {
		return "MARIADB_ROOT_PASSWORD=" + d.Password
	})
}

func (sc *scenario) startDatabase(img images.Image, kind string, port int, aliases []string, passwordEnv func(*database) string) *database {
	t := sc.t
	t.Helper()
	start := time.Now()
	d := &database{Kind: kind, User: "postgres", Password: randomHex(12), Name: "legacy", Alias: "postgres", Port: port}
	if kind == "mysql" {
		d.User, d.Alias = "root", "mariadb"
	}
	p := fmt.Sprintf("%d/tcp", port)
	c, err := sc.start(t.Context(), containerSpec{
		Image:      img.Ref,
		Aliases:    append([]string{d.Alias}, aliases...),
		Entrypoint: img.Entrypoint,
		User:       img.User,
		Env:        []string{passwordEnv(d), "TZ=UTC"},
		Ports:      []string{p},
	})
	if err != nil {
		t.Fatalf("start %s (%s image %s): %v", kind, img.Flavour, img.Ref, err)
	}
	d.c = c
	d.HostAddr = c.HostAddr(p)

	// Ready means the server accepts a password login over TCP, the way cutover will connect.
	var admin *sql.DB
	err = sc.ready(c, func(ctx context.Context) error {
		db, err := sql.Open(d.driver(), d.dsn(d.HostAddr, d.adminDB()))
		if err != nil {
			return err
		}
		if err := db.PingContext(ctx); err != nil {
			db.Close()
			return err
		}
		admin = db
		return nil
	})
	if err != nil {
		t.Fatalf("%s (%s image %s) did not accept connections: %v", kind, img.Flavour, img.Ref, err)
	}
	defer admin.Close()
	if _, err := admin.ExecContext(t.Context(), "CREATE DATABASE "+d.Name); err != nil {
		t.Fatalf("create database %s in %s: %v", d.Name, kind, err)
	}
	d.DB, err = sql.Open(d.driver(), d.dsn(d.HostAddr, d.Name))
	if err != nil {
		t.Fatalf("connect to %s database %s: %v", kind, d.Name, err)
	}
	t.Cleanup(func() { d.DB.Close() })
	t.Logf("%s ready in %s (%s image %s)", kind, time.Since(start).Round(time.Millisecond), img.Flavour, img.Ref)
	return d
}

func (d *database) driver() string {
	if d.Kind == "mysql" {
		return "mysql"
	}
	return "pgx"
}

func (d *database) adminDB() string {
	if d.Kind == "mysql" {
		return ""
	}
	return "postgres"
}

// dsn is the Go driver's DSN for addr (host:port) and database name.
func (d *database) dsn(addr, name string) string {
	if d.Kind == "mysql" {
		cfg := mysql.NewConfig()
		cfg.User, cfg.Passwd, cfg.Net, cfg.Addr, cfg.DBName = d.User, d.Password, "tcp", addr, name
		cfg.ParseTime = true
		return cfg.FormatDSN()
	}
	return d.url(addr, name)
}

// url is the URL form: postgres://user:pw@host:port/db?sslmode=disable or mysql://user:pw@host:port/db.
func (d *database) url(addr, name string) string {
	u := url.URL{Scheme: d.Kind, User: url.UserPassword(d.User, d.Password), Host: addr, Path: "/" + name}
	if d.Kind == "postgres" {
		u.RawQuery = "sslmode=disable"
	}
	return u.String()
}

// NetAddr is host:port on the scenario's network.
func (d *database) NetAddr() string { return net.JoinHostPort(d.Alias, fmt.Sprint(d.Port)) }

// NetDSN is the Go driver DSN containers on the scenario's network use.
func (d *database) NetDSN() string { return d.dsn(d.NetAddr(), d.Name) }

// NetURL is the URL form of NetDSN (what a plan's ${LEGACY_DSN} usually holds).
func (d *database) NetURL() string { return d.url(d.NetAddr(), d.Name) }

// HostDSN is the Go driver DSN for this process.
func (d *database) HostDSN() string { return d.dsn(d.HostAddr, d.Name) }

// Exec runs SQL statements separated by ";\n" (no semicolons inside literals) and fails
// the test on the first error.
func (d *database) Exec(sc *scenario, script string) {
	sc.t.Helper()
	for _, stmt := range strings.Split(script, ";\n") {
		if strings.TrimSpace(stmt) == "" {
			continue
		}
		if _, err := d.DB.ExecContext(sc.t.Context(), stmt); err != nil {
			sc.t.Fatalf("%s: %v\nin: %s", d.Kind, err, stmt)
		}
	}
}

// Count returns SELECT count(*) FROM table WHERE where (where may be empty).
func (d *database) Count(sc *scenario, table, where string) int {
	sc.t.Helper()
	q := "SELECT count(*) FROM " + table
	if where != "" {
		q += " WHERE " + where
	}
	var n int
	if err := d.DB.QueryRowContext(sc.t.Context(), q).Scan(&n); err != nil {
		sc.t.Fatalf("%s: %s: %v", d.Kind, q, err)
	}
	return n
}
