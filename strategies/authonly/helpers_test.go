package authonly_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

// startIdP starts a real mock IdP on a loopback port.
func startIdP(t testing.TB) *mockidp.Server {
	t.Helper()
	return mockidptest.StartFast(t, mockidp.Config{})
}

func mockClient(t testing.TB, s *mockidp.Server) *idp.MockClient {
	t.Helper()
	info := s.Config()
	c, err := idp.New(idp.Config{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey})
	if err != nil {
		t.Fatal(err)
	}
	return &idp.MockClient{Client: c}
}

// runner imports into s.
func runner(t testing.TB, s *mockidp.Server) *authonly.Runner {
	return &authonly.Runner{OpenTarget: func(ctx context.Context, p *strategies.Plan) (*idp.Target, error) {
		return &idp.Target{Importer: mockClient(t, s), Hashes: idp.ProfileHashes(s.Config().Profile), Name: "mockidp", URL: s.Config().Issuer}, nil
	}}
}

// idpUsers returns email -> user at the mock IdP.
func idpUsers(t testing.TB, s *mockidp.Server) map[string]idp.TargetUser {
	t.Helper()
	pg, err := mockClient(t, s).FindUsers(context.Background(), idp.Query{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]idp.TargetUser{}
	for _, u := range pg.Users {
		out[strings.ToLower(u.Email)] = u
	}
	return out
}

// legacyDB is a legacy users table in one of the three dialects.
type legacyDB struct {
	kind string
	db   *sql.DB
	src  strategies.SourceSpec
}

// ph is the i-th placeholder of the dialect.
func (l *legacyDB) ph(i int) string {
	if l.kind == strategies.SourcePostgres {
		return fmt.Sprintf("$%d", i)
	}
	return "?"
}

// invalidRow marks rows seeded with a broken email: they must never get an IdP id.
func invalidRow(i int) bool { return i%25 == 0 }

// newLegacy creates a users table of n rows (every 25th with a broken email) in a fresh
// database of the dialect. SQLite runs everywhere; Postgres and MariaDB start real
// servers from the machine's binaries (skipped locally when absent, fatal on CI).
func newLegacy(t testing.TB, kind string, n int) *legacyDB {
	t.Helper()
	var driver, dsn string
	l := &legacyDB{kind: kind}
	var ddl string
	switch kind {
	case strategies.SourceSQLite:
		path := filepath.Join(t.TempDir(), "legacy.db")
		driver, dsn = "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"
		l.src = strategies.SourceSpec{Kind: kind, Path: path, Table: "users"}
		ddl = `CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, password_hash TEXT, created_at DATETIME, avatar BLOB)`
	case strategies.SourcePostgres:
		driver, dsn = "pgx", sourcetest.Postgres(t)
		l.src = strategies.SourceSpec{Kind: kind, DSN: dsn, Table: "users"}
		ddl = `CREATE TABLE users (id bigint PRIMARY KEY, email text, name text, password_hash text, created_at timestamptz, avatar bytea)`
	case strategies.SourceMySQL:
		driver, dsn = "mysql", sourcetest.MariaDB(t)
		l.src = strategies.SourceSpec{Kind: kind, DSN: dsn, Table: "users"}
		// updated_at re-stamps itself on any update unless the statement assigns it: the
		// write-back must not touch it.
		ddl = "CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(255), name VARCHAR(255), password_hash VARCHAR(255), " +
			"created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP, avatar BLOB)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	if kind == strategies.SourceSQLite {
		db.SetMaxOpenConns(1)
	}
	t.Cleanup(func() { db.Close() })
	l.db = db
	if _, err := db.Exec(ddl); err != nil {
		t.Fatalf("%s: %v", ddl, err)
	}
	seedRows(t, l, 1, n)
	return l
}

// seedRows inserts rows from..to.
func seedRows(t testing.TB, l *legacyDB, from, to int) {
	t.Helper()
	tx, err := l.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	q := fmt.Sprintf("INSERT INTO users (id, email, name, password_hash, created_at, avatar) VALUES (%s, %s, %s, %s, %s, %s)",
		l.ph(1), l.ph(2), l.ph(3), l.ph(4), l.ph(5), l.ph(6))
	stamp := time.Date(2001, 2, 3, 4, 5, 6, 0, time.UTC)
	for i := from; i <= to; i++ {
		email := fmt.Sprintf("user%d@example.com", i)
		if invalidRow(i) {
			email = fmt.Sprintf("user%d-at-example.com", i)
		}
		if _, err := tx.Exec(q, i, email, fmt.Sprintf("User %d", i), "$2a$04$notarealhashnotarealhashnotarealhashnotarealhashnot", stamp, []byte{byte(i), 0, 0xff}); err != nil {
			t.Fatalf("seed row %d: %v", i, err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// plan is an authonly plan for l.
func (l *legacyDB) plan(t testing.TB) *strategies.Plan {
	t.Helper()
	p := &strategies.Plan{
		Version:  strategies.PlanVersion,
		Strategy: strategies.StrategyAuthOnly,
		Source:   l.src,
		Mapping: strategies.Mapping{
			LegacyID: strategies.FieldRef{Column: "id"}, Email: strategies.FieldRef{Column: "email"},
			Name: strategies.FieldRef{Column: "name"}, PasswordHash: strategies.FieldRef{Column: "password_hash"},
		},
		Target:   strategies.Target{Kind: strategies.TargetMockIDP, Profile: strategies.ProfileAuthgear},
		Bulk:     strategies.BulkOptions{RunDir: filepath.Join(t.TempDir(), "runs")},
		AuthOnly: strategies.AuthOnlyOptions{BatchSize: 64},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// othersChecksum hashes every column but the id column, row by row in key order.
func (l *legacyDB) othersChecksum(t testing.TB) string {
	t.Helper()
	return l.checksum(t, "id, email, name, password_hash, created_at, avatar")
}

func (l *legacyDB) checksum(t testing.TB, cols string) string {
	t.Helper()
	rows, err := l.db.Query("SELECT " + cols + " FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	n := len(strings.Split(cols, ","))
	h := sha256.New()
	vals := make([]any, n)
	ptrs := make([]any, n)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			if tm, ok := v.(time.Time); ok {
				v = tm.UTC().Format(time.RFC3339Nano)
			}
			fmt.Fprintf(h, "%T:%q|", v, fmt.Sprint(v))
		}
		h.Write([]byte{'\n'})
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ids reads legacy id -> idp_user_id ("" for NULL).
func (l *legacyDB) ids(t testing.TB) map[int64]string {
	t.Helper()
	rows, err := l.db.Query("SELECT id, idp_user_id FROM users ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]string{}
	for rows.Next() {
		var id int64
		var v sql.NullString
		if err := rows.Scan(&id, &v); err != nil {
			t.Fatal(err)
		}
		out[id] = v.String
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
