package middleware_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/cutover/cutover/strategies/authonly/middleware"
)

// Issue 13, item 13b: the example app creates local users through SQLStore.Insert with
// column names from the plan. A name holding the dialect's quote character must stay
// one identifier (doubled inside its quotes), never end the quoting and add SQL.
func TestInsertQuotesColumnNames(t *testing.T) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "app.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, "e""mail" TEXT, idp_user_id TEXT)`); err != nil {
		t.Fatal(err)
	}
	store := &middleware.SQLStore{DB: db, Dialect: "sqlite", Table: "users", Key: "id"}
	ctx := context.Background()

	tests := []struct {
		name    string
		column  string
		wantErr bool
	}{
		{"a quote inside a real column's name", `e"mail`, false},
		// Unquoted, or quoted without doubling, this would insert into idp_user_id and
		// then drop the table.
		{"a name that would close the quotes", `e"mail", idp_user_id) VALUES ('x', 'y'); DROP TABLE users; --`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := store.Insert(ctx, []string{tt.column, "idp_user_id"}, []any{"ann@example.com", "sub-" + tt.name})
			if (err != nil) != tt.wantErr {
				t.Fatalf("insert: got error %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			u, err := store.FindBySubject(ctx, "sub-"+tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := u[`e"mail`]; got != "ann@example.com" {
				t.Errorf(`column e"mail: got %v, want ann@example.com`, got)
			}
		})
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		t.Fatalf("the users table is gone or unreadable: %v", err)
	}
	if n != 1 {
		t.Errorf("rows: got %d, want 1 (only the legitimate insert)", n)
	}
}
