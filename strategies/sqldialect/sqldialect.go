// Package sqldialect writes the few pieces of SQL that differ between the legacy
// databases cutover reads and writes: quoted identifiers, schema-qualified table
// names and placeholders. Every package that builds a statement from a name the user
// typed (a table, a column) goes through it, so quoting is done one way, everywhere.
package sqldialect

import (
	"strconv"
	"strings"
)

// Dialect is a SQL dialect: Postgres, MySQL (MariaDB too) or SQLite.
type Dialect int

// The dialects. SQLite is the zero value's neighbour on purpose: an unknown kind
// quotes as standard SQL does (double quotes), which SQLite and Postgres share.
const (
	SQLite Dialect = iota
	Postgres
	MySQL
)

// Of returns the dialect of a source kind or driver name ("postgres", "pgx",
// "mysql", "mariadb", "sqlite"). Anything else quotes as standard SQL.
func Of(kind string) Dialect {
	switch strings.ToLower(kind) {
	case "postgres", "postgresql", "pgx":
		return Postgres
	case "mysql", "mariadb":
		return MySQL
	}
	return SQLite
}

// Quote quotes one identifier, doubling any quote character inside it, so a column
// named `a"b` or a table named "users; DROP" stays one identifier.
func (d Dialect) Quote(id string) string {
	if d == MySQL {
		return "`" + strings.ReplaceAll(id, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(id, `"`, `""`) + `"`
}

// QuoteTable quotes a table name that may be schema-qualified ("sales.users" is the
// table users in the schema sales). SQLite has no schemas in that sense (a dot
// names an attached database, which cutover never uses), so its names stay whole.
func (d Dialect) QuoteTable(name string) string {
	if schema, table, ok := strings.Cut(name, "."); ok && d != SQLite {
		return d.Quote(schema) + "." + d.Quote(table)
	}
	return d.Quote(name)
}

// Placeholder is the i-th (1-based) bind parameter: $i on Postgres, ? elsewhere.
func (d Dialect) Placeholder(i int) string {
	if d == Postgres {
		return "$" + strconv.Itoa(i)
	}
	return "?"
}

// Placeholders lists n bind parameters starting at the first: "$1, $2" or "?, ?".
func (d Dialect) Placeholders(n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = d.Placeholder(i + 1)
	}
	return strings.Join(ps, ", ")
}
