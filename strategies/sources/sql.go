package sources

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	_ "modernc.org/sqlite"             // registers the "sqlite" database/sql driver (no cgo)

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sqldialect"
)

// pageSize is how many rows one keyset page fetches: memory stays at one page.
const pageSize = 5000

// exactCountBelow: tables whose statistics estimate fewer rows are counted exactly.
const exactCountBelow = 1_000_000

// sqlSource reads a table or a query of a Postgres, MySQL/MariaDB or SQLite database
// with keyset pagination: `SELECT * FROM t WHERE key > $last ORDER BY key LIMIT n`.
// The key must be unique and not null (the primary key by default), so a resumed read
// continues exactly after the last row. Identifiers are always quoted.
type sqlSource struct {
	kind  string
	db    *sql.DB
	where string // for messages: "postgres 127.0.0.1:5432/app"
	from  string // quoted table, or "(query) AS cutover_q"
	table string // the table's display name ("" for a query)
	sel   string // select list
	key   string // quoted key expression
	keyNm string // key column name
	// rowidKey is set for a SQLite table without a primary key: it is read by rowid,
	// which is selected first and left out of the fields.
	rowidKey bool
	columns  []Column // the table's columns (nil for a query)
}

func openSQL(ctx context.Context, p *strategies.Plan) (*sqlSource, error) {
	src := p.Source
	s := &sqlSource{kind: src.Kind}
	var driver, dsn string
	switch src.Kind {
	case strategies.SourcePostgres, strategies.SourceMySQL:
		d, err := strategies.Expand("source.dsn", src.DSN)
		if err != nil {
			return nil, err
		}
		if d == "" {
			return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.dsn", Message: "is empty; give the database's DSN, e.g. dsn: ${LEGACY_DSN}"}
		}
		driver, dsn = "pgx", d
		s.where = "postgres " + pgWhere(d)
		if src.Kind == strategies.SourceMySQL {
			cfg, err := mysqlConfig(d)
			if err != nil {
				return nil, &strategies.Error{Code: strategies.CodeSource, Field: "source.dsn", Message: "is not a MySQL DSN; write user:password@tcp(host:3306)/dbname or mysql://user:password@host:3306/dbname", Err: err}
			}
			driver, dsn = "mysql", cfg.FormatDSN()
			s.where = "mysql " + cfg.Addr + "/" + cfg.DBName
		}
	case strategies.SourceSQLite:
		path, err := sourcePath(p)
		if err != nil {
			return nil, err
		}
		// Read-only: a source never writes, and a missing file is not created.
		u := url.URL{Scheme: "file", Opaque: url.PathEscape(path), RawQuery: "mode=ro&_pragma=busy_timeout(5000)"}
		driver, dsn = "sqlite", u.String()
		s.where = "sqlite " + path
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, &strategies.Error{Code: strategies.CodeSource, Field: "source.dsn", Message: "cannot use this DSN", Err: err}
	}
	s.db = db
	pctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, &strategies.Error{Code: strategies.CodeSource, Field: "source.dsn",
			Message: fmt.Sprintf("cannot connect to %s; check source.dsn (host, port, user, password, database) and that the server is running", s.where), Err: err}
	}
	if err := s.setup(ctx, p); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// setup resolves the table (or query) and the key column.
func (s *sqlSource) setup(ctx context.Context, p *strategies.Plan) error {
	src := p.Source
	s.sel = "*"
	if src.Query != "" {
		if src.Key == "" {
			return &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.key",
				Message: "missing; a query source needs source.key, a unique non-null column of the query's result to order and resume by (e.g. id)"}
		}
		q := strings.TrimRight(strings.TrimSpace(src.Query), ";")
		s.from = "(" + q + ") AS cutover_q"
		s.keyNm, s.key = src.Key, s.quote(src.Key)
		return nil
	}
	tables, err := s.describe(ctx)
	if err != nil {
		return err
	}
	var t *Table
	for i := range tables {
		if tables[i].Name == src.Table {
			t = &tables[i]
		}
	}
	for i := range tables {
		if t == nil && strings.EqualFold(tables[i].Name, src.Table) {
			t = &tables[i]
		}
	}
	if t == nil {
		names := make([]string, 0, len(tables))
		for _, tb := range tables {
			names = append(names, tb.Name)
		}
		there := "there are no tables there"
		if len(names) > 0 {
			there = "the tables there are: " + strings.Join(names, ", ")
		}
		return &strategies.Error{Code: strategies.CodeSource, File: p.File, Field: "source.table",
			Message: fmt.Sprintf("no table %q in %s; %s", src.Table, s.where, there)}
	}
	s.table, s.columns = t.Name, t.Columns
	s.from = s.quoteTable(t.Name)
	var names, pk []string
	for _, c := range t.Columns {
		names = append(names, c.Name)
		if c.PrimaryKey {
			pk = append(pk, c.Name)
		}
	}
	switch {
	case src.Key != "":
		if !containsString(names, src.Key) {
			return &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.key",
				Message: fmt.Sprintf("table %s has no column %q; its columns are %s", t.Name, src.Key, strings.Join(names, ", "))}
		}
		s.keyNm = src.Key
	case len(pk) == 1:
		s.keyNm = pk[0]
	case s.kind == strategies.SourceSQLite && len(pk) == 0:
		s.rowidKey, s.keyNm, s.key, s.sel = true, "rowid", "rowid", "rowid, *"
		return nil
	case len(pk) == 0:
		return &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.key",
			Message: fmt.Sprintf("table %s has no primary key; set source.key to a unique, non-null column (e.g. id or email)", t.Name)}
	default:
		return &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.key",
			Message: fmt.Sprintf("table %s has a primary key of %d columns (%s); set source.key to one unique, non-null column", t.Name, len(pk), strings.Join(pk, ", "))}
	}
	s.key = s.quote(s.keyNm)
	return nil
}

func (s *sqlSource) quote(id string) string        { return sqldialect.Of(s.kind).Quote(id) }
func (s *sqlSource) quoteTable(name string) string { return sqldialect.Of(s.kind).QuoteTable(name) }
func (s *sqlSource) ph(i int) string               { return sqldialect.Of(s.kind).Placeholder(i) }

// ParseMySQLDSN parses a go-sql-driver DSN ("user:pass@tcp(host:3306)/db") or a
// mysql:// (or mariadb://) URL, so plans may write either.
func ParseMySQLDSN(dsn string) (*mysql.Config, error) {
	if strings.HasPrefix(dsn, "mysql://") || strings.HasPrefix(dsn, "mariadb://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return nil, err
		}
		cfg := mysql.NewConfig()
		cfg.Net, cfg.Addr, cfg.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
		if u.Port() == "" {
			cfg.Addr = u.Hostname() + ":3306"
		}
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
		for k, v := range u.Query() {
			if cfg.Params == nil {
				cfg.Params = map[string]string{}
			}
			cfg.Params[k] = v[0]
		}
		dsn = cfg.FormatDSN()
	}
	return mysql.ParseDSN(dsn)
}

// mysqlConfig is ParseMySQLDSN tuned for reading: time.Time values, one round trip per page.
func mysqlConfig(dsn string) (*mysql.Config, error) {
	cfg, err := ParseMySQLDSN(dsn)
	if err != nil {
		return nil, err
	}
	cfg.ParseTime = true
	cfg.InterpolateParams = true
	return cfg, nil
}

// pgWhere describes a Postgres DSN without its password: "host:port/db".
func pgWhere(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		return u.Host + u.Path
	}
	var host, port, db string
	for _, kv := range strings.Fields(dsn) {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "host":
			host = v
		case "port":
			port = v
		case "dbname":
			db = v
		}
	}
	if port != "" {
		host += ":" + port
	}
	return host + "/" + db
}

// sqlPos is a database resume position: the row number and the key of the last row.
type sqlPos struct {
	row int
	key any // int64, string or float64
}

func (p sqlPos) String() string {
	switch k := p.key.(type) {
	case int64:
		return "d1:" + strconv.Itoa(p.row) + ":i:" + strconv.FormatInt(k, 10)
	case float64:
		return "d1:" + strconv.Itoa(p.row) + ":f:" + strconv.FormatFloat(k, 'g', -1, 64)
	case time.Time:
		return "d1:" + strconv.Itoa(p.row) + ":t:" + k.Format(time.RFC3339Nano)
	}
	return "d1:" + strconv.Itoa(p.row) + ":s:" + fmt.Sprint(p.key)
}

func parseSQLPos(s string) (sqlPos, error) {
	parts := strings.SplitN(s, ":", 4)
	if len(parts) != 4 || parts[0] != "d1" {
		return sqlPos{}, badPos(s, nil)
	}
	row, err := strconv.Atoi(parts[1])
	if err != nil || row < 0 {
		return sqlPos{}, badPos(s, err)
	}
	p := sqlPos{row: row, key: parts[3]}
	switch parts[2] {
	case "i":
		p.key, err = strconv.ParseInt(parts[3], 10, 64)
	case "f":
		p.key, err = strconv.ParseFloat(parts[3], 64)
	case "t":
		p.key, err = time.Parse(time.RFC3339Nano, parts[3])
	case "s":
	default:
		err = errors.New("unknown key type")
	}
	if err != nil {
		return sqlPos{}, badPos(s, err)
	}
	return p, nil
}

// Read implements Source with keyset pagination; Pos holds the row number and key.
func (s *sqlSource) Read(ctx context.Context, after string, fn func(Record) error) error {
	var last sqlPos
	started := after != ""
	if started {
		p, err := parseSQLPos(after)
		if err != nil {
			return err
		}
		last = p
	}
	if err := s.checkKeyNotNull(ctx); err != nil {
		return err
	}
	first := "SELECT " + s.sel + " FROM " + s.from + " ORDER BY " + s.key + " LIMIT " + strconv.Itoa(pageSize)
	next := "SELECT " + s.sel + " FROM " + s.from + " WHERE " + s.key + " > " + s.ph(1) + " ORDER BY " + s.key + " LIMIT " + strconv.Itoa(pageSize)
	for {
		var rows *sql.Rows
		var err error
		if started {
			rows, err = s.db.QueryContext(ctx, next, last.key)
		} else {
			rows, err = s.db.QueryContext(ctx, first)
		}
		if err != nil {
			return s.queryErr(ctx, err)
		}
		n, err := s.page(rows, &last, fn)
		if err != nil {
			return err
		}
		started = true
		if n < pageSize {
			return nil
		}
	}
}

// checkKeyNotNull refuses a key column that holds NULL: `key > last` never matches a
// NULL, so depending on where the database sorts NULLs those rows would be skipped
// without a word, or a page ending on one would start the table over.
func (s *sqlSource) checkKeyNotNull(ctx context.Context) error {
	if s.rowidKey {
		return nil
	}
	for _, c := range s.columns {
		if c.Name == s.keyNm && !c.Nullable {
			return nil
		}
	}
	var one int
	err := s.db.QueryRowContext(ctx, "SELECT 1 FROM "+s.from+" WHERE "+s.key+" IS NULL LIMIT 1").Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return s.queryErr(ctx, err)
	}
	return &strategies.Error{Code: strategies.CodePlan, Field: "source.key",
		Message: fmt.Sprintf("column %q is NULL in some rows of %s; the key orders and resumes the read, so it must be unique and not null: set source.key to such a column (e.g. the primary key)", s.keyNm, s.where)}
}

func (s *sqlSource) queryErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	what := "the table " + s.table
	if s.table == "" {
		what = "source.query"
	}
	return &strategies.Error{Code: strategies.CodeSource, Field: "source", Message: fmt.Sprintf("cannot read %s in %s", what, s.where), Err: err}
}

// page streams one page of rows to fn and returns how many there were.
func (s *sqlSource) page(rows *sql.Rows, last *sqlPos, fn func(Record) error) (int, error) {
	defer rows.Close()
	cols, err := rows.ColumnTypes()
	if err != nil {
		return 0, fmt.Errorf("read columns of %s: %w", s.where, err)
	}
	names := make([]string, len(cols))
	types := make([]string, len(cols))
	keyIdx := -1
	for i, c := range cols {
		names[i], types[i] = c.Name(), strings.ToUpper(c.DatabaseTypeName())
		if keyIdx < 0 && (names[i] == s.keyNm || (s.rowidKey && i == 0)) {
			keyIdx = i
		}
	}
	if keyIdx < 0 {
		return 0, &strategies.Error{Code: strategies.CodePlan, Field: "source.key",
			Message: fmt.Sprintf("the rows have no column %q; name a column the query returns", s.keyNm)}
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("read a row of %s: %w", s.where, err)
		}
		n++
		last.row++
		rec := Record{Row: last.row, Fields: make(map[string]any, len(cols))}
		for i, v := range vals {
			if s.rowidKey && i == 0 {
				continue
			}
			rec.Fields[names[i]] = convert(v, types[i])
		}
		last.key = keyValue(convert(vals[keyIdx], types[keyIdx]))
		rec.Pos = last.String()
		if err := fn(rec); err != nil {
			return n, err
		}
	}
	if err := rows.Err(); err != nil {
		return n, s.queryErr(context.Background(), err)
	}
	return n, nil
}

// keyValue is the form of a key kept in positions and passed back as an argument.
func keyValue(v any) any {
	switch v := v.(type) {
	case int64, float64, string, time.Time:
		return v
	case []byte:
		return string(v)
	case bool:
		if v {
			return int64(1)
		}
		return int64(0)
	}
	return fmt.Sprint(v)
}

// convert turns a driver value into a Record value: text as string, []byte only for
// binary columns, MySQL's textual numbers as numbers.
func convert(v any, dbType string) any {
	b, ok := v.([]byte)
	if !ok {
		if i, ok := v.(int32); ok {
			return int64(i)
		}
		return v
	}
	switch dbType {
	case "BYTEA", "BLOB", "TINYBLOB", "MEDIUMBLOB", "LONGBLOB", "BINARY", "VARBINARY", "BIT":
		return append([]byte(nil), b...)
	case "INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "MEDIUMINT", "YEAR",
		"UNSIGNED INT", "UNSIGNED BIGINT", "UNSIGNED SMALLINT", "UNSIGNED TINYINT", "UNSIGNED MEDIUMINT":
		if i, err := strconv.ParseInt(string(b), 10, 64); err == nil {
			return i
		}
	case "FLOAT", "DOUBLE", "REAL":
		if f, err := strconv.ParseFloat(string(b), 64); err == nil {
			return f
		}
	}
	return string(b)
}

// Close implements Source.
func (s *sqlSource) Close() error { return s.db.Close() }

// Count implements Counter: exact for SQLite, queries and small tables; the planner's
// estimate for tables of a million rows and more (an exact count would scan them).
func (s *sqlSource) Count(ctx context.Context) (int64, bool, error) {
	if s.table != "" && s.kind != strategies.SourceSQLite {
		tables, err := s.describe(ctx)
		if err != nil {
			return 0, false, err
		}
		for _, t := range tables {
			if t.Name == s.table && t.EstimatedRows >= exactCountBelow {
				return t.EstimatedRows, false, nil
			}
		}
	}
	var n int64
	if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+s.from).Scan(&n); err != nil {
		return 0, false, s.queryErr(ctx, err)
	}
	return n, true, nil
}

// Sample implements Sampler.
func (s *sqlSource) Sample(ctx context.Context, n int) ([]Record, error) { return sample(ctx, s, n) }

// Find implements Finder: the rows whose column equals value ignoring case, in key
// order, with Row 0 and no Pos.
//
// The lookup is one indexed query when the database has the matching index:
//   - Postgres: WHERE lower(col) = lower($1); create an expression index,
//     CREATE INDEX users_email_lower ON users (lower(email)).
//   - MySQL/MariaDB: WHERE col = ? when the column's collation is case-insensitive
//     (the default, *_ci), which a plain index on the column serves; otherwise
//     LOWER(col) = LOWER(?), served by a functional index (MySQL 8.0.13+).
//   - SQLite: WHERE lower(col) = lower(?); CREATE INDEX users_email_lower ON users (lower(email)).
func (s *sqlSource) Find(ctx context.Context, column, value string) ([]Record, error) {
	if s.columns != nil && !containsColumn(s.columns, column) {
		return nil, &strategies.Error{Code: strategies.CodeSource, Field: column, Message: fmt.Sprintf("table %s has no such column", s.table)}
	}
	col := s.quote(column)
	cond := "lower(" + col + ") = lower(" + s.ph(1) + ")"
	switch s.kind {
	case strategies.SourcePostgres:
		cond = "lower(CAST(" + col + " AS text)) = lower(" + s.ph(1) + ")"
	case strategies.SourceMySQL:
		if s.table != "" && s.mysqlCaseInsensitive(ctx, column) {
			cond = col + " = ?"
		} else {
			cond = "LOWER(" + col + ") = LOWER(?)"
		}
	}
	q := "SELECT " + s.sel + " FROM " + s.from + " WHERE " + cond + " ORDER BY " + s.key
	rows, err := s.db.QueryContext(ctx, q, strings.TrimSpace(value))
	if err != nil {
		return nil, s.queryErr(ctx, err)
	}
	var out []Record
	var last sqlPos
	if _, err := s.page(rows, &last, func(r Record) error {
		r.Row, r.Pos = 0, ""
		out = append(out, r)
		return nil
	}); err != nil {
		return nil, err
	}
	return out, nil
}

func (s *sqlSource) mysqlCaseInsensitive(ctx context.Context, column string) bool {
	schema, table, ok := strings.Cut(s.table, ".")
	q := "SELECT collation_name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? AND column_name = ?"
	args := []any{s.table, column}
	if ok {
		q = "SELECT collation_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? AND column_name = ?"
		args = []any{schema, table, column}
	}
	var coll sql.NullString
	if err := s.db.QueryRowContext(ctx, q, args...).Scan(&coll); err != nil {
		return false
	}
	return strings.HasSuffix(coll.String, "_ci")
}

func containsColumn(cols []Column, name string) bool {
	for _, c := range cols {
		if c.Name == name {
			return true
		}
	}
	return false
}

// Describe implements Describer: every user table with its columns and estimated rows.
func (s *sqlSource) Describe(ctx context.Context) (*Schema, error) {
	tables, err := s.describe(ctx)
	if err != nil {
		return nil, err
	}
	var version string
	q := map[string]string{
		strategies.SourcePostgres: "SHOW server_version",
		strategies.SourceMySQL:    "SELECT VERSION()",
		strategies.SourceSQLite:   "SELECT sqlite_version()",
	}[s.kind]
	if err := s.db.QueryRowContext(ctx, q).Scan(&version); err != nil {
		return nil, s.queryErr(ctx, err)
	}
	return &Schema{Kind: s.kind, Version: version, Tables: tables}, nil
}

func (s *sqlSource) describe(ctx context.Context) ([]Table, error) {
	var tables []Table
	var err error
	switch s.kind {
	case strategies.SourcePostgres:
		tables, err = s.describePostgres(ctx)
	case strategies.SourceMySQL:
		tables, err = s.describeMySQL(ctx)
	default:
		tables, err = s.describeSQLite(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &strategies.Error{Code: strategies.CodeSource, Message: "cannot list the tables of " + s.where, Err: err}
	}
	return tables, nil
}

// collect groups (table, column) rows into tables, keeping the order they came in.
type tableSet struct {
	list []Table
	at   map[string]int
}

func (ts *tableSet) add(name string, est int64) {
	if ts.at == nil {
		ts.at = map[string]int{}
	}
	if _, ok := ts.at[name]; !ok {
		ts.at[name] = len(ts.list)
		ts.list = append(ts.list, Table{Name: name, EstimatedRows: est})
	}
}

func (ts *tableSet) column(table string, c Column) {
	if i, ok := ts.at[table]; ok {
		ts.list[i].Columns = append(ts.list[i].Columns, c)
	}
}

func (s *sqlSource) describePostgres(ctx context.Context) ([]Table, error) {
	rows, err := s.db.QueryContext(ctx, `
SELECT CASE WHEN n.nspname = 'public' THEN c.relname ELSE n.nspname || '.' || c.relname END,
       c.reltuples::bigint, a.attname, format_type(a.atttypid, a.atttypmod), NOT a.attnotnull,
       EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary AND a.attnum = ANY(i.indkey))
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_%'
ORDER BY n.nspname <> 'public', 1, a.attnum`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts tableSet
	for rows.Next() {
		var t string
		var est int64
		var c Column
		if err := rows.Scan(&t, &est, &c.Name, &c.Type, &c.Nullable, &c.PrimaryKey); err != nil {
			return nil, err
		}
		ts.add(t, est)
		ts.column(t, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return ts.list, nil
}

func (s *sqlSource) describeMySQL(ctx context.Context) ([]Table, error) {
	rows, err := s.db.QueryContext(ctx, `
SELECT c.TABLE_NAME, COALESCE(t.TABLE_ROWS, -1), c.COLUMN_NAME, c.COLUMN_TYPE, c.IS_NULLABLE = 'YES', c.COLUMN_KEY = 'PRI'
FROM information_schema.COLUMNS c
JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
WHERE c.TABLE_SCHEMA = DATABASE()
ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ts tableSet
	for rows.Next() {
		var t string
		var est int64
		var c Column
		var nullable, pk int64
		if err := rows.Scan(&t, &est, &c.Name, &c.Type, &nullable, &pk); err != nil {
			return nil, err
		}
		c.Nullable, c.PrimaryKey = nullable == 1, pk == 1
		ts.add(t, est)
		ts.column(t, c)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return ts.list, nil
}

func (s *sqlSource) describeSQLite(ctx context.Context) ([]Table, error) {
	rows, err := s.db.QueryContext(ctx, `
SELECT m.name, p.name, p.type, p."notnull" = 0, p.pk > 0
FROM sqlite_master m, pragma_table_info(m.name) p
WHERE m.type IN ('table', 'view') AND m.name NOT LIKE 'sqlite\_%' ESCAPE '\'
ORDER BY m.name, p.cid`)
	if err != nil {
		return nil, err
	}
	var ts tableSet
	for rows.Next() {
		var t string
		var c Column
		if err := rows.Scan(&t, &c.Name, &c.Type, &c.Nullable, &c.PrimaryKey); err != nil {
			rows.Close()
			return nil, err
		}
		ts.add(t, -1)
		ts.column(t, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i := range ts.list {
		if err := s.db.QueryRowContext(ctx, "SELECT count(*) FROM "+s.quote(ts.list[i].Name)).Scan(&ts.list[i].EstimatedRows); err != nil {
			return nil, err
		}
	}
	return ts.list, nil
}

// fileExists is used by tests and callers that build SQLite paths.
func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
