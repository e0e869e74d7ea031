// Command gen writes cutover's demo legacy database (users.db) and the list of demo
// users' plaintext passwords (demo-passwords.csv) into the demo package, which embeds
// them. Run it from the repository root after changing it or the password formats:
//
//	go run ./strategies/sources/demo/gen
//
// The users are the same on every run (a fixed seed); the hashes differ (random salts).
package main

import (
	"context"
	"database/sql"
	"encoding/csv"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/nyaruka/phonenumbers"
	_ "modernc.org/sqlite"

	"github.com/cutover/cutover/strategies/passwords"
)

// user is one generated row.
type user struct {
	id                   int
	username, email      string
	emailNull            bool
	verified             bool
	verifiedAt           *time.Time
	phone                string
	first, last, display string
	active               bool
	format, password     string
	hash, salt           string
	memberNo             string
	createdAt, lastLogin time.Time
	known                bool // listed in demo-passwords.csv
	fixedHash            string
}

var firstNames = []string{"Ann", "Ben", "Chloé", "David", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kate", "Liam", "María", "Noah", "Olga", "Priya", "Quentin", "Rosa", "Sven", "Tomás", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Aisha", "Bruno", "Carmen", "Dmitri", "Emma", "Felix", "Giulia", "Hannah", "Ivan", "Julia", "Kenji", "Lena", "Marco", "Nadia"}
var lastNames = []string{"Lee", "Smith", "García", "Müller", "Rossi", "Kowalski", "Nguyen", "Okafor", "Silva", "Tanaka", "Dubois", "Johansson", "Patel", "Cohen", "O'Brien", "Novak", "Haddad", "Kim", "Larsen", "Fischer", "Moreau", "Costa", "Ivanova", "Schmidt", "Walker", "Young", "Singh", "Ali", "Bianchi", "Jensen"}
var domains = []string{"example.com", "example.org", "mail.example.net", "example.co.uk", "example.de", "corp.example.com"}
var words = []string{"apple", "river", "stone", "cloud", "maple", "tiger", "ocean", "ember", "lemon", "cedar", "piano", "comet", "harbor", "meadow", "falcon", "velvet", "copper", "willow", "sunset", "glacier"}
var regions = []string{"US", "GB", "DE", "FR", "IN", "AU", "ES", "JP"}

// formats and their share of the users.
var formats = []struct {
	name   string
	weight int
}{{"bcrypt", 40}, {"django_pbkdf2_sha256", 25}, {"phpass", 20}, {"sha256_salt_password", 15}}

func main() {
	_, self, _, _ := runtime.Caller(0)
	dir := flag.String("dir", filepath.Dir(filepath.Dir(self)), "directory to write users.db and demo-passwords.csv into")
	n := flag.Int("n", 1000, "number of users")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(context.Background(), log, *dir, *n); err != nil {
		log.Error("generate demo database", "err", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, dir string, n int) error {
	r := rand.New(rand.NewPCG(20240601, 7))
	users := generate(r, n)
	if err := hashAll(users); err != nil {
		return err
	}
	dbPath := filepath.Join(dir, "users.db")
	if err := writeDB(ctx, dbPath, users); err != nil {
		return fmt.Errorf("write %s: %w", dbPath, err)
	}
	csvPath := filepath.Join(dir, "demo-passwords.csv")
	if err := writeKnown(csvPath, users); err != nil {
		return fmt.Errorf("write %s: %w", csvPath, err)
	}
	log.Info("demo database written", "db", dbPath, "users", len(users), "passwords", csvPath)
	return nil
}

func generate(r *rand.Rand, n int) []*user {
	base := time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)
	taken := map[string]bool{}
	var users []*user
	for id := 1; id <= n; id++ {
		u := &user{id: id}
		u.first, u.last = firstNames[r.IntN(len(firstNames))], lastNames[r.IntN(len(lastNames))]
		u.display = u.first + " " + u.last
		local := ascii(strings.ToLower(u.first)) + "." + strings.ReplaceAll(ascii(strings.ToLower(u.last)), "'", "")
		if r.IntN(3) == 0 {
			local = ascii(strings.ToLower(u.first[:1])) + strings.ReplaceAll(ascii(strings.ToLower(u.last)), "'", "")
		}
		// The local part doubles as the username, which must be unique too: make it so
		// across domains, not only within one.
		name := local
		for k := 2; taken[name]; k++ {
			name = fmt.Sprintf("%s%d", local, k)
		}
		taken[name] = true
		u.email = name + "@" + domains[r.IntN(len(domains))]
		u.username = name
		u.createdAt = base.Add(time.Duration(r.Int64N(int64(9 * 365 * 24 * time.Hour)))).Truncate(time.Second)
		u.lastLogin = u.createdAt.Add(time.Duration(r.Int64N(int64(400 * 24 * time.Hour)))).Truncate(time.Second)
		u.verified = r.IntN(100) < 85
		if u.verified {
			t := u.createdAt.Add(time.Duration(r.Int64N(int64(48 * time.Hour)))).Truncate(time.Second)
			u.verifiedAt = &t
		}
		u.active = r.IntN(100) >= 5
		if r.IntN(100) < 70 {
			u.phone = phone(r)
		}
		u.memberNo = fmt.Sprintf("M%06d", 100000+r.IntN(900000))
		w := r.IntN(100)
		for _, f := range formats {
			if w < f.weight {
				u.format = f.name
				break
			}
			w -= f.weight
		}
		u.password = fmt.Sprintf("%s-%s-%02d", words[r.IntN(len(words))], words[r.IntN(len(words))], r.IntN(100))
		users = append(users, u)
	}
	// A few duplicates differing only in case (the first row wins), and bad rows.
	for i, at := range []int{120, 340, 555, 780, 910, 990} {
		if at >= len(users) {
			continue
		}
		orig := users[i*17+3]
		users[at].email = mixCase(orig.email, i)
		users[at].username = users[at].username + "_dup"
	}
	bad := map[int]string{60: "not-an-email", 260: "ann.lee@", 460: "@example.com", 660: "bob at example.com"}
	for at, e := range bad {
		if at < len(users) {
			users[at].email = e
		}
	}
	for _, at := range []int{160, 860} {
		if at < len(users) {
			users[at].email = ""
		}
	}
	if len(users) > 700 {
		users[700].email, users[700].emailNull = "", true
		users[430].fixedHash = "$2a$10$tooShortToBeABcryptHash" // malformed
		users[530].fixedHash = "{CLEARTEXT}hunter2"             // not a hash format anyone knows
	}
	// Document ~50 users: good rows (unique valid email, active, verified), spread over the formats.
	per := map[string]int{}
	for i, u := range users {
		if u.active && u.verified && !strings.ContainsAny(u.email, " ") && strings.Contains(u.email, ".") &&
			!isBad(i, bad) && u.fixedHash == "" && per[u.format] < 13 && !isDupTarget(i) {
			u.known = true
			per[u.format]++
		}
	}
	return users
}

func isBad(i int, bad map[int]string) bool {
	_, ok := bad[i]
	return ok || i == 160 || i == 860 || i == 700
}

// isDupTarget: rows whose email other rows duplicate, and the duplicates themselves.
func isDupTarget(i int) bool {
	for k, at := range []int{120, 340, 555, 780, 910, 990} {
		if i == at || i == k*17+3 {
			return true
		}
	}
	return false
}

func mixCase(s string, k int) string {
	b := []rune(s)
	for i := range b {
		if (i+k)%2 == 0 {
			b[i] = []rune(strings.ToUpper(string(b[i])))[0]
		}
	}
	return string(b)
}

func ascii(s string) string {
	return strings.NewReplacer("é", "e", "í", "i", "á", "a", "ü", "u", "ö", "o").Replace(s)
}

// phone returns a valid number of a random region, written as people write them.
func phone(r *rand.Rand) string {
	for {
		region := regions[r.IntN(len(regions))]
		ex := phonenumbers.GetExampleNumber(region)
		national := fmt.Sprint(ex.GetNationalNumber())
		digits := []byte(national)
		for i := len(digits) - 4; i < len(digits); i++ {
			digits[i] = byte('0' + r.IntN(10))
		}
		num, err := phonenumbers.Parse(string(digits), region)
		if err != nil || !phonenumbers.IsValidNumber(num) {
			continue
		}
		if r.IntN(2) == 0 {
			return phonenumbers.Format(num, phonenumbers.E164)
		}
		return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
	}
}

// hashAll hashes every password with the passwords package, on all cores.
func hashAll(users []*user) error {
	var wg sync.WaitGroup
	errs := make(chan error, len(users))
	sem := make(chan struct{}, runtime.NumCPU())
	for _, u := range users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if u.fixedHash != "" {
				u.hash = u.fixedHash
				return
			}
			s, err := passwords.Hash(u.format, u.password)
			if err != nil {
				errs <- fmt.Errorf("user %d: %w", u.id, err)
				return
			}
			u.hash, u.salt = s.Hash, s.Salt
		}()
	}
	wg.Wait()
	close(errs)
	return <-errs
}

const schema = `
CREATE TABLE users (
  id                INTEGER PRIMARY KEY,
  username          TEXT NOT NULL,
  email             TEXT,
  email_verified    BOOLEAN NOT NULL,   -- 0/1
  email_verified_at DATETIME,           -- set when verified
  phone             TEXT,
  first_name        TEXT NOT NULL,
  last_name         TEXT NOT NULL,
  display_name      TEXT NOT NULL,
  is_active         BOOLEAN NOT NULL,   -- 0 = disabled
  password          TEXT NOT NULL,      -- bcrypt, Django pbkdf2_sha256, phpass, or hex sha256(salt + password)
  salt              TEXT,               -- only for the salted SHA-256 rows
  member_no         TEXT,
  created_at        DATETIME NOT NULL,
  last_login_at     DATETIME
);
CREATE INDEX users_email_lower ON users (lower(email));
`

func writeDB(ctx context.Context, path string, users []*user) error {
	tmp := path + ".tmp"
	os.Remove(tmp)
	db, err := sql.Open("sqlite", tmp)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	for _, u := range users {
		var email, salt, phone any = u.email, nil, nil
		if u.emailNull {
			email = nil
		}
		if u.salt != "" {
			salt = u.salt
		}
		if u.phone != "" {
			phone = u.phone
		}
		var verifiedAt any
		if u.verifiedAt != nil {
			verifiedAt = u.verifiedAt.Format(time.DateTime)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.id, u.username, email, u.verified, verifiedAt, phone, u.first, u.last, u.display, u.active,
			u.hash, salt, u.memberNo, u.createdAt.Format(time.DateTime), u.lastLogin.Format(time.DateTime)); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "VACUUM"); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func writeKnown(path string, users []*user) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{"email", "password"})
	for _, u := range users {
		if u.known {
			w.Write([]string{u.email, u.password})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
