package sources_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources"
	"github.com/cutover/cutover/strategies/sources/demo"
)

// TestProbeSaysWhatTheFileIs: a SQLite database given as a CSV file (the wizard kept
// the demo's path when CSV was chosen) is refused with what it is, not read as CSV
// into garbage column names; a CSV file given as SQLite is refused too (issue 17, item 6).
func TestProbeSaysWhatTheFileIs(t *testing.T) {
	dir := t.TempDir()
	db, err := demo.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	csv := filepath.Join(dir, "users.csv")
	if err := os.WriteFile(csv, []byte("id,email\n1,a@example.com\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, kind, path, want string
	}{
		{"sqlite as csv", strategies.SourceCSV, db, `this is a SQLite database, not CSV: choose "SQLite database file"`},
		{"sqlite as json", strategies.SourceJSON, db, "this is a SQLite database, not JSON"},
		{"csv as sqlite", strategies.SourceSQLite, csv, "is not a SQLite database"},
		{"csv as csv", strategies.SourceCSV, csv, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &strategies.Plan{Source: strategies.SourceSpec{Kind: tt.kind, Path: tt.path}}
			_, err := sources.Probe(context.Background(), p)
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("got %v, want no error", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
