// Package demo is cutover's bundled legacy database for rehearsals: about 1,000
// realistic users in a SQLite file embedded in the binary, with mixed password hashes
// (bcrypt, Django PBKDF2, phpass, salted SHA-256), unverified and disabled users, a few
// duplicate emails differing in case and a few bad rows, plus the plaintext passwords
// of about 50 of them (demo-passwords.csv) so a rehearsal can prove they sign in.
//
// The files are made by `go run ./strategies/sources/demo/gen`.
package demo

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cutover/cutover/strategies"
)

//go:generate go run ./gen

//go:embed users.db
var usersDB []byte

//go:embed demo-passwords.csv
var passwordsCSV []byte

// DBFile and PasswordsFile are the names Write gives the files it writes; the password
// list carries the name 'cutover rehearse' looks for beside a plan's source.
const (
	DBFile        = "legacy-demo.db"
	PasswordsFile = "known-passwords.csv"
)

// Credential is a demo user's email and plaintext password.
type Credential struct {
	Email    string
	Password string
}

// Write writes the demo database and its password list into dir (created if needed)
// and returns the database's path. Existing files are replaced, so a rehearsal always
// starts from the same data.
func Write(dir string) (dbPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("write demo database: %w", err)
	}
	dbPath = filepath.Join(dir, DBFile)
	if err := os.WriteFile(dbPath, usersDB, 0o600); err != nil {
		return "", fmt.Errorf("write demo database: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, PasswordsFile), passwordsCSV, 0o600); err != nil {
		return "", fmt.Errorf("write demo passwords: %w", err)
	}
	return dbPath, nil
}

// Plan returns a bulk plan that moves the demo database at dbPath into the in-process
// mock IdP (Authgear profile: bcrypt-only imports, as in production).
func Plan(dbPath string) *strategies.Plan {
	col := func(c string) strategies.FieldRef { return strategies.FieldRef{Column: c} }
	return &strategies.Plan{
		Version:  strategies.PlanVersion,
		Strategy: strategies.StrategyBulk,
		Source:   strategies.SourceSpec{Kind: strategies.SourceSQLite, Path: dbPath, Table: "users", Key: "id"},
		Mapping: strategies.Mapping{
			LegacyID:          col("id"),
			Email:             col("email"),
			EmailVerified:     col("email_verified"),
			PhoneNumber:       col("phone"),
			PreferredUsername: col("username"),
			Name:              col("display_name"),
			GivenName:         col("first_name"),
			FamilyName:        col("last_name"),
			Disabled:          strategies.FieldRef{Column: "is_active", Transform: "not"},
			PasswordHash:      col("password"),
			PasswordSalt:      col("salt"),
			PasswordFormat:    "auto",
			CustomAttributes:  map[string]strategies.FieldRef{"member_id": col("member_no")},
		},
		Target: strategies.Target{Kind: strategies.TargetMockIDP, Profile: strategies.ProfileAuthgear},
	}
}

// KnownPasswords returns the demo users whose plaintext passwords are documented,
// covering every hash format in the database.
func KnownPasswords() []Credential {
	rows, err := csv.NewReader(bytes.NewReader(passwordsCSV)).ReadAll()
	if err != nil || len(rows) == 0 {
		return nil // the embedded file is tested; this cannot happen in a built binary
	}
	out := make([]Credential, 0, len(rows)-1)
	for _, r := range rows[1:] {
		out = append(out, Credential{Email: r[0], Password: r[1]})
	}
	return out
}
