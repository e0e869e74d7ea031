package sources

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

// seedRows is more than one keyset page, so paging and resuming across pages is tested.
const seedRows = pageSize + 3

var seedTime = time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)

// seed creates users (id primary key, mixed column types) and an odd-named table.
func seed(t testing.TB, kind, driver, dsn string, n int) {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ddl := map[string][]string{
		strategies.SourceSQLite: {
			`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, is_active BOOLEAN, created_at DATETIME, avatar BLOB)`,
			`CREATE TABLE "odd ""name" (email TEXT)`,
		},
		strategies.SourcePostgres: {
			`CREATE TABLE users (id bigint PRIMARY KEY, email text, name text, is_active boolean, created_at timestamptz, avatar bytea)`,
			`CREATE TABLE "odd ""name" (email text)`,
		},
		strategies.SourceMySQL: {
			"CREATE TABLE users (id BIGINT PRIMARY KEY, email VARCHAR(255), name TEXT, is_active BOOLEAN, created_at DATETIME, avatar BLOB)",
			"CREATE TABLE `odd \"name` (email TEXT)",
		},
	}[kind]
	for _, q := range ddl {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	ph := func(i int) string {
		if kind == strategies.SourcePostgres {
			return fmt.Sprintf("$%d", i)
		}
		return "?"
	}
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	const per = 500
	for start := 1; start <= n; start += per {
		var vals []string
		var args []any
		for id := start; id < start+per && id <= n; id++ {
			k := len(args)
			vals = append(vals, fmt.Sprintf("(%s, %s, %s, %s, %s, %s)", ph(k+1), ph(k+2), ph(k+3), ph(k+4), ph(k+5), ph(k+6)))
			var name any = fmt.Sprintf("User %d", id)
			if id%10 == 0 {
				name = nil
			}
			args = append(args, id, fmt.Sprintf("User%d@Example.com", id), name, id%3 != 0, seedTime, []byte{byte(id), 0xFF})
		}
		q := "INSERT INTO users (id, email, name, is_active, created_at, avatar) VALUES " + strings.Join(vals, ", ")
		if _, err := tx.Exec(q, args...); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

func sqlitePlan(t testing.TB, n int) *strategies.Plan {
	path := filepath.Join(t.TempDir(), "legacy.db")
	seed(t, strategies.SourceSQLite, "sqlite", path, n)
	return &strategies.Plan{Version: 1, Strategy: "bulk", Source: strategies.SourceSpec{Kind: "sqlite", Path: path, Table: "users"}}
}

func TestSQLite(t *testing.T) {
	testDatabase(t, sqlitePlan(t, seedRows), int64(1))
}

func TestPostgres(t *testing.T) {
	dsn := sourcetest.Postgres(t)
	seed(t, strategies.SourcePostgres, "pgx", dsn, seedRows)
	t.Setenv("TEST_LEGACY_DSN", dsn)
	testDatabase(t, &strategies.Plan{Version: 1, Strategy: "bulk", Source: strategies.SourceSpec{Kind: "postgres", DSN: "${TEST_LEGACY_DSN}", Table: "users"}}, true)
}

func TestMariaDB(t *testing.T) {
	dsn := sourcetest.MariaDB(t)
	seed(t, strategies.SourceMySQL, "mysql", dsn, seedRows)
	testDatabase(t, &strategies.Plan{Version: 1, Strategy: "bulk", Source: strategies.SourceSpec{Kind: "mysql", DSN: dsn, Table: "users"}}, int64(1))
}

// testDatabase runs the same checks on any seeded database; active is how the
// database returns a true boolean.
func testDatabase(t *testing.T, p *strategies.Plan, active any) {
	ctx := context.Background()
	src := openPlan(t, p)
	all := readAll(t, src, "")
	t.Run("read all in key order", func(t *testing.T) {
		if len(all) != seedRows {
			t.Fatalf("got %d rows, want %d", len(all), seedRows)
		}
		for i, r := range all {
			if r.Row != i+1 || r.Fields["id"] != int64(i+1) {
				t.Fatalf("record %d: got row %d id %v, want row %d id %d", i, r.Row, r.Fields["id"], i+1, i+1)
			}
		}
		f := all[0].Fields
		want := map[string]any{"id": int64(1), "email": "User1@Example.com", "name": "User 1", "is_active": active, "avatar": []byte{1, 0xFF}}
		for k, w := range want {
			if !reflect.DeepEqual(f[k], w) {
				t.Errorf("%s: got %#v (%T), want %#v (%T)", k, f[k], f[k], w, w)
			}
		}
		if ts, ok := f["created_at"].(time.Time); !ok || !ts.Equal(seedTime) {
			t.Errorf("created_at: got %#v, want %v", f["created_at"], seedTime)
		}
		if all[9].Fields["name"] != nil {
			t.Errorf("NULL name: got %#v, want nil", all[9].Fields["name"])
		}
	})
	t.Run("resume across pages", func(t *testing.T) {
		for _, i := range []int{0, pageSize - 2, pageSize - 1, seedRows - 1} {
			rest := readAll(t, src, all[i].Pos)
			if len(rest) != seedRows-i-1 {
				t.Fatalf("after row %d: got %d rows, want %d", i+1, len(rest), seedRows-i-1)
			}
			if len(rest) > 0 && (rest[0].Row != i+2 || rest[0].Fields["id"] != int64(i+2)) {
				t.Errorf("after row %d: got row %d id %v, want row %d", i+1, rest[0].Row, rest[0].Fields["id"], i+2)
			}
		}
	})
	t.Run("find ignores case", func(t *testing.T) {
		got, err := src.(Finder).Find(ctx, "email", "user4242@example.COM")
		if err != nil {
			t.Fatalf("Find: %v", err)
		}
		if len(got) != 1 || got[0].Fields["id"] != int64(4242) {
			t.Errorf("got %v, want the row with id 4242", got)
		}
	})
	t.Run("count, describe, sample", func(t *testing.T) {
		n, exact, err := src.(Counter).Count(ctx)
		if err != nil || n != seedRows || !exact {
			t.Errorf("Count: got %d, %v, %v; want %d, true, nil", n, exact, err, seedRows)
		}
		s, err := src.(Describer).Describe(ctx)
		if err != nil {
			t.Fatalf("Describe: %v", err)
		}
		var users *Table
		var names []string
		for i := range s.Tables {
			names = append(names, s.Tables[i].Name)
			if s.Tables[i].Name == "users" {
				users = &s.Tables[i]
			}
		}
		if users == nil || len(users.Columns) != 6 || !users.Columns[0].PrimaryKey || users.Columns[1].PrimaryKey {
			t.Fatalf("Describe: got tables %v (users %+v), want users with id as primary key", names, users)
		}
		if !containsString(names, `odd "name`) {
			t.Errorf("Describe: got tables %v, want the odd-named one too", names)
		}
		if s.Version == "" {
			t.Errorf("Describe: got no server version")
		}
		sm, err := src.(Sampler).Sample(ctx, 3)
		if err != nil || len(sm) != 3 || sm[2].Fields["id"] != int64(3) {
			t.Errorf("Sample(3): got %d records, %v; want ids 1-3", len(sm), err)
		}
	})
	t.Run("plans that cannot work", func(t *testing.T) {
		tests := []struct {
			name  string
			edit  func(s *strategies.SourceSpec)
			wants []string
		}{
			{"missing table", func(s *strategies.SourceSpec) { s.Table = "members" }, []string{`no table "members"`, "users"}},
			{"query without key", func(s *strategies.SourceSpec) { s.Table, s.Query = "", "SELECT * FROM users" }, []string{"source.key", "query"}},
			{"key not a column", func(s *strategies.SourceSpec) { s.Key = "uid" }, []string{`no column "uid"`}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				q := *p
				tt.edit(&q.Source)
				_, err := Open(ctx, &q)
				for _, w := range tt.wants {
					if err == nil || !strings.Contains(err.Error(), w) {
						t.Errorf("got %v, want an error containing %q", err, w)
					}
				}
			})
		}
	})
	t.Run("query with key and odd identifiers", func(t *testing.T) {
		q := *p
		q.Source.Table, q.Source.Key = "", "id"
		q.Source.Query = "SELECT id, email FROM users WHERE id <= 7"
		qs := openPlan(t, &q)
		recs := readAll(t, qs, "")
		if len(recs) != 7 || len(recs[0].Fields) != 2 {
			t.Fatalf("got %d rows of %d fields, want 7 rows of 2", len(recs), len(recs[0].Fields))
		}
		if rest := readAll(t, qs, recs[3].Pos); len(rest) != 3 || rest[0].Row != 5 {
			t.Errorf("resume a query: got %d rows, want 3 starting at row 5", len(rest))
		}
		o := *p
		o.Source.Table, o.Source.Key = `odd "name`, "email"
		if recs := readAll(t, openPlan(t, &o), ""); len(recs) != 0 {
			t.Errorf("odd table: got %d rows, want 0", len(recs))
		}
	})
}

func TestSQLiteWithoutPrimaryKeyReadsByRowid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nopk.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"CREATE TABLE people (email TEXT)", "INSERT INTO people VALUES ('a@x.io'), ('b@x.io'), ('c@x.io')"} {
		if _, err := db.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	src := openPlan(t, &strategies.Plan{Source: strategies.SourceSpec{Kind: "sqlite", Path: path, Table: "people"}})
	recs := readAll(t, src, "")
	if len(recs) != 3 || !reflect.DeepEqual(recs[2].Fields, map[string]any{"email": "c@x.io"}) {
		t.Fatalf("got %+v, want 3 rows with only the email field", recs)
	}
	if rest := readAll(t, src, recs[0].Pos); len(rest) != 2 || rest[0].Fields["email"] != "b@x.io" {
		t.Errorf("resume: got %+v, want b@x.io and c@x.io", rest)
	}
}

func TestSQLiteMissingFileIsNotCreated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.db")
	_, err := Open(context.Background(), &strategies.Plan{Source: strategies.SourceSpec{Kind: "sqlite", Path: path, Table: "users"}})
	if err == nil || !strings.Contains(err.Error(), "file not found") {
		t.Fatalf("got %v, want file not found", err)
	}
	if fileExists(path) {
		t.Errorf("Open created %s; a source must not create files", path)
	}
}

func TestPostgresWrongDSN(t *testing.T) {
	p := &strategies.Plan{Source: strategies.SourceSpec{Kind: "postgres", DSN: "postgres://nobody:s3cret-pw@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", Table: "users"}}
	_, err := Open(context.Background(), p)
	if err == nil || !strings.Contains(err.Error(), "cannot connect to postgres 127.0.0.1:1/x") {
		t.Fatalf("got %v, want a connection error naming the server", err)
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("the error shows the password: %v", err)
	}
}
