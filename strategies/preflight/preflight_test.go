package preflight

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
	_ "modernc.org/sqlite"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/preflight/internal/usersgen"
)

// csvPlan writes content as dir/users.csv and returns a plan reading it.
func csvPlan(t testing.TB, content string, m strategies.Mapping) *strategies.Plan {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "users.csv"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return &strategies.Plan{
		Version:  strategies.PlanVersion,
		Strategy: strategies.StrategyBulk,
		Source:   strategies.SourceSpec{Kind: strategies.SourceCSV, Path: "users.csv"},
		Mapping:  m,
		Target:   strategies.Target{Kind: strategies.TargetMockIDP},
		File:     filepath.Join(dir, "plan.yaml"),
	}
}

var basicMapping = strategies.Mapping{
	LegacyID:       strategies.FieldRef{Column: "id"},
	Email:          strategies.FieldRef{Column: "email"},
	Name:           strategies.FieldRef{Column: "name"},
	PasswordHash:   strategies.FieldRef{Column: "password"},
	PasswordFormat: "auto",
}

// TestBadRowsCSV is the acceptance file: a BOM, CRLF lines, a duplicate email
// differing only in case, an invalid email, an empty email and a 10,000-character name.
func TestBadRowsCSV(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{
		"id,email,name,password",
		"1,Alice@Example.com,Alice," + string(hash),
		"2,bob@example.com,Bob,",
		"3,alice@example.COM,Alice Again,",
		"4,not-an-email,Nobody,",
		"5,,Empty,",
		"6,carol@example.com," + strings.Repeat("n", 10_000) + ",",
		`7,dan@example.com,"Dan ""The Man"", Smith",`,
	}
	content := "\ufeff" + strings.Join(lines, "\r\n") + "\r\n"
	m := basicMapping
	m.StrictProfile = true // the 10,000-character name is a row error, as this test was written for
	r, err := Run(context.Background(), csvPlan(t, content, m), Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r.Rows != 7 || r.Valid != 3 || r.InvalidRows != 4 {
		t.Errorf("got rows %d valid %d invalid %d, want 7, 3, 4", r.Rows, r.Valid, r.InvalidRows)
	}
	want := map[string]Problem{
		"duplicate_identifier": {Row: 3, Line: 4, Field: "email", Code: "duplicate_identifier"},
		"invalid_email":        {Row: 4, Line: 5, Field: "email", Code: "invalid_email"},
		"missing_identifier":   {Row: 5, Line: 6, Field: "email", Code: "missing_identifier"},
		"too_long":             {Row: 6, Line: 7, Field: "name", Code: "too_long"},
	}
	for reason, w := range want {
		t.Run(reason, func(t *testing.T) {
			if got := r.Invalid[reason]; got != 1 {
				t.Errorf("got %d rows, want 1", got)
			}
			ex := r.Examples[reason]
			if len(ex) != 1 {
				t.Fatalf("got %d examples, want 1", len(ex))
			}
			got := ex[0]
			if got.Row != w.Row || got.Line != w.Line || got.Field != w.Field || got.Code != w.Code || got.Message == "" {
				t.Errorf("got %+v, want row %d line %d field %s code %s with a message", got, w.Row, w.Line, w.Field, w.Code)
			}
		})
	}
	if !strings.Contains(r.Examples["duplicate_identifier"][0].Message, "duplicate of row 1") {
		t.Errorf("got %q, want it to name the winning row 1", r.Examples["duplicate_identifier"][0].Message)
	}
	if len(r.Invalid) != len(want) {
		t.Errorf("got reasons %v, want exactly %d", r.Invalid, len(want))
	}
	if r.Duplicates != 1 {
		t.Errorf("got %d duplicate groups, want 1", r.Duplicates)
	}
	if got, want := r.Formats, map[string]FormatStat{"bcrypt": {Count: 1, Importable: true}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got formats %v, want %v", got, want)
	}
	if r.WithoutPassword != 2 || !r.CanRun || r.Recommendation.Strategy != "bulk" {
		t.Errorf("got without_password %d can_run %v strategy %q, want 2, true, bulk", r.WithoutPassword, r.CanRun, r.Recommendation.Strategy)
	}
}

// TestGeneratedCounts checks every count against what the generator wrote.
func TestGeneratedCounts(t *testing.T) {
	var b strings.Builder
	st, err := usersgen.Write(&b, 20_000)
	if err != nil {
		t.Fatal(err)
	}
	m := basicMapping
	m.EmailVerified = strategies.FieldRef{Column: "email_verified"}
	m.Disabled = strategies.FieldRef{Column: "is_active", Transform: "not"}
	var calls int
	var last strategies.Progress
	r, err := Run(context.Background(), csvPlan(t, b.String(), m), Options{Progress: func(p strategies.Progress) { calls++; last = p }})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r.Rows != int64(st.Rows) || r.Valid != int64(st.Valid) || r.Duplicates != int64(st.Duplicates) || r.WithoutPassword != int64(st.WithoutPassword) {
		t.Errorf("got rows %d valid %d duplicates %d without password %d, want %d %d %d %d",
			r.Rows, r.Valid, r.Duplicates, r.WithoutPassword, st.Rows, st.Valid, st.Duplicates, st.WithoutPassword)
	}
	for reason, n := range st.Invalid {
		if r.Invalid[reason] != int64(n) {
			t.Errorf("invalid %s: got %d, want %d", reason, r.Invalid[reason], n)
		}
	}
	for f, n := range st.Formats {
		got := r.Formats[f]
		if got.Count != int64(n) || got.Importable != (f == "bcrypt") {
			t.Errorf("format %s: got %+v, want count %d importable %v", f, got, n, f == "bcrypt")
		}
	}
	if r.Recommendation.Strategy != "lazy" || !r.Recommendation.Sweep {
		t.Errorf("got recommendation %+v, want lazy with a sweep (28%% of hashes are not bcrypt)", r.Recommendation)
	}
	if calls == 0 || last.Done != r.Rows {
		t.Errorf("got %d progress calls ending at %d rows, want at least 1 ending at %d", calls, last.Done, r.Rows)
	}
	if len(r.Examples["invalid_email"]) != 5 {
		t.Errorf("got %d invalid_email examples, want the first 5", len(r.Examples["invalid_email"]))
	}
}

func TestCannotRun(t *testing.T) {
	m := basicMapping
	m.Email = strategies.FieldRef{Column: "e_mail"} // misspelt
	r, err := Run(context.Background(), csvPlan(t, "id,email,name,password\n1,a@x.io,A,\n2,b@x.io,B,\n", m), Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r.CanRun || len(r.Blockers) == 0 {
		t.Errorf("got can_run %v blockers %v, want false with a blocker", r.CanRun, r.Blockers)
	}
	if r.Invalid["missing_identifier"] != 2 {
		t.Errorf("got %v, want 2 missing_identifier rows", r.Invalid)
	}
	if len(r.Blockers) == 0 || !strings.Contains(r.Blockers[0], `mapping.email: names the column "e_mail", which the source does not have`) || !strings.Contains(r.Blockers[0], "email, id, name, password") {
		t.Errorf("got blockers %q, want one naming mapping.email and the source's columns", r.Blockers)
	}
	if strategies.CodeOf(r.Err()) != strategies.CodePlan {
		t.Errorf("got Err %v, want a plan error", r.Err())
	}
	if r.Recommendation.Strategy != "" {
		t.Errorf("got strategy %q, want none", r.Recommendation.Strategy)
	}
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		name     string
		plan     func(t *testing.T) *strategies.Plan
		wantCode strategies.Code
	}{
		{"missing file", func(t *testing.T) *strategies.Plan {
			p := csvPlan(t, "id\n", basicMapping)
			p.Source.Path = "nope.csv"
			return p
		}, strategies.CodeSource},
		{"mapping rejected", func(t *testing.T) *strategies.Plan {
			m := basicMapping
			m.Email = strategies.FieldRef{Column: "email", Transform: "not"}
			return csvPlan(t, "id,email\n1,a@x.io\n", m)
		}, strategies.CodePlan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.plan(t), Options{})
			if got := strategies.CodeOf(err); got != tt.wantCode {
				t.Errorf("got %v (code %q), want code %q", err, got, tt.wantCode)
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	csv := "id,email,name,password\n" + strings.Repeat("1,a@x.io,A,\n", 10_000)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, csvPlan(t, csv, basicMapping), Options{})
	if got := strategies.CodeOf(err); got != strategies.CodeCancelled {
		t.Errorf("got %v, want a cancelled error", err)
	}
}

func TestSQLiteSource(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "legacy.db")
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	stmts := []string{
		`CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT, name TEXT, password TEXT, is_active INTEGER)`,
		fmt.Sprintf(`INSERT INTO users VALUES (1, 'a@x.io', 'A', '%s', 1), (2, 'A@X.IO', 'A2', NULL, 1), (3, 'c@x.io', 'C', 'pbkdf2_sha256$1000$salt$aGFzaA==', 0), (4, NULL, 'D', NULL, 1)`, hash),
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	m := basicMapping
	m.Disabled = strategies.FieldRef{Column: "is_active", Transform: "not"}
	p := &strategies.Plan{
		Version: 1, Strategy: strategies.StrategyLazy,
		Source:  strategies.SourceSpec{Kind: strategies.SourceSQLite, Path: path, Table: "users"},
		Mapping: m,
		Target:  strategies.Target{Kind: strategies.TargetMockIDP},
	}
	r, err := Run(context.Background(), p, Options{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if r.Rows != 4 || r.Valid != 2 || r.Invalid["duplicate_identifier"] != 1 || r.Invalid["missing_identifier"] != 1 {
		t.Errorf("got rows %d valid %d invalid %v, want 4, 2, one duplicate and one missing identifier", r.Rows, r.Valid, r.Invalid)
	}
	if r.Formats["bcrypt"].Count != 1 {
		t.Errorf("got formats %v, want 1 bcrypt", r.Formats)
	}
}

func TestRecommend(t *testing.T) {
	tests := []struct {
		name          string
		r             Report
		wantStrategy  string
		wantUnsupport string
	}{
		{"nothing valid", Report{Rows: 3}, "", ""},
		{"no passwords", Report{Valid: 10, WithoutPassword: 10}, "bulk", ""},
		{"all bcrypt", Report{Valid: 10, Importable: 10, Formats: map[string]FormatStat{"bcrypt": {10, true, false}}}, "bulk", ""},
		{"5% remainder", Report{Valid: 100, Importable: 95, NotImportable: 5}, "bulk", "without_password"},
		{"many unsupported", Report{Valid: 100, Importable: 60, NotImportable: 40}, "lazy", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.Profile = "authgear"
			got := tt.r.recommend()
			if got.Strategy != tt.wantStrategy || got.UnsupportedHash != tt.wantUnsupport || got.Reason == "" {
				t.Errorf("got %+v, want strategy %q unsupported_hash %q and a reason", got, tt.wantStrategy, tt.wantUnsupport)
			}
		})
	}
}

// BenchmarkPreflightCSV reports rows/s for a generated CSV read, mapped and validated.
func BenchmarkPreflightCSV(b *testing.B) {
	const n = 100_000
	var sb strings.Builder
	if _, err := usersgen.Write(&sb, n); err != nil {
		b.Fatal(err)
	}
	p := csvPlan(b, sb.String(), basicMapping)
	b.ResetTimer()
	for range b.N {
		if _, err := Run(context.Background(), p, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
