package mapping_test

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/mapping"
	"github.com/cutover/cutover/strategies/sources"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

// The benchmarks below read a 100,000-user source and map and validate every row (the
// work of plan check and of the bulk reader), reporting rows/s per source kind:
//
//	go test -run '^$' -bench ThroughMapping -benchtime 3x ./strategies/mapping/
const mappedRows = 100_000

// A bcrypt hash of "password" (cost 10) for every row: detection, not verification, is
// on this path.
const benchHash = "$2a$10$Ro0CUfOqk6cXEKf3dyaM7OhSCvnwM9s4wIX9JeLapehKK5YdLxKcm"

func benchPlan(src strategies.SourceSpec) *strategies.Plan {
	col := func(c string) strategies.FieldRef { return strategies.FieldRef{Column: c} }
	return &strategies.Plan{
		Version: strategies.PlanVersion, Strategy: strategies.StrategyBulk, Source: src,
		Mapping: strategies.Mapping{
			LegacyID: col("id"), Email: col("email"), Name: col("name"),
			EmailVerified: col("email_verified"), PasswordHash: col("password"), PasswordFormat: "auto",
		},
		Target: strategies.Target{Kind: strategies.TargetMockIDP},
	}
}

// benchMapped reads and maps the whole source b.N times.
func benchMapped(b *testing.B, p *strategies.Plan) {
	ctx := context.Background()
	src, err := sources.Open(ctx, p)
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	b.ReportAllocs()
	rows := 0
	for b.Loop() {
		m, err := mapping.New(p, mapping.Options{})
		if err != nil {
			b.Fatal(err)
		}
		valid := 0
		err = src.Read(ctx, "", func(r sources.Record) error {
			rows++
			if r.Err != nil {
				return r.Err
			}
			if _, errs := m.Map(r); len(errs) == 0 {
				valid++
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		if err := m.Close(); err != nil {
			b.Fatal(err)
		}
		if valid != mappedRows {
			b.Fatalf("got %d valid rows, want %d", valid, mappedRows)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func writeLines(b *testing.B, name, header string, line func(i int) string) string {
	path := filepath.Join(b.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(header)
	for i := 1; i <= mappedRows; i++ {
		w.WriteString(line(i))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	return path
}

func seedTable(b *testing.B, driver, dsn, ph string) {
	db, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE users (id bigint PRIMARY KEY, email text, name text, email_verified boolean, password text)`); err != nil {
		b.Fatal(err)
	}
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	stmt, err := tx.Prepare(fmt.Sprintf("INSERT INTO users VALUES (%s)", ph))
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= mappedRows; i++ {
		if _, err := stmt.Exec(i, fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("User %d", i), i%7 != 0, benchHash); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkCSVThroughMapping(b *testing.B) {
	path := writeLines(b, "users.csv", "\ufeffid,email,name,email_verified,password\r\n", func(i int) string {
		return fmt.Sprintf("%d,user%d@example.com,User %d,%v,%s\r\n", i, i, i, i%7 != 0, benchHash)
	})
	benchMapped(b, benchPlan(strategies.SourceSpec{Kind: strategies.SourceCSV, Path: path}))
}

func BenchmarkNDJSONThroughMapping(b *testing.B) {
	path := writeLines(b, "users.ndjson", "", func(i int) string {
		return fmt.Sprintf(`{"id":%d,"email":"user%d@example.com","name":"User %d","email_verified":%v,"password":%q}`+"\n", i, i, i, i%7 != 0, benchHash)
	})
	benchMapped(b, benchPlan(strategies.SourceSpec{Kind: strategies.SourceNDJSON, Path: path}))
}

func BenchmarkSQLiteThroughMapping(b *testing.B) {
	path := filepath.Join(b.TempDir(), "legacy.db")
	seedTable(b, "sqlite", path, "?, ?, ?, ?, ?")
	benchMapped(b, benchPlan(strategies.SourceSpec{Kind: strategies.SourceSQLite, Path: path, Table: "users"}))
}

func BenchmarkPostgresThroughMapping(b *testing.B) {
	dsn := sourcetest.Postgres(b)
	seedTable(b, "pgx", dsn, "$1, $2, $3, $4, $5")
	benchMapped(b, benchPlan(strategies.SourceSpec{Kind: strategies.SourcePostgres, DSN: dsn, Table: "users"}))
}
