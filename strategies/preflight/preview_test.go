package preflight_test

import (
	"context"
	"slices"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/preflight"
	"github.com/cutover/cutover/strategies/sources/demo"
)

// Moved from cmd/cutover/wizard_test.go with Preview (was previewSource), unchanged.

// TestPreviewAuthOnlyLeavesPasswordsOut: an authonly run imports no password, so its
// preview must not count hash problems as invalid rows nor show a format histogram, and
// must agree with what the run will report.
func TestPreviewAuthOnlyLeavesPasswordsOut(t *testing.T) {
	db, err := demo.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := demo.Plan(db)
	bulkPreview, err := preflight.Preview(context.Background(), p, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.Strategy = strategies.StrategyAuthOnly
	res, err := preflight.Preview(context.Background(), p, 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Formats) != 0 {
		t.Errorf("authonly preview formats: got %v, want none", res.Formats)
	}
	for _, code := range []string{"malformed_hash", "unknown_hash_format"} {
		if bulkPreview.Invalid[code] == 0 {
			t.Fatalf("the demo data has no %s row; the test needs one", code)
		}
		if res.Invalid[code] != 0 {
			t.Errorf("authonly preview: got %d rows invalid for %s, want 0 (passwords are not imported)", res.Invalid[code], code)
		}
	}
	if !slices.Contains(bulkPreview.Columns, "hash") {
		t.Fatalf("bulk preview columns %v have no hash column; the check below would prove nothing", bulkPreview.Columns)
	}
	for _, c := range res.Columns {
		if c == "hash" || c == "format" {
			t.Errorf("authonly preview shows a %q column; want no password columns", c)
		}
	}
}
