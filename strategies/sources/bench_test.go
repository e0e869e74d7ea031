package sources

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

const benchRows = 100_000

// benchRead reads the whole source b.N times and reports rows/s.
func benchRead(b *testing.B, p *strategies.Plan) {
	src := openPlan(b, p)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	var rows int
	for b.Loop() {
		err := src.Read(ctx, "", func(r Record) error {
			rows++
			if r.Err != nil {
				return r.Err
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
}

func benchFile(b *testing.B, name string, line func(i int) string, header string) string {
	path := filepath.Join(b.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(f)
	w.WriteString(header)
	for i := 1; i <= benchRows; i++ {
		w.WriteString(line(i))
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	f.Close()
	return path
}

func BenchmarkCSV(b *testing.B) {
	path := benchFile(b, "users.csv", func(i int) string {
		return fmt.Sprintf("%d,user%d@example.com,User %d,t,$2a$10$abcdefghijklmnopqrstuuN9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p9\r\n", i, i, i)
	}, "\ufeffid,email,name,email_verified,password\r\n")
	benchRead(b, filePlan("csv", path))
}

func BenchmarkNDJSON(b *testing.B) {
	path := benchFile(b, "users.ndjson", func(i int) string {
		return fmt.Sprintf(`{"id":%d,"email":"user%d@example.com","name":"User %d","email_verified":true,"password":{"password_hash":"$2a$10$abcdefghijklmnopqrstuuN9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p9"}}`+"\n", i, i, i)
	}, "")
	benchRead(b, filePlan("ndjson", path))
}

func BenchmarkSQLite(b *testing.B) {
	benchRead(b, sqlitePlan(b, benchRows))
}

func BenchmarkPostgres(b *testing.B) {
	dsn := sourcetest.Postgres(b)
	seed(b, strategies.SourcePostgres, "pgx", dsn, benchRows)
	benchRead(b, &strategies.Plan{Source: strategies.SourceSpec{Kind: "postgres", DSN: dsn, Table: "users"}})
}
