package bulk_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
)

func TestSmallImportThenRerunSkipsAll(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "users.csv")
	writeCSV(t, csv, 200, func(i int) bool { return i%50 == 0 })
	s := startIdP(t, mockidp.Config{})
	p := csvPlan(t, csv)
	rep, err := runner(t, s).Run(context.Background(), p, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Rows != 200 || rep.Inserted != 196 || rep.Invalid != 4 || !rep.Reconciles() {
		t.Fatalf("report: got %+v, want 200 rows, 196 inserted, 4 invalid", rep)
	}
	if got := usersAt(t, s); got != 196 {
		t.Errorf("users at the IdP: got %d, want 196", got)
	}
	rep2, err := runner(t, s).Run(context.Background(), p, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("re-run: %v", err)
	}
	if rep2.Skipped != 196 || rep2.Inserted != 0 || rep2.Invalid != 4 {
		t.Errorf("re-run: got %+v, want 196 skipped, 0 inserted, 4 invalid", rep2)
	}
	if got := usersAt(t, s); got != 196 {
		t.Errorf("users after re-run: got %d, want 196", got)
	}
}
