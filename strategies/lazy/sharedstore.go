package lazy

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources"
	"github.com/cutover/cutover/strategies/sqldialect"
)

// OpenSharedStore opens (creating when needed) the tracking store in the legacy
// database: the table lazy.store_table for migrations and lazy.store_table + "_attempts"
// for the per-user failure counters, so that bridge replicas behind a load balancer
// count one limit per user and status counts each migration once. The source must be
// Postgres or MySQL/MariaDB, and its account must be allowed to create the tables (or
// they must exist).
func OpenSharedStore(ctx context.Context, p *strategies.Plan) (*Store, error) {
	bad := func(msg string, err error) error {
		return &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "lazy.store_table", Message: msg, Err: err}
	}
	kind := p.Source.Kind
	if kind != strategies.SourcePostgres && kind != strategies.SourceMySQL {
		return nil, bad(fmt.Sprintf("a shared store lives in a Postgres or MySQL source, not %s; remove store_table to use the SQLite file lazy.store", kind), nil)
	}
	dsn, err := strategies.Expand("source.dsn", p.Source.DSN)
	if err != nil {
		return nil, err
	}
	driver := "pgx"
	if kind == strategies.SourceMySQL {
		cfg, err := sources.ParseMySQLDSN(dsn)
		if err != nil {
			return nil, bad("the source's DSN is not a MySQL DSN", err)
		}
		driver, dsn = "mysql", cfg.FormatDSN()
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return nil, bad("cannot use the source's DSN for the shared store", err)
	}
	d := sqldialect.Of(kind)
	name := p.Lazy.StoreTable
	s := &Store{db: db, d: d, table: d.QuoteTable(name), attempts: d.QuoteTable(name + "_attempts"),
		path: name + " in " + string(kind)}
	if err := s.createShared(ctx, name); err != nil {
		db.Close()
		return nil, &strategies.Error{Code: strategies.CodeSource, File: p.File, Field: "lazy.store_table",
			Message: fmt.Sprintf("cannot create or use the tables %s and %s_attempts; grant the source's account CREATE, INSERT, SELECT and DELETE on them", name, name), Err: err}
	}
	return s, nil
}

// createShared creates the shared tables when missing.
func (s *Store) createShared(ctx context.Context, name string) error {
	// Index names are not schema-qualified: an index lives in its table's schema.
	base := name[strings.LastIndexByte(name, '.')+1:]
	var stmts []string
	if s.d == sqldialect.Postgres {
		stmts = []string{
			"CREATE TABLE IF NOT EXISTS " + s.table + ` (id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL,
				legacy_id TEXT NOT NULL, email TEXT NOT NULL, dialect TEXT NOT NULL)`,
			"CREATE INDEX IF NOT EXISTS " + s.d.Quote(base+"_legacy_id") + " ON " + s.table + " (legacy_id)",
			"CREATE TABLE IF NOT EXISTS " + s.attempts + ` (id BIGSERIAL PRIMARY KEY, k CHAR(64) NOT NULL,
				at BIGINT NOT NULL, failed INTEGER NOT NULL)`,
			"CREATE INDEX IF NOT EXISTS " + s.d.Quote(base+"_attempts_k") + " ON " + s.attempts + " (k, at)",
		}
	} else {
		// Binary collations: legacy ids and keys differing in case or accents are
		// different users, whatever the database's default collation folds.
		stmts = []string{
			"CREATE TABLE IF NOT EXISTS " + s.table + ` (id BIGINT AUTO_INCREMENT PRIMARY KEY, at BIGINT NOT NULL,
				legacy_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				email VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
				dialect VARCHAR(32) NOT NULL, INDEX (legacy_id))`,
			"CREATE TABLE IF NOT EXISTS " + s.attempts + ` (id BIGINT AUTO_INCREMENT PRIMARY KEY,
				k CHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL, at BIGINT NOT NULL, failed INT NOT NULL,
				INDEX (k, at))`,
		}
	}
	for _, q := range stmts {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// pendingTTL is how long an attempt in flight counts against its user's limit when
// the replica running it never settles it (it crashed).
const pendingTTL = 5 * time.Minute

// sqlCounter is the per-user limit kept in the shared store's attempts table: one row
// per attempt, failed = 0 while in flight and 1 once it failed (a success deletes its
// row). A user's rows are counted and added under a lock on that user, taken in the
// database, so replicas cannot all pass the check at once.
type sqlCounter struct {
	s     *Store
	limit int
	now   func() time.Time
	log   *slog.Logger
	n     atomic.Int64 // reservations made, to prune old rows now and then
}

// counter returns the shared per-user limit, or nil for a store that is not shared.
func (s *Store) counter(limit int, now func() time.Time, log *slog.Logger) counter {
	if s.attempts == "" {
		return nil
	}
	return &sqlCounter{s: s, limit: limit, now: now, log: log}
}

// rowKey is what the attempts table holds for a limit key: a digest, so the table
// names no login.
func rowKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

func (c *sqlCounter) reserve(ctx context.Context, key string) (ticket, bool, error) {
	s, k := c.s, rowKey(key)
	now := c.now().UTC()
	fail := func(err error) (ticket, bool, error) {
		return ticket{}, false, fmt.Errorf("rate limit in %s: %w", s.path, err)
	}
	// One connection for the lock and the transaction: MySQL's named locks belong to
	// the session.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fail(err)
	}
	defer conn.Close()
	unlock, err := c.lock(ctx, conn, k)
	if err != nil {
		return fail(err)
	}
	defer unlock()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	if s.d == sqldialect.Postgres {
		// Held until the transaction ends.
		h := sha256.Sum256([]byte("cutover bridge attempts " + k))
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(binary.BigEndian.Uint64(h[:8]))); err != nil {
			return fail(err)
		}
	}
	var n int
	q := "SELECT count(*) FROM " + s.attempts + " WHERE k = " + s.d.Placeholder(1) +
		" AND ((failed = 1 AND at > " + s.d.Placeholder(2) + ") OR (failed = 0 AND at > " + s.d.Placeholder(3) + "))"
	if err := tx.QueryRowContext(ctx, q, k, now.Add(-rateWindow).UnixMilli(), now.Add(-pendingTTL).UnixMilli()).Scan(&n); err != nil {
		return fail(err)
	}
	if n >= c.limit {
		return ticket{}, false, nil
	}
	id, err := c.insert(ctx, tx, k, now)
	if err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	if c.n.Add(1)%256 == 0 {
		c.prune(ctx, now)
	}
	return ticket{key: key, id: id}, true, nil
}

// lock takes MySQL's named lock on the user for the session of conn, and returns what
// releases it; Postgres takes a transaction-scoped advisory lock in reserve instead.
func (c *sqlCounter) lock(ctx context.Context, conn *sql.Conn, k string) (func(), error) {
	if c.s.d == sqldialect.Postgres {
		return func() {}, nil
	}
	name := "cutover:" + k[:48] // MySQL lock names hold 64 characters
	var got sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 10)", name).Scan(&got); err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	if got.Int64 != 1 {
		return nil, fmt.Errorf("lock: another replica held the user's lock for 10 s")
	}
	return func() { _, _ = conn.ExecContext(context.WithoutCancel(ctx), "SELECT RELEASE_LOCK(?)", name) }, nil
}

func (c *sqlCounter) insert(ctx context.Context, tx *sql.Tx, k string, now time.Time) (int64, error) {
	s := c.s
	if s.d == sqldialect.Postgres {
		var id int64
		err := tx.QueryRowContext(ctx, "INSERT INTO "+s.attempts+" (k, at, failed) VALUES ($1, $2, 0) RETURNING id", k, now.UnixMilli()).Scan(&id)
		return id, err
	}
	r, err := tx.ExecContext(ctx, "INSERT INTO "+s.attempts+" (k, at, failed) VALUES (?, ?, 0)", k, now.UnixMilli())
	if err != nil {
		return 0, err
	}
	return r.LastInsertId()
}

func (c *sqlCounter) settle(ctx context.Context, t ticket, failed bool) {
	s := c.s
	var err error
	if failed {
		_, err = s.db.ExecContext(ctx, "UPDATE "+s.attempts+" SET failed = 1, at = "+s.d.Placeholder(1)+" WHERE id = "+s.d.Placeholder(2),
			c.now().UTC().UnixMilli(), t.id)
	} else {
		_, err = s.db.ExecContext(ctx, "DELETE FROM "+s.attempts+" WHERE id = "+s.d.Placeholder(1), t.id)
	}
	if err != nil {
		// The row stays pending and counts until pendingTTL: the limit errs on the safe side.
		c.log.Warn("cannot settle a rate-limit attempt in the shared store; it counts until it expires", "store", s.path, "err", err)
	}
}

// prune deletes attempts too old to count.
func (c *sqlCounter) prune(ctx context.Context, now time.Time) {
	_, _ = c.s.db.ExecContext(ctx, "DELETE FROM "+c.s.attempts+" WHERE at < "+c.s.d.Placeholder(1), now.Add(-pendingTTL-rateWindow).UnixMilli())
}
