package authonly_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
)

var dialects = []string{strategies.SourceSQLite, strategies.SourcePostgres, strategies.SourceMySQL}

// TestWriteBack is the acceptance test on each dialect: every valid row gets its IdP id,
// other columns stay byte-identical, a second run changes no row, and a write-back
// stopped half way is completed by running again.
func TestWriteBack(t *testing.T) {
	const n = 300
	valid := n - n/25
	for _, kind := range dialects {
		t.Run(kind, func(t *testing.T) {
			l := newLegacy(t, kind, n)
			s := startIdP(t)
			p := l.plan(t)
			before := l.othersChecksum(t)
			ctx := context.Background()

			// 1. Stop the write-back half way: committed batches stay, the rest is missing.
			cctx, cancel := context.WithCancel(ctx)
			defer cancel()
			_, err := runner(t, s).Execute(cctx, p, strategies.RunOptions{Progress: func(pr strategies.Progress) {
				if pr.Phase == "write-back" && pr.Done >= int64(valid/2) {
					cancel()
				}
			}})
			if strategies.CodeOf(err) != strategies.CodeCancelled {
				t.Fatalf("interrupted run: got %v, want a cancelled error", err)
			}
			written := 0
			for _, v := range l.ids(t) {
				if v != "" {
					written++
				}
			}
			if written == 0 || written >= valid {
				t.Fatalf("after the interruption: got %d rows with an id, want some but fewer than %d", written, valid)
			}

			// 2. Run again: the write-back completes.
			res, err := runner(t, s).Execute(ctx, p, strategies.RunOptions{})
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			if res.WriteBack.Rows != int64(valid) || res.WriteBack.Updated != int64(valid-written) {
				t.Errorf("re-run write-back: got rows %d updated %d, want %d rows, %d updated", res.WriteBack.Rows, res.WriteBack.Updated, valid, valid-written)
			}
			users := idpUsers(t, s)
			if len(users) != valid {
				t.Errorf("users at the IdP: got %d, want %d", len(users), valid)
			}
			ids := l.ids(t)
			for i := 1; i <= n; i++ {
				got := ids[int64(i)]
				if invalidRow(i) {
					if got != "" {
						t.Errorf("row %d (invalid): got id %q, want NULL", i, got)
					}
					continue
				}
				u, ok := users[fmt.Sprintf("user%d@example.com", i)]
				if !ok || got != u.ID {
					t.Errorf("row %d: got id %q, want the IdP's %q", i, got, u.ID)
				}
				if u.HasPassword {
					t.Errorf("row %d: the IdP user has a password; authonly must import identifiers only", i)
				}
			}
			if after := l.othersChecksum(t); after != before {
				t.Errorf("other columns changed: checksum got %s, want %s", after, before)
			}

			// 3. A third run changes nothing at all.
			all := l.checksum(t, "id, idp_user_id, email, name, password_hash, created_at, avatar")
			res, err = runner(t, s).Execute(ctx, p, strategies.RunOptions{})
			if err != nil {
				t.Fatalf("third run: %v", err)
			}
			if res.WriteBack.Updated != 0 || res.WriteBack.Unchanged != int64(valid) || len(res.WriteBack.DDL) != 0 {
				t.Errorf("third run: got updated %d unchanged %d ddl %q, want 0, %d, none", res.WriteBack.Updated, res.WriteBack.Unchanged, res.WriteBack.DDL, valid)
			}
			if got := l.checksum(t, "id, idp_user_id, email, name, password_hash, created_at, avatar"); got != all {
				t.Errorf("third run changed the table: checksum got %s, want %s", got, all)
			}
		})
	}
}

// TestDryRun prints the migration and the count without importing or altering anything.
func TestDryRun(t *testing.T) {
	l := newLegacy(t, strategies.SourceSQLite, 50)
	s := startIdP(t)
	before := l.checksum(t, "id, email, name, password_hash, created_at, avatar")
	res, err := runner(t, s).Execute(context.Background(), l.plan(t), strategies.RunOptions{DryRun: true})
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	wb := res.WriteBack
	if len(wb.DDL) != 2 || !strings.HasPrefix(wb.DDL[0], `ALTER TABLE "users" ADD COLUMN "idp_user_id" TEXT`) {
		t.Errorf("DDL: got %q, want the ALTER TABLE and CREATE INDEX for sqlite", wb.DDL)
	}
	if wb.Rows != 48 || wb.Updated != 0 {
		t.Errorf("counts: got rows %d updated %d, want 48 rows and nothing updated", wb.Rows, wb.Updated)
	}
	if got := l.checksum(t, "id, email, name, password_hash, created_at, avatar"); got != before {
		t.Errorf("the dry run changed the table")
	}
	if got := len(idpUsers(t, s)); got != 0 {
		t.Errorf("users at the IdP: got %d, want 0 after a dry run", got)
	}
	if !strings.Contains(strings.Join(wb.Lines(), "\n"), "would first run: ALTER TABLE") {
		t.Errorf("write-back lines: got %q, want the DDL shown", wb.Lines())
	}
}

// TestMappingFile: a file source gets a legacy_id,idp_user_id CSV instead, the same bytes
// on a second run.
func TestMappingFile(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "users.csv")
	var b strings.Builder
	b.WriteString("id,email,password\n")
	for i := 1; i <= 30; i++ {
		email := fmt.Sprintf("u%d@example.com", i)
		if invalidRow(i) {
			email = "broken"
		}
		fmt.Fprintf(&b, "%d,%s,$2a$04$abcdefghijklmnopqrstuu5Lkz1r6d0Z9h0U2mQ4bq3rYvIpD9N6e\n", i+1000, email)
	}
	if err := os.WriteFile(csvPath, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startIdP(t)
	p := &strategies.Plan{
		Version: strategies.PlanVersion, Strategy: strategies.StrategyAuthOnly,
		Source:   strategies.SourceSpec{Kind: strategies.SourceCSV, Path: csvPath},
		Mapping:  strategies.Mapping{LegacyID: strategies.FieldRef{Column: "id"}, Email: strategies.FieldRef{Column: "email"}, PasswordHash: strategies.FieldRef{Column: "password"}},
		Target:   strategies.Target{Kind: strategies.TargetMockIDP},
		Bulk:     strategies.BulkOptions{RunDir: filepath.Join(dir, "runs")},
		AuthOnly: strategies.AuthOnlyOptions{MappingFile: filepath.Join(dir, "out", "ids.csv")},
	}
	res, err := runner(t, s).Execute(context.Background(), p, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	first, err := os.ReadFile(p.AuthOnly.MappingFile)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := authonly.ReadMappingFile(p.AuthOnly.MappingFile)
	if err != nil {
		t.Fatal(err)
	}
	users := idpUsers(t, s)
	if len(pairs) != 29 || res.WriteBack.Rows != 29 {
		t.Fatalf("pairs: got %d (report %d), want 29", len(pairs), res.WriteBack.Rows)
	}
	for _, pr := range pairs {
		var i int
		fmt.Sscan(pr.LegacyID, &i)
		if u := users[fmt.Sprintf("u%d@example.com", i-1000)]; u.ID != pr.IdPUserID {
			t.Errorf("legacy %s: got %q, want %q", pr.LegacyID, pr.IdPUserID, u.ID)
		}
	}
	if _, err := runner(t, s).Execute(context.Background(), p, strategies.RunOptions{}); err != nil {
		t.Fatalf("second run: %v", err)
	}
	second, _ := os.ReadFile(p.AuthOnly.MappingFile)
	if !bytes.Equal(first, second) {
		t.Errorf("second run: mapping file changed\ngot  %q\nwant %q", second, first)
	}
}

// TestPlanErrors: what authonly needs from a plan, said with the key to fix.
func TestPlanErrors(t *testing.T) {
	l := newLegacy(t, strategies.SourceSQLite, 3)
	s := startIdP(t)
	tests := []struct {
		name  string
		edit  func(p *strategies.Plan)
		field string
	}{
		{"no legacy id", func(p *strategies.Plan) { p.Mapping.LegacyID = strategies.FieldRef{} }, "mapping.legacy_id"},
		{"legacy id not the key", func(p *strategies.Plan) { p.Mapping.LegacyID = strategies.FieldRef{Column: "email"} }, "mapping.legacy_id"},
		{"query source", func(p *strategies.Plan) {
			p.Source.Table, p.Source.Query, p.Source.Key = "", "SELECT * FROM users", "id"
		}, "source.table"},
		{"id column is the key", func(p *strategies.Plan) { p.AuthOnly.IDColumn = "id" }, "authonly.id_column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := l.plan(t)
			tt.edit(p)
			_, err := runner(t, s).Execute(context.Background(), p, strategies.RunOptions{})
			var e *strategies.Error
			if !errors.As(err, &e) || e.Field != tt.field {
				t.Fatalf("got %v, want an error on %s", err, tt.field)
			}
		})
	}
	if got := len(idpUsers(t, s)); got != 0 {
		t.Errorf("users at the IdP: got %d, want 0 (plan errors stop before importing)", got)
	}
}
