package authonly

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql" // the driver openWritable opens
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver (no cgo)

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources"
	"github.com/cutover/cutover/strategies/sqldialect"
)

// DefaultIDColumn is the legacy column receiving IdP user ids unless authonly.id_column says.
const DefaultIDColumn = "idp_user_id"

// DefaultBatchSize is the number of rows per write-back transaction unless authonly.batch_size says.
const DefaultBatchSize = 1000

// Pair is one write-back: the legacy row's key and the IdP user id it receives.
type Pair struct {
	LegacyID  string
	IdPUserID string
}

// Table is the legacy users table written back to: a writable connection, the table,
// its key column and the id column. Only the id column is ever written.
type Table struct {
	Dialect string // strategies.SourcePostgres, SourceMySQL or SourceSQLite
	DB      *sql.DB
	Name    string // table name as the source describes it (possibly schema-qualified)
	Key     string // key column (the primary key, or source.key)
	Column  string // the id column
	Where   string // "postgres host:port/db", for messages (no password)

	hasColumn bool
	// keep lists MySQL columns with ON UPDATE CURRENT_TIMESTAMP: the UPDATE assigns them
	// their own value so the server leaves them alone.
	keep []string
	// chunkRows, when > 0, caps the rows of one MySQL statement below mysqlChunkRows
	// (tests use it to make a batch span several statements).
	chunkRows int
}

// OpenTable opens the plan's legacy table for write-back: a writable connection (the
// source itself is read-only), the key column, and whether the id column exists yet.
// legacy_id must be mapped to the key column: it is what the outcome log carries.
func OpenTable(ctx context.Context, p *strategies.Plan) (*Table, error) {
	s := p.Source
	switch s.Kind {
	case strategies.SourcePostgres, strategies.SourceMySQL, strategies.SourceSQLite:
	default:
		return nil, fmt.Errorf("open table: %s is a file source; write-back goes to authonly.mapping_file", s.Kind)
	}
	if s.Table == "" {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.table",
			Message: "authonly writes IdP ids back into a table; replace source.query with source.table (the users table)"}
	}
	col := p.AuthOnly.IDColumn
	if col == "" {
		col = DefaultIDColumn
	}
	src, err := sources.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	d, ok := src.(sources.Describer)
	if !ok {
		src.Close()
		return nil, fmt.Errorf("open table: the %s source cannot describe its tables", s.Kind)
	}
	schema, err := d.Describe(ctx)
	src.Close()
	if err != nil {
		return nil, fmt.Errorf("open table: describe %s: %w", s.Table, err)
	}
	var tb *sources.Table
	for i := range schema.Tables {
		if schema.Tables[i].Name == s.Table || tb == nil && strings.EqualFold(schema.Tables[i].Name, s.Table) {
			tb = &schema.Tables[i]
		}
	}
	if tb == nil {
		return nil, &strategies.Error{Code: strategies.CodeSource, File: p.File, Field: "source.table", Message: fmt.Sprintf("no table %q", s.Table)}
	}
	t := &Table{Dialect: s.Kind, Name: tb.Name, Column: col}
	var pk []string
	for _, c := range tb.Columns {
		if c.PrimaryKey {
			pk = append(pk, c.Name)
		}
		if c.Name == col {
			t.hasColumn = true
		}
	}
	switch {
	case s.Key != "":
		t.Key = s.Key
	case len(pk) == 1:
		t.Key = pk[0]
	default:
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.key",
			Message: fmt.Sprintf("table %s has no single-column primary key; set source.key to a unique, non-null column so write-back can find each row", tb.Name)}
	}
	if lid := p.Mapping.LegacyID; lid.Column != t.Key || lid.Transform != "" {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "mapping.legacy_id",
			Message: fmt.Sprintf("authonly writes IdP ids back keyed by %s.%s; map legacy_id to %q with no transform", tb.Name, t.Key, t.Key)}
	}
	if col == t.Key {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "authonly.id_column",
			Message: fmt.Sprintf("%q is the table's key; name a new column for the IdP ids (default %s)", col, DefaultIDColumn)}
	}
	if t.DB, t.Where, err = openWritable(p); err != nil {
		return nil, err
	}
	if t.Dialect == strategies.SourceMySQL {
		if t.keep, err = t.onUpdateColumns(ctx); err != nil {
			t.DB.Close()
			return nil, err
		}
	}
	return t, nil
}

// openWritable opens a read-write connection to the plan's database.
func openWritable(p *strategies.Plan) (*sql.DB, string, error) {
	s := p.Source
	var driver, dsn, where string
	switch s.Kind {
	case strategies.SourceSQLite:
		path, err := p.Resolve("source.path", s.Path)
		if err != nil {
			return nil, "", err
		}
		// mode=rw: never create a database that is not there.
		u := url.URL{Scheme: "file", Opaque: url.PathEscape(path), RawQuery: "mode=rw&_pragma=busy_timeout(10000)"}
		driver, dsn, where = "sqlite", u.String(), "sqlite "+path
	default:
		d, err := strategies.Expand("source.dsn", s.DSN)
		if err != nil {
			return nil, "", err
		}
		driver, dsn, where = "pgx", d, "postgres database"
		if s.Kind == strategies.SourceMySQL {
			cfg, err := sources.ParseMySQLDSN(d)
			if err != nil {
				return nil, "", &strategies.Error{Code: strategies.CodeSource, Field: "source.dsn", Message: "is not a MySQL DSN", Err: err}
			}
			driver, dsn, where = "mysql", cfg.FormatDSN(), "mysql "+cfg.Addr+"/"+cfg.DBName
		}
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, "", &strategies.Error{Code: strategies.CodeSource, Field: "source.dsn", Message: "cannot use this DSN", Err: err}
	}
	if s.Kind == strategies.SourceSQLite {
		db.SetMaxOpenConns(1) // one writer; also keeps the busy timeout per connection
	}
	return db, where, nil
}

// Close closes the connection.
func (t *Table) Close() error { return t.DB.Close() }

// HasColumn reports whether the id column existed when the table was opened (or was
// added since by EnsureColumn).
func (t *Table) HasColumn() bool { return t.hasColumn }

func (t *Table) quote(id string) string { return sqldialect.Of(t.Dialect).Quote(id) }
func (t *Table) quoteTable() string     { return sqldialect.Of(t.Dialect).QuoteTable(t.Name) }

// MigrationDDL returns the statements that add the id column and an index on it, in
// the table's dialect: nothing when the column is there. Rows keep NULL until written.
func (t *Table) MigrationDDL() []string {
	if t.hasColumn {
		return nil
	}
	tbl, col := t.quoteTable(), t.quote(t.Column)
	short := t.Name
	if _, name, ok := strings.Cut(short, "."); ok {
		short = name
	}
	idx := t.quote(truncate(short+"_"+t.Column+"_idx", 60))
	switch t.Dialect {
	case strategies.SourcePostgres:
		return []string{
			fmt.Sprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s text NULL", tbl, col),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", idx, tbl, col),
		}
	case strategies.SourceMySQL:
		return []string{
			fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s VARCHAR(255) NULL", tbl, col),
			fmt.Sprintf("CREATE INDEX %s ON %s (%s)", idx, tbl, col),
		}
	default:
		return []string{
			fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s TEXT NULL", tbl, col),
			fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", idx, tbl, col),
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// EnsureColumn runs MigrationDDL when the id column is absent and returns the
// statements it ran.
func (t *Table) EnsureColumn(ctx context.Context) ([]string, error) {
	ddl := t.MigrationDDL()
	for _, q := range ddl {
		if _, err := t.DB.ExecContext(ctx, q); err != nil {
			return nil, &strategies.Error{Code: strategies.CodeSource, Field: "authonly.id_column",
				Message: fmt.Sprintf("cannot add the column to %s in %s (%s); grant ALTER on the table, or add the column yourself and run again", t.Name, t.Where, q), Err: err}
		}
	}
	t.hasColumn = true
	return ddl, nil
}

// onUpdateColumns lists MySQL/MariaDB columns that the server would re-stamp on any update.
func (t *Table) onUpdateColumns(ctx context.Context) ([]string, error) {
	name := t.Name
	schemaExpr := "DATABASE()"
	args := []any{}
	if s, n, ok := strings.Cut(name, "."); ok {
		schemaExpr, name = "?", n
		args = append(args, s)
	}
	args = append(args, name)
	rows, err := t.DB.QueryContext(ctx, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "+schemaExpr+
		" AND TABLE_NAME = ? AND LOWER(EXTRA) LIKE '%on update%'", args...)
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", t.Name, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("read the columns of %s: %w", t.Name, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// WriteStats counts what a write-back did.
type WriteStats struct {
	Rows      int64         // pairs given
	Updated   int64         // rows whose id column changed
	Unchanged int64         // rows that already held their id (or whose key is no longer in the table)
	Duration  time.Duration // time spent writing
}

// Write writes every pair in transactions of batch rows (DefaultBatchSize when <= 0),
// keyed by the table's key. Postgres and MySQL write a batch with one statement (MySQL:
// a few when the batch would outgrow a packet); SQLite, fast enough row by row, uses one
// prepared UPDATE per row. Only rows whose id differs are changed, so a re-run changes
// nothing. Each committed batch stays committed: a cancelled or crashed write-back is
// completed by running it again. progress, when not nil, is called after each batch
// with the pairs done so far.
func (t *Table) Write(ctx context.Context, pairs []Pair, batch int, progress func(done int64)) (WriteStats, error) {
	if batch <= 0 {
		batch = DefaultBatchSize
	}
	st := WriteStats{Rows: int64(len(pairs))}
	if len(pairs) == 0 {
		return st, nil
	}
	start := time.Now()
	write, err := t.writer(ctx)
	if err != nil {
		st.Duration = time.Since(start)
		return st, fmt.Errorf("write IdP ids into %s.%s: %w", t.Name, t.Column, err)
	}
	for off := 0; off < len(pairs); off += batch {
		end := min(off+batch, len(pairs))
		n, err := write(ctx, lastPerKey(pairs[off:end]))
		if err != nil {
			st.Unchanged = int64(off) - st.Updated
			st.Duration = time.Since(start)
			return st, fmt.Errorf("write IdP ids into %s.%s (rows %d-%d of %d; committed batches stay, run again to finish): %w",
				t.Name, t.Column, off+1, end, len(pairs), err)
		}
		st.Updated += n
		if progress != nil {
			progress(int64(end))
		}
	}
	st.Unchanged = st.Rows - st.Updated
	st.Duration = time.Since(start)
	return st, nil
}

// lastPerKey keeps the last pair of each legacy id, in order. A joined UPDATE that
// meets a key twice uses either id, unpredictably; row by row, the last one won.
func lastPerKey(pairs []Pair) []Pair {
	last := make(map[string]int, len(pairs))
	dup := false
	for i, p := range pairs {
		if _, ok := last[p.LegacyID]; ok {
			dup = true
		}
		last[p.LegacyID] = i
	}
	if !dup {
		return pairs
	}
	out := make([]Pair, 0, len(last))
	for i, p := range pairs {
		if last[p.LegacyID] == i {
			out = append(out, p)
		}
	}
	return out
}

// A batchWriter writes one batch of pairs (one pair per legacy id) in one transaction
// and returns the number of rows it changed.
type batchWriter func(ctx context.Context, pairs []Pair) (int64, error)

// statement is one SQL statement with its arguments.
type statement struct {
	query string
	args  []any
}

// batchSQL returns the statements that write one batch of pairs.
type batchSQL func(pairs []Pair) ([]statement, error)

// writer returns the batch writer of the table's dialect, reading the column types it
// needs first (after EnsureColumn: the id column's type is the one in the table).
func (t *Table) writer(ctx context.Context) (batchWriter, error) {
	if t.Dialect == strategies.SourceSQLite {
		return t.rowWriter(), nil
	}
	build, err := t.batchSQL(ctx)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, pairs []Pair) (int64, error) {
		stmts, err := build(pairs)
		if err != nil {
			return 0, err
		}
		return t.exec(ctx, stmts)
	}, nil
}

// batchSQL returns the statement builder of a server dialect.
func (t *Table) batchSQL(ctx context.Context) (batchSQL, error) {
	if t.Dialect == strategies.SourcePostgres {
		return t.postgresSQL(ctx)
	}
	return t.mysqlSQL(ctx)
}

// exec runs the statements of one batch atomically (a single statement needs no
// explicit transaction) and returns the rows they changed.
func (t *Table) exec(ctx context.Context, stmts []statement) (int64, error) {
	if len(stmts) == 1 {
		res, err := t.DB.ExecContext(ctx, stmts[0].query, stmts[0].args...)
		if err != nil {
			return 0, err
		}
		return res.RowsAffected()
	}
	tx, err := t.DB.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var n int64
	for _, st := range stmts {
		res, err := tx.ExecContext(ctx, st.query, st.args...)
		if err != nil {
			return 0, err
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		n += k
	}
	if err := tx.Commit(); err != nil {
		return 0, err
	}
	return n, nil
}

// rowWriter runs one prepared UPDATE per row in a transaction per batch (SQLite: no
// network round trip per row, so batching statements gains little).
func (t *Table) rowWriter() batchWriter {
	col, key := t.quote(t.Column), t.quote(t.Key)
	q := fmt.Sprintf("UPDATE %s SET %s = ? WHERE %s = ? AND (%s IS NULL OR %s <> ?)", t.quoteTable(), col, key, col, col)
	return func(ctx context.Context, pairs []Pair) (int64, error) {
		tx, err := t.DB.BeginTx(ctx, nil)
		if err != nil {
			return 0, err
		}
		defer tx.Rollback() //nolint:errcheck // a no-op after Commit
		stmt, err := tx.PrepareContext(ctx, q)
		if err != nil {
			return 0, err
		}
		defer stmt.Close()
		var n int64
		for _, p := range pairs {
			res, err := stmt.ExecContext(ctx, p.IdPUserID, p.LegacyID, p.IdPUserID)
			if err != nil {
				return 0, fmt.Errorf("legacy id %s: %w", p.LegacyID, err)
			}
			k, err := res.RowsAffected()
			if err != nil {
				return 0, err
			}
			n += k
		}
		if err := tx.Commit(); err != nil {
			return 0, err
		}
		return n, nil
	}
}

// postgresSQL writes a batch with one statement: keys and ids travel as two text
// arrays, cast to the columns' own types so that the join compares the key column with
// values of its type and uses its index (comparing it as text would read the whole
// table for every batch).
func (t *Table) postgresSQL(ctx context.Context) (batchSQL, error) {
	types, err := t.postgresTypes(ctx)
	if err != nil {
		return nil, err
	}
	keyType, idType := types[t.Key], types[t.Column]
	col, key := t.quote(t.Column), t.quote(t.Key)
	// keyType and idType come from format_type(), which quotes and qualifies type names
	// as needed: they are SQL already, never user input.
	q := fmt.Sprintf("UPDATE %s AS t SET %s = v.id FROM unnest($1::text[]::%s[], $2::text[]::%s[]) AS v(k, id) "+
		"WHERE t.%s = v.k AND t.%s IS DISTINCT FROM v.id", t.quoteTable(), col, keyType, idType, key, col)
	integer := keyType == "smallint" || keyType == "integer" || keyType == "bigint"
	return func(pairs []Pair) ([]statement, error) {
		keys, ids := make([]string, len(pairs)), make([]string, len(pairs))
		for i, p := range pairs {
			if integer {
				if _, err := strconv.ParseInt(p.LegacyID, 10, 64); err != nil {
					return nil, t.notInteger(p, keyType)
				}
			}
			keys[i], ids[i] = p.LegacyID, p.IdPUserID
		}
		return []statement{{q, []any{keys, ids}}}, nil
	}, nil
}

// postgresTypes returns the types of the key and id columns, without length or
// precision (format_type with no modifier) so that a cast never truncates a value.
func (t *Table) postgresTypes(ctx context.Context) (map[string]string, error) {
	rows, err := t.DB.QueryContext(ctx, `SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attname IN ($2, $3) AND a.attnum > 0 AND NOT a.attisdropped`,
		t.quoteTable(), t.Key, t.Column)
	if err != nil {
		return nil, fmt.Errorf("read the column types of %s: %w", t.Name, err)
	}
	defer rows.Close()
	types := map[string]string{}
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, fmt.Errorf("read the column types of %s: %w", t.Name, err)
		}
		types[name] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the column types of %s: %w", t.Name, err)
	}
	for _, c := range []string{t.Key, t.Column} {
		if types[c] == "" {
			return nil, fmt.Errorf("read the column types of %s: no column %s in %s; check source.table and authonly.id_column", t.Name, c, t.Where)
		}
	}
	return types, nil
}

func (t *Table) notInteger(p Pair, typ string) error {
	return fmt.Errorf("legacy id %q is not an integer, but %s.%s is %s; map legacy_id to the key column with no transform", p.LegacyID, t.Name, t.Key, typ)
}

// mysqlChunkRows caps the rows of one MySQL statement: 2 placeholders each, well under
// the protocol's 65,535, and a statement the server parses quickly.
const mysqlChunkRows = 1000

// mysqlColumn is what the MySQL write-back needs to know about a column.
type mysqlColumn struct {
	dataType, columnType string
	charset, collation   sql.NullString
	precision, scale     sql.NullInt64
}

// mysqlSQL writes a batch in one transaction of multi-table UPDATEs, each joining
// the table to a derived table of up to mysqlChunkRows (key, id) rows
// (SELECT ? AS k, ? AS id UNION ALL SELECT ?, ? ...), and no larger than half of
// max_allowed_packet. The values are cast to the columns' types, charsets and
// collations, so the join compares like with like: MySQL documents comparing an integer
// column with a string as doubles (integers above 2^53 collide; a join on dissimilar
// types may not use the index) and refuses to compare two implicit collations that
// differ. MariaDB 10.11 copes without the casts; they cost nothing measurable there.
func (t *Table) mysqlSQL(ctx context.Context) (batchSQL, error) {
	cols, err := t.mysqlColumns(ctx)
	if err != nil {
		return nil, err
	}
	var packet int64
	if err := t.DB.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&packet); err != nil {
		return nil, fmt.Errorf("read max_allowed_packet in %s: %w", t.Where, err)
	}
	budget := int(min(packet/2, 64<<20))
	maxRows := mysqlChunkRows
	if t.chunkRows > 0 {
		maxRows = t.chunkRows
	}
	kc, ic := cols[strings.ToLower(t.Key)], cols[strings.ToLower(t.Column)]
	keyExpr, idExpr := kc.param(), ic.param()
	col, key := t.quote(t.Column), t.quote(t.Key)
	set := "t." + col + " = v.id"
	for _, k := range t.keep {
		// Assigning an ON UPDATE CURRENT_TIMESTAMP column its own value keeps it.
		set += ", t." + t.quote(k) + " = t." + t.quote(k)
	}
	head := fmt.Sprintf("UPDATE %s AS t JOIN (SELECT %s AS k, %s AS id", t.quoteTable(), keyExpr, idExpr)
	more := " UNION ALL SELECT " + keyExpr + ", " + idExpr
	tail := fmt.Sprintf(") AS v ON t.%s = v.k SET %s WHERE t.%s IS NULL OR t.%s <> v.id", key, set, col, col)
	signed, unsigned := kc.integer()
	return func(pairs []Pair) ([]statement, error) {
		for _, p := range pairs {
			var err error
			switch {
			case signed:
				_, err = strconv.ParseInt(p.LegacyID, 10, 64)
			case unsigned:
				_, err = strconv.ParseUint(p.LegacyID, 10, 64)
			}
			if err != nil {
				return nil, t.notInteger(p, kc.columnType)
			}
		}
		var stmts []statement
		for len(pairs) > 0 {
			// Values count twice: interpolateParams=true escapes them into the text.
			size, k := len(head)+len(tail), 0
			for k < len(pairs) && k < maxRows {
				row := len(more) + 2*(len(pairs[k].LegacyID)+len(pairs[k].IdPUserID)) + 32
				if k > 0 && size+row > budget {
					break
				}
				size += row
				k++
			}
			var q strings.Builder
			q.Grow(size)
			q.WriteString(head)
			args := make([]any, 0, 2*k)
			for i, p := range pairs[:k] {
				if i > 0 {
					q.WriteString(more)
				}
				args = append(args, p.LegacyID, p.IdPUserID)
			}
			q.WriteString(tail)
			stmts = append(stmts, statement{q.String(), args})
			pairs = pairs[k:]
		}
		return stmts, nil
	}, nil
}

// mysqlColumns reads the key and id columns' types, by lower-cased name.
func (t *Table) mysqlColumns(ctx context.Context) (map[string]mysqlColumn, error) {
	name, schemaExpr := t.Name, "DATABASE()"
	var args []any
	if s, n, ok := strings.Cut(name, "."); ok {
		schemaExpr, name = "?", n
		args = append(args, s)
	}
	args = append(args, name, t.Key, t.Column)
	rows, err := t.DB.QueryContext(ctx, "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME, NUMERIC_PRECISION, NUMERIC_SCALE "+
		"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "+schemaExpr+" AND TABLE_NAME = ? AND COLUMN_NAME IN (?, ?)", args...)
	if err != nil {
		return nil, fmt.Errorf("read the column types of %s: %w", t.Name, err)
	}
	defer rows.Close()
	cols := map[string]mysqlColumn{}
	for rows.Next() {
		var n string
		var c mysqlColumn
		if err := rows.Scan(&n, &c.dataType, &c.columnType, &c.charset, &c.collation, &c.precision, &c.scale); err != nil {
			return nil, fmt.Errorf("read the column types of %s: %w", t.Name, err)
		}
		c.dataType, c.columnType = strings.ToLower(c.dataType), strings.ToLower(c.columnType)
		cols[strings.ToLower(n)] = c
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the column types of %s: %w", t.Name, err)
	}
	for _, c := range []string{t.Key, t.Column} {
		if _, ok := cols[strings.ToLower(c)]; !ok {
			return nil, fmt.Errorf("read the column types of %s: no column %s in %s; check source.table and authonly.id_column", t.Name, c, t.Where)
		}
	}
	return cols, nil
}

// integer reports whether the column is a signed or an unsigned integer.
func (c mysqlColumn) integer() (signed, unsigned bool) {
	switch c.dataType {
	case "tinyint", "smallint", "mediumint", "int", "integer", "bigint":
		u := strings.Contains(c.columnType, "unsigned")
		return !u, u
	}
	return false, false
}

// param is the placeholder of a value for the column, cast to its type (or charset
// and collation). The names come from information_schema and are checked to be plain
// words before they go into the statement.
func (c mysqlColumn) param() string {
	if signed, unsigned := c.integer(); signed {
		return "CAST(? AS SIGNED)"
	} else if unsigned {
		return "CAST(? AS UNSIGNED)"
	}
	switch c.dataType {
	case "decimal", "numeric":
		if c.precision.Valid && c.scale.Valid {
			return fmt.Sprintf("CAST(? AS DECIMAL(%d,%d))", c.precision.Int64, c.scale.Int64)
		}
	case "char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set":
		if word(c.charset.String) && word(c.collation.String) {
			return "CONVERT(? USING " + c.charset.String + ") COLLATE " + c.collation.String
		}
	}
	return "?"
}

// word reports whether s is a non-empty run of ASCII letters, digits and underscores.
func word(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return s != ""
}
