package authonly_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
)

// BenchmarkWriteBack measures the write-back alone (batched UPDATEs keyed by the primary
// key, 1000 rows per transaction) into a fresh id column, in rows/s. CUTOVER_BENCH_ROWS
// sets the table size (default 20000), e.g.
//
//	go test -run '^$' -bench WriteBack -benchtime 3x ./strategies/authonly/
func BenchmarkWriteBack(b *testing.B) {
	n := 20_000
	if v, err := strconv.Atoi(os.Getenv("CUTOVER_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	for _, kind := range []string{strategies.SourceSQLite, strategies.SourcePostgres, strategies.SourceMySQL} {
		b.Run(kind, func(b *testing.B) {
			l := newLegacy(b, kind, n)
			p := l.plan(b)
			ctx := context.Background()
			tbl, err := authonly.OpenTable(ctx, p)
			if err != nil {
				b.Fatal(err)
			}
			defer tbl.Close()
			if _, err := tbl.EnsureColumn(ctx); err != nil {
				b.Fatal(err)
			}
			pairs := make([]authonly.Pair, n)
			for i := range pairs {
				pairs[i] = authonly.Pair{LegacyID: strconv.Itoa(i + 1), IdPUserID: fmt.Sprintf("0b10fd33-00b5-404a-be6e-%012d", i)}
			}
			b.ResetTimer()
			for b.Loop() {
				b.StopTimer()
				if _, err := l.db.Exec("UPDATE users SET idp_user_id = NULL"); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				st, err := tbl.Write(ctx, pairs, authonly.DefaultBatchSize, nil)
				if err != nil {
					b.Fatal(err)
				}
				if st.Updated != int64(n) {
					b.Fatalf("updated: got %d, want %d", st.Updated, n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
