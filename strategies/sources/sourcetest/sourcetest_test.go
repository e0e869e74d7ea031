package sourcetest

import (
	"context"
	"database/sql"
	"testing"
)

// TestServers starts each server and runs a query on it, as the tests that use them will.
func TestServers(t *testing.T) {
	tests := []struct {
		name   string
		driver string
		start  func(testing.TB) string
		query  string
	}{
		{"postgres", "pgx", Postgres, "SELECT 41 + 1"},
		{"mariadb", "mysql", MariaDB, "SELECT 41 + 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn := tt.start(t)
			db, err := sql.Open(tt.driver, dsn)
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer db.Close()
			var got int
			if err := db.QueryRowContext(context.Background(), tt.query).Scan(&got); err != nil {
				t.Fatalf("query: %v", err)
			}
			if got != 42 {
				t.Errorf("got %d, want 42", got)
			}
		})
	}
}
