package middleware

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/cutover/cutover/strategies/sqldialect"
)

// Row is a local user as SQLStore returns it: column name -> value. Text held as bytes
// by the driver is returned as a string.
type Row map[string]any

// SQLStore is a Store over a legacy users table in Postgres, MySQL/MariaDB or SQLite.
type SQLStore struct {
	DB          *sql.DB
	Dialect     string // "postgres", "mysql" or "sqlite"
	Table       string // the users table (may be schema-qualified: "app.users")
	Key         string // its primary key column
	IDColumn    string // where IdP user ids are; default "idp_user_id"
	EmailColumn string // default "email"
}

var _ Store[Row] = (*SQLStore)(nil)

func (s *SQLStore) quote(id string) string { return sqldialect.Of(s.Dialect).Quote(id) }
func (s *SQLStore) table() string          { return sqldialect.Of(s.Dialect).QuoteTable(s.Table) }
func (s *SQLStore) ph(i int) string        { return sqldialect.Of(s.Dialect).Placeholder(i) }

// Insert adds a row with the given columns and values (read it back with
// FindBySubject when the IdP id column is among them). Column names are quoted with
// embedded quotes doubled, so a table with unusual names cannot turn the statement
// into something else.
func (s *SQLStore) Insert(ctx context.Context, columns []string, values []any) error {
	d := sqldialect.Of(s.Dialect)
	quoted := make([]string, len(columns))
	for i, c := range columns {
		quoted[i] = d.Quote(c)
	}
	stmt := fmt.Sprintf("INSERT INTO %s (%s) VALUES (%s)", s.table(), strings.Join(quoted, ", "), d.Placeholders(len(columns)))
	_, err := s.DB.ExecContext(ctx, stmt, values...)
	return err
}

func (s *SQLStore) idColumn() string {
	if s.IDColumn == "" {
		return s.quote("idp_user_id")
	}
	return s.quote(s.IDColumn)
}

func (s *SQLStore) emailColumn() string {
	if s.EmailColumn == "" {
		return s.quote("email")
	}
	return s.quote(s.EmailColumn)
}

// FindBySubject returns the row whose IdP id column is subject.
func (s *SQLStore) FindBySubject(ctx context.Context, subject string) (Row, error) {
	q := fmt.Sprintf("SELECT * FROM %s WHERE %s = %s", s.table(), s.idColumn(), s.ph(1))
	return s.one(ctx, s.DB, q, subject)
}

type querier interface {
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// one runs q and returns its first row, or ErrNotFound.
func (s *SQLStore) one(ctx context.Context, db querier, q string, args ...any) (Row, error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find local user: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("find local user: %w", err)
		}
		return nil, ErrNotFound
	}
	cols, err := rows.Columns()
	if err != nil {
		return nil, fmt.Errorf("find local user: %w", err)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, fmt.Errorf("find local user: %w", err)
	}
	out := make(Row, len(cols))
	for i, c := range cols {
		if b, ok := vals[i].([]byte); ok && utf8.Valid(b) {
			out[c] = string(b)
		} else {
			out[c] = vals[i]
		}
	}
	return out, rows.Close()
}

// LinkByEmail writes subject into the one unlinked row with this email (ignoring case).
func (s *SQLStore) LinkByEmail(ctx context.Context, email, subject string) (Row, error) {
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("link local user: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	key, id := s.quote(s.Key), s.idColumn()
	rows, err := tx.QueryContext(ctx, fmt.Sprintf("SELECT %s FROM %s WHERE LOWER(%s) = LOWER(%s) AND %s IS NULL LIMIT 2",
		key, s.table(), s.emailColumn(), s.ph(1), id), email)
	if err != nil {
		return nil, fmt.Errorf("link local user: %w", err)
	}
	var keys []any
	for rows.Next() {
		var k any
		if err := rows.Scan(&k); err != nil {
			rows.Close()
			return nil, fmt.Errorf("link local user: %w", err)
		}
		keys = append(keys, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("link local user: %w", err)
	}
	switch len(keys) {
	case 0:
		return nil, ErrNotFound
	case 2:
		return nil, ErrAmbiguous
	}
	res, err := tx.ExecContext(ctx, fmt.Sprintf("UPDATE %s SET %s = %s WHERE %s = %s AND %s IS NULL",
		s.table(), id, s.ph(1), key, s.ph(2), id), subject, keys[0])
	if err != nil {
		return nil, fmt.Errorf("link local user: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		// Linked meanwhile by another request: whoever won, the row is found by subject or not at all.
		tx.Rollback() //nolint:errcheck
		return s.FindBySubject(ctx, subject)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("link local user: %w", err)
	}
	u, err := s.FindBySubject(ctx, subject)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("link local user: the linked row cannot be read back")
	}
	return u, err
}
