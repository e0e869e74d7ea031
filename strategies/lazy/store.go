package lazy

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver (no cgo)

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sqldialect"
)

// DefaultStore is where successful verifications are recorded unless lazy.store says,
// relative to the plan file's directory.
const DefaultStore = ".cutover/lazy.db"

// Migration is one successful verification: who, when, through which dialect.
// It holds no secret.
type Migration struct {
	At       time.Time
	LegacyID string // empty when the legacy record has none (delegation without a profile)
	Email    string
	Dialect  string
}

// Store records successful verifications, one row per verification: in a small SQLite
// file by default, or in a table of the legacy Postgres or MySQL database
// (lazy.store_table) that several bridge replicas share, together with their per-user
// failure counters. It is safe for concurrent use, and for use by several processes
// (the bridge writes while `cutover status` reads).
type Store struct {
	db    *sql.DB
	path  string // the file, or "TABLE in postgres|mysql" for a shared store
	d     sqldialect.Dialect
	table string // the migrations table, quoted
	// attempts is the quoted table of per-user attempts, for a shared store only.
	attempts string
}

// StorePath returns the tracking store's file for a plan: lazy.store resolved against
// the plan's directory, or DefaultStore beside the plan.
func StorePath(p *strategies.Plan) (string, error) {
	s := p.Lazy.Store
	if s == "" {
		s = DefaultStore
	}
	return p.Resolve("lazy.store", s)
}

// OpenPlanStore opens the plan's tracking store: the shared table lazy.store_table in
// the legacy database when the plan names one, else the SQLite file StorePath gives.
func OpenPlanStore(ctx context.Context, p *strategies.Plan) (*Store, error) {
	if p.Lazy.StoreTable != "" {
		return OpenSharedStore(ctx, p)
	}
	path, err := StorePath(p)
	if err != nil {
		return nil, err
	}
	return OpenStore(ctx, path)
}

// OpenExistingStore opens the plan's tracking store for status and sweep, which read
// what the bridge recorded and never create a SQLite file of their own: it returns nil
// (and where the store would be) when the bridge has not written one yet. A shared
// store (lazy.store_table) is always opened, so every replica's migrations count.
func OpenExistingStore(ctx context.Context, p *strategies.Plan) (*Store, string, error) {
	if p.Lazy.StoreTable != "" {
		s, err := OpenSharedStore(ctx, p)
		return s, "table " + p.Lazy.StoreTable + " of the legacy database", err
	}
	path, err := StorePath(p)
	if err != nil {
		return nil, "", err
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, path, nil
	}
	s, err := OpenStore(ctx, path)
	return s, path, err
}

// OpenStore opens (creating when needed) the tracking store at path.
func OpenStore(ctx context.Context, path string) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, &strategies.Error{Code: strategies.CodeSource, File: path, Field: "lazy.store", Message: "cannot create the tracking store's directory", Err: err}
	}
	u := url.URL{Scheme: "file", Opaque: url.PathEscape(path),
		RawQuery: "_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, fmt.Errorf("open tracking store %s: %w", path, err)
	}
	// One writer at a time is all SQLite allows; a single connection also keeps the
	// busy handling inside database/sql's pool instead of SQLITE_BUSY errors.
	db.SetMaxOpenConns(1)
	const schema = `CREATE TABLE IF NOT EXISTS migrations (
	id        INTEGER PRIMARY KEY,
	at        INTEGER NOT NULL, -- unix milliseconds, UTC
	legacy_id TEXT NOT NULL,
	email     TEXT NOT NULL,
	dialect   TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS migrations_legacy_id ON migrations (legacy_id);`
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, &strategies.Error{Code: strategies.CodeSource, File: path, Field: "lazy.store",
			Message: "cannot use the tracking store; is it a cutover lazy.db?", Err: err}
	}
	_ = os.Chmod(path, 0o600)
	return &Store{db: db, path: path, d: sqldialect.SQLite, table: "migrations"}, nil
}

// Path returns the store's file (or, for a shared store, its table and database kind).
func (s *Store) Path() string { return s.path }

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Record adds one successful verification.
func (s *Store) Record(ctx context.Context, m Migration) error {
	q := "INSERT INTO " + s.table + " (at, legacy_id, email, dialect) VALUES (" + s.d.Placeholders(4) + ")"
	_, err := s.db.ExecContext(ctx, q, m.At.UTC().UnixMilli(), m.LegacyID, m.Email, m.Dialect)
	if err != nil {
		return fmt.Errorf("record migration in %s: %w", s.path, err)
	}
	return nil
}

// Migrated is the set of users the bridge has verified, for status and sweep.
type Migrated struct {
	ids    map[string]bool // legacy ids
	emails map[string]bool // lower-cased emails of records verified without a legacy id
	// Users is the number of distinct users recorded.
	Users int
}

// Has reports whether u has been verified by the bridge: by legacy id when the record
// had one, otherwise by email.
func (m *Migrated) Has(u *strategies.User) bool {
	if u.LegacyID != "" && m.ids[u.LegacyID] {
		return true
	}
	return u.Email != "" && m.emails[strings.ToLower(u.Email)]
}

// Migrated loads the set of verified users; a nil store has none.
func (s *Store) Migrated(ctx context.Context) (*Migrated, error) {
	if s == nil {
		return &Migrated{}, nil
	}
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT legacy_id, lower(email) FROM "+s.table)
	if err != nil {
		return nil, fmt.Errorf("read tracking store %s: %w", s.path, err)
	}
	defer rows.Close()
	m := &Migrated{ids: map[string]bool{}, emails: map[string]bool{}}
	for rows.Next() {
		var id, email string
		if err := rows.Scan(&id, &email); err != nil {
			return nil, fmt.Errorf("read tracking store %s: %w", s.path, err)
		}
		if id != "" {
			m.ids[id] = true
		} else {
			m.emails[email] = true
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tracking store %s: %w", s.path, err)
	}
	m.Users = len(m.ids) + len(m.emails)
	return m, nil
}

// DayCount is how many users were first verified on one UTC day.
type DayCount struct {
	Day   string `json:"day"` // YYYY-MM-DD, UTC
	Users int64  `json:"users"`
}

// PerDay returns, oldest first, how many users were first verified on each UTC day
// (a user verified again on a later day counts once, on the first); a nil store has none.
// The days are counted here rather than in SQL: each database spells dates its own way.
func (s *Store) PerDay(ctx context.Context) ([]DayCount, error) {
	if s == nil {
		return nil, nil
	}
	q := "SELECT min(at) FROM " + s.table + " GROUP BY legacy_id, CASE WHEN legacy_id <> '' THEN '' ELSE lower(email) END"
	rows, err := s.db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read tracking store %s: %w", s.path, err)
	}
	defer rows.Close()
	days := map[string]int64{}
	for rows.Next() {
		var first int64
		if err := rows.Scan(&first); err != nil {
			return nil, fmt.Errorf("read tracking store %s: %w", s.path, err)
		}
		days[time.UnixMilli(first).UTC().Format(time.DateOnly)]++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tracking store %s: %w", s.path, err)
	}
	var out []DayCount
	for _, d := range slices.Sorted(maps.Keys(days)) {
		out = append(out, DayCount{Day: d, Users: days[d]})
	}
	return out, nil
}
