package bulk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
)

// TestImport100k is the acceptance run: 100,000 users over HTTP, every count
// reconciled, then a re-run with upsert: false skips everyone and creates nobody.
func TestImport100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100k import: -short")
	}
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	const n = 100_000
	writeCSV(t, csv, n, func(i int) bool { return i%1000 == 0 })
	s := startIdP(t, mockidp.Config{DBPath: filepath.Join(dir, "idp.db")})
	p := csvPlan(t, csv)
	rep, err := runner(t, s).Run(context.Background(), p, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Rows != n || rep.Inserted != n-100 || rep.Invalid != 100 || !rep.Reconciles() {
		t.Fatalf("report: got rows %d inserted %d invalid %d failed %d, want %d, %d, 100, 0", rep.Rows, rep.Inserted, rep.Invalid, rep.Failed, n, n-100)
	}
	t.Logf("first run: %v (%.0f users/s)", rep.Duration, float64(n)/rep.Duration.Seconds())
	// A sample of users, first, last and between, sign in with their old passwords and
	// get ID tokens a standard verifier accepts; a wrong password is refused.
	for _, i := range []int{1, 2, 777, 50_001, 99_998, 99_999} { // every 1000th row is invalid
		email, password := fmt.Sprintf("user%d@example.com", i), fmt.Sprintf("password-%d", i%8)
		if err := signIn(t, s, email, password); err != nil {
			t.Errorf("sign-in as %s with the old password: %v", email, err)
		}
		if err := signIn(t, s, email, password+"x"); err == nil {
			t.Errorf("sign-in as %s with a wrong password: got a token, want invalid_grant", email)
		}
	}
	rep, err = runner(t, s).Run(context.Background(), p, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if rep.Skipped != n-100 || rep.Inserted != 0 || !rep.Reconciles() {
		t.Errorf("re-run: got skipped %d inserted %d, want %d skipped and none inserted", rep.Skipped, rep.Inserted, n-100)
	}
	if got := usersAt(t, s); got != n-100 {
		t.Errorf("users at the IdP: got %d, want %d", got, n-100)
	}
}

// BenchmarkImportCSV measures end to end users/s from a CSV of pre-hashed bcrypt users
// into the mock IdP over HTTP, and the importer's peak RSS: the import runs in a child
// process (the mock IdP stays in this one, on an SQLite file) whose rusage gives it.
// CUTOVER_BENCH_ROWS sets the size (default 100000), e.g.
//
//	CUTOVER_BENCH_ROWS=1000000 go test -run '^$' -bench ImportCSV -benchtime 1x ./strategies/bulk/
func BenchmarkImportCSV(b *testing.B) {
	n := 100_000
	if v, err := strconv.Atoi(os.Getenv("CUTOVER_BENCH_ROWS")); err == nil && v > 0 {
		n = v
	}
	dir := b.TempDir()
	csv := filepath.Join(dir, "users.csv")
	writeCSV(b, csv, n, nil)
	b.ResetTimer()
	var total time.Duration
	var rss int64
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		idpDir := filepath.Join(dir, "idp"+strconv.Itoa(i))
		s := startIdP(b, mockidp.Config{DBPath: filepath.Join(dir, "idp"+strconv.Itoa(i)+".db"), AdminKeyDir: idpDir})
		info := s.Config()
		p := csvPlan(b, csv)
		p.Bulk.RunDir = filepath.Join(dir, "runs"+strconv.Itoa(i))
		p.Target = strategies.Target{Kind: strategies.TargetMockIDP, URL: info.Issuer, KeyFile: info.AdminKeyFile, KeyID: info.KeyID, Project: info.Project}
		planJSON, _ := json.Marshal(p)
		cmd := exec.Command(os.Args[0], "-test.run=^$", "-test.bench=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+string(planJSON))
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		b.StartTimer()
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("import: %v\n%s", err, out.String())
		}
		total += time.Since(start)
		b.StopTimer()
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = max(rss, ru.Maxrss) // KiB on Linux
		}
		if got := usersAt(b, s); got != n {
			b.Fatalf("users at the IdP: got %d, want %d", got, n)
		}
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n)*float64(b.N)/total.Seconds(), "users/s")
	b.ReportMetric(float64(rss)/1024, "importer-peak-RSS-MB")
}
