package sqldialect

import "testing"

func TestQuote(t *testing.T) {
	tests := []struct {
		name, kind, in, want, table string
	}{
		{"postgres plain", "postgres", "users", `"users"`, `"users"`},
		{"postgres embedded quote", "pgx", `a"b`, `"a""b"`, `"a""b"`},
		{"postgres schema", "postgres", "sales.users", `"sales.users"`, `"sales"."users"`},
		{"mysql backtick", "mysql", "a`b", "`a``b`", "`a``b`"},
		{"mariadb schema", "mariadb", "app.users", "`app.users`", "`app`.`users`"},
		{"sqlite dot stays whole", "sqlite", "a.b", `"a.b"`, `"a.b"`},
		{"injection stays one identifier", "postgres", `x"; DROP TABLE users; --`, `"x""; DROP TABLE users; --"`, `"x""; DROP TABLE users; --"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Of(tt.kind)
			if got := d.Quote(tt.in); got != tt.want {
				t.Errorf("Quote(%q) = %s, want %s", tt.in, got, tt.want)
			}
			if got := d.QuoteTable(tt.in); got != tt.table {
				t.Errorf("QuoteTable(%q) = %s, want %s", tt.in, got, tt.table)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	if got := Of("postgres").Placeholders(3); got != "$1, $2, $3" {
		t.Errorf("postgres: got %q, want $1, $2, $3", got)
	}
	if got := Of("mysql").Placeholders(2); got != "?, ?" {
		t.Errorf("mysql: got %q, want ?, ?", got)
	}
	if got := Of("sqlite").Placeholder(7); got != "?" {
		t.Errorf("sqlite: got %q, want ?", got)
	}
}
