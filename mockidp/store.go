package mockidp

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Sources: how a user arrived.
const (
	SourceImport = "import" // the User Import API
	SourceLazy   = "lazy"   // created at first sign-in after the lazy hook verified the password
	SourceSignup = "signup" // signed up on the sign-in page
)

// schema creates the user table. Identifiers are unique where present: partial unique
// indexes leave out the NULLs, so an import keyed on email maintains no phone or
// username index at all. (Databases made before kept their inline UNIQUE columns; the
// indexes below are only created with a new table, see openStore.)
const schema = `
CREATE TABLE IF NOT EXISTS users (
	id              TEXT PRIMARY KEY,
	email           TEXT,
	email_lc        TEXT,
	phone           TEXT,
	username        TEXT,
	username_lc     TEXT,
	source          TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	password_hash   TEXT,
	password_salt   TEXT,
	password_format TEXT,
	password_native INTEGER NOT NULL DEFAULT 0,
	disabled        INTEGER NOT NULL DEFAULT 0,
	profile         TEXT,
	user_info       TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS users_email_lc ON users(email_lc) WHERE email_lc IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_phone ON users(phone) WHERE phone IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS users_username_lc ON users(username_lc) WHERE username_lc IS NOT NULL;
`

// indexes are created on every open (a database from an older mock IdP lacks the source
// index), and so is the table of the token signing key, so that tokens issued before a
// restart on the same database still verify after it.
const indexes = `CREATE INDEX IF NOT EXISTS users_source ON users(source);
CREATE TABLE IF NOT EXISTS signing_key (
	id    INTEGER PRIMARY KEY CHECK (id = 1),
	pkcs8 BLOB NOT NULL
);`

// store is the SQLite user table. One connection serialises access: SQLite has a single
// writer anyway, and this keeps an in-memory database alive and free of SQLITE_BUSY.
type store struct{ db *sql.DB }

// The file database trades durability against power loss for speed, which suits a
// mock: WAL with synchronous=OFF still survives the process crashing (the OS has every
// write), and a large page cache and rare checkpoints keep a million-user import from
// rewriting the same index pages over and over.
func openStore(path string) (*store, error) {
	dsn := ":memory:"
	if path != "" {
		dsn = "file:" + (&url.URL{Path: path}).EscapedPath() +
			"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)" +
			"&_pragma=cache_size(-65536)&_pragma=wal_autocheckpoint(16384)"
	}
	if path != "" {
		if err := privateFiles(path); err != nil {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", dbName(path), err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	var tables int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'users'").Scan(&tables); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", dbName(path), err)
	}
	ddl := indexes
	if tables == 0 {
		ddl = schema + indexes
	}
	if _, err := db.Exec(ddl); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: create schema: %w", dbName(path), err)
	}
	return &store{db: db}, nil
}

// signingKey returns the stored token signing key, creating and storing one on first use.
func (st *store) signingKey(ctx context.Context) (*rsa.PrivateKey, error) {
	var der []byte
	err := st.db.QueryRowContext(ctx, `SELECT pkcs8 FROM signing_key WHERE id = 1`).Scan(&der)
	if err == nil {
		k, err := x509.ParsePKCS8PrivateKey(der)
		if rk, ok := k.(*rsa.PrivateKey); err == nil && ok {
			return rk, nil
		}
		return nil, fmt.Errorf("the stored signing key is not an RSA key (%v); delete the database to start afresh", err)
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("read the signing key: %w", err)
	}
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if der, err = x509.MarshalPKCS8PrivateKey(k); err != nil {
		return nil, err
	}
	if _, err := st.db.ExecContext(ctx, `INSERT INTO signing_key (id, pkcs8) VALUES (1, ?)`, der); err != nil {
		return nil, fmt.Errorf("store the signing key: %w", err)
	}
	return k, nil
}

// privateFiles creates the database file 0600 before SQLite opens it, and narrows it and
// any -wal and -shm files left from an earlier run to 0600: they hold the token signing
// key and imported password hashes (issue 13 item 9). SQLite creates -wal and -shm with
// the database file's mode, so new ones are private too.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

func dbName(path string) string {
	if path == "" {
		return "(in memory)"
	}
	return path
}

func (st *store) close() error {
	if err := st.db.Close(); err != nil {
		return fmt.Errorf("close database: %w", err)
	}
	return nil
}

// user is one stored user.
type user struct {
	ID             string
	Email          string
	Phone          string
	Username       string
	Source         string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	PasswordHash   string
	PasswordSalt   string
	PasswordFormat string
	PasswordNative bool
	Disabled       bool
	Profile        json.RawMessage // standard attributes, verified flags, roles, groups, custom attributes
	UserInfo       json.RawMessage // the lazy hook's / userinfo POST's blob
}

// newUUID returns a random (version 4) UUID, the form Authgear's import API returns.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	return formatUUID(&b)
}

func formatUUID(b *[16]byte) string {
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}

// idGen makes the ids of imported users: time-ordered version 7 UUIDs (RFC 9562), so
// a million inserts append to the primary key's index instead of dirtying pages all
// over it. Clients treat user ids as opaque. Its randomness is read in blocks; one
// idGen serves one goroutine.
type idGen struct {
	buf [10 * 256]byte
	off int
}

func newIDGen() *idGen { return &idGen{off: 10 * 256} }

func (g *idGen) next(now time.Time) string {
	if g.off == len(g.buf) {
		_, _ = rand.Read(g.buf[:])
		g.off = 0
	}
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (40 - 8*i))
	}
	copy(b[6:], g.buf[g.off:g.off+10])
	g.off += 10
	b[6] = b[6]&0x0f | 0x70
	return formatUUID(&b)
}

const userColumns = `id, COALESCE(email,''), COALESCE(phone,''), COALESCE(username,''), source, created_at, updated_at,
	COALESCE(password_hash,''), COALESCE(password_salt,''), COALESCE(password_format,''), password_native, disabled,
	COALESCE(profile,''), COALESCE(user_info,'')`

type scanner interface{ Scan(...any) error }

func scanUser(sc scanner) (*user, error) {
	var (
		u                user
		created, updated int64
		native, disable  int
		profile, info    string
	)
	if err := sc.Scan(&u.ID, &u.Email, &u.Phone, &u.Username, &u.Source, &created, &updated,
		&u.PasswordHash, &u.PasswordSalt, &u.PasswordFormat, &native, &disable, &profile, &info); err != nil {
		return nil, err
	}
	u.CreatedAt = time.UnixMilli(created).UTC()
	u.UpdatedAt = time.UnixMilli(updated).UTC()
	u.PasswordNative, u.Disabled = native != 0, disable != 0
	if profile != "" {
		u.Profile = json.RawMessage(profile)
	}
	if info != "" {
		u.UserInfo = json.RawMessage(info)
	}
	return &u, nil
}

// errNoUser is returned when a lookup finds nobody.
var errNoUser = errors.New("no such user")

// findByLogin finds a user by email (case-insensitive), phone number or username.
func (st *store) findByLogin(ctx context.Context, login string) (*user, error) {
	login = strings.TrimSpace(login)
	var q string
	var arg string
	switch {
	case strings.Contains(login, "@"):
		q, arg = "email_lc = ?", strings.ToLower(login)
	case strings.HasPrefix(login, "+"):
		q, arg = "phone = ?", login
	default:
		q, arg = "username_lc = ?", strings.ToLower(login)
	}
	u, err := scanUser(st.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE "+q, arg))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoUser
	}
	if err != nil {
		return nil, fmt.Errorf("find user: %w", err)
	}
	return u, nil
}

func (st *store) byID(ctx context.Context, id string) (*user, error) {
	u, err := scanUser(st.db.QueryRowContext(ctx, "SELECT "+userColumns+" FROM users WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNoUser
	}
	if err != nil {
		return nil, fmt.Errorf("find user %s: %w", id, err)
	}
	return u, nil
}

func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func lowerOrNil(s string) any {
	if s == "" {
		return nil
	}
	return strings.ToLower(s)
}

// create inserts a user made at sign-in (lazy hook or sign-up) with a native hash.
func (st *store) create(ctx context.Context, u *user) error {
	now := time.Now().UnixMilli()
	if u.ID == "" {
		u.ID = newUUID()
	}
	_, err := st.db.ExecContext(ctx, `INSERT INTO users (id, email, email_lc, phone, username, username_lc, source,
		created_at, updated_at, password_hash, password_format, password_native, profile, user_info)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
		u.ID, nullStr(u.Email), lowerOrNil(u.Email), nullStr(u.Phone), nullStr(u.Username), lowerOrNil(u.Username),
		u.Source, now, now, nullStr(u.PasswordHash), nullStr(u.PasswordFormat), rawOrNil(u.Profile), rawOrNil(u.UserInfo))
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	u.CreatedAt = time.UnixMilli(now).UTC()
	u.PasswordNative = true
	return nil
}

func rawOrNil(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	return string(r)
}

// upgradePassword replaces a legacy hash with a native one after a successful sign-in.
func (st *store) upgradePassword(ctx context.Context, id, hash string) error {
	_, err := st.db.ExecContext(ctx, `UPDATE users SET password_hash = ?, password_salt = NULL, password_format = 'bcrypt',
		password_native = 1, updated_at = ? WHERE id = ?`, hash, time.Now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("upgrade password of %s: %w", id, err)
	}
	return nil
}

func (st *store) setUserInfo(ctx context.Context, id string, info json.RawMessage) error {
	res, err := st.db.ExecContext(ctx, `UPDATE users SET user_info = ?, updated_at = ? WHERE id = ?`, string(info), time.Now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("set user_info of %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errNoUser
	}
	return nil
}

func (st *store) deleteIDs(ctx context.Context, ids []string) (int, error) {
	tx, err := st.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("delete users: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, "DELETE FROM users WHERE id = ?")
	if err != nil {
		return 0, fmt.Errorf("delete users: %w", err)
	}
	n := 0
	for _, id := range ids {
		res, err := stmt.ExecContext(ctx, id)
		if err != nil {
			return 0, fmt.Errorf("delete user %s: %w", id, err)
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("delete users: %w", err)
	}
	return n, nil
}

func (st *store) deleteAll(ctx context.Context) (int, error) {
	res, err := st.db.ExecContext(ctx, "DELETE FROM users")
	if err != nil {
		return 0, fmt.Errorf("delete all users: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// userFilter selects users for the mock listing.
type userFilter struct {
	Email, Phone, Username string
	Limit, Offset          int
}

func (f userFilter) where() (string, []any) {
	var conds []string
	var args []any
	if f.Email != "" {
		conds, args = append(conds, "email_lc = ?"), append(args, strings.ToLower(f.Email))
	}
	if f.Phone != "" {
		conds, args = append(conds, "phone = ?"), append(args, f.Phone)
	}
	if f.Username != "" {
		conds, args = append(conds, "username_lc = ?"), append(args, strings.ToLower(f.Username))
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// list returns the matching users (a page), and counts of all matching users by source.
func (st *store) list(ctx context.Context, f userFilter) (users []*user, bySource map[string]int, err error) {
	where, args := f.where()
	bySource = map[string]int{SourceImport: 0, SourceLazy: 0, SourceSignup: 0}
	rows, err := st.db.QueryContext(ctx, "SELECT source, COUNT(*) FROM users"+where+" GROUP BY source", args...)
	if err != nil {
		return nil, nil, fmt.Errorf("count users: %w", err)
	}
	for rows.Next() {
		var src string
		var n int
		if err := rows.Scan(&src, &n); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("count users: %w", err)
		}
		bySource[src] = n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("count users: %w", err)
	}
	rows, err = st.db.QueryContext(ctx, "SELECT "+userColumns+" FROM users"+where+" ORDER BY rowid LIMIT ? OFFSET ?",
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, nil, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, nil, fmt.Errorf("list users: %w", err)
		}
		users = append(users, u)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("list users: %w", err)
	}
	return users, bySource, nil
}
