package kratos

import (
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
)

// vector is one hash made by a real implementation (Django, passlib, PHP, Firebase's
// published sample), as kept in the passwords package's testdata.
type vector struct {
	Format   string                    `json:"format"`
	Hash     string                    `json:"hash"`
	Salt     string                    `json:"salt"`
	Password string                    `json:"password"`
	Wrong    string                    `json:"wrong"`
	Source   string                    `json:"source"`
	Firebase *passwords.FirebaseConfig `json:"firebase"`
}

func loadVectors(t testing.TB) []vector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "passwords", "testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors in strategies/passwords/testdata (err %v)", err)
	}
	var out []vector
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var vs []vector
		if err := json.Unmarshal(b, &vs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, vs...)
	}
	return out
}

func TestTableCoversEveryFormat(t *testing.T) {
	for _, name := range passwords.FormatNames() {
		r, ok := RuleFor(name)
		if !ok {
			t.Errorf("format %s has no rule in the Kratos table", name)
			continue
		}
		if _, has := converters[name]; has != r.Importable() && name != "recipe" { // recipes: recipe.go
			t.Errorf("format %s: converter present %v, but rule importable %v", name, has, r.Importable())
		}
		if !r.Importable() && r.Reason == "" {
			t.Errorf("format %s is not importable and says no reason", name)
		}
	}
	for name := range converters {
		if _, ok := RuleFor(name); !ok {
			t.Errorf("converter %s has no rule", name)
		}
	}
	if len(Table()) != len(passwords.FormatNames()) {
		t.Errorf("table has %d rules, want one per format (%d)", len(Table()), len(passwords.FormatNames()))
	}
}

// TestTranslateVectors converts every real implementation's hash and checks that the
// result verifies the right password, and refuses the wrong one, the way Kratos
// v1.3.1's comparator does; formats the table calls not importable must be refused.
func TestTranslateVectors(t *testing.T) {
	vecs := loadVectors(t)
	seen := map[string]bool{}
	for i, vec := range vecs {
		seen[vec.Format] = true
		t.Run(vec.Format+"/"+strconv.Itoa(i), func(t *testing.T) {
			t.Parallel()
			tr, err := NewTranslator(passwords.Options{Firebase: vec.Firebase})
			if err != nil {
				t.Fatal(err)
			}
			rule, _ := RuleFor(vec.Format)
			// The plan names the format of salted bare digests (detection cannot tell
			// salt+password from password+salt); elsewhere detection decides.
			s := passwords.Stored{Hash: vec.Hash, Salt: vec.Salt}
			if vec.Salt != "" {
				s.Format = vec.Format
			}
			h, format, err := tr.Translate(s)
			if !rule.Importable() || (vec.Format == "ldap_crypt" && !strings.HasPrefix(vec.Hash[7:], "$")) {
				var se *strategies.Error
				if err == nil || !errors.As(err, &se) || se.Code != strategies.CodeUnsupportedHash {
					t.Fatalf("Translate(%s) = %q, %v; want a %s error", vec.Format, h, err, strategies.CodeUnsupportedHash)
				}
				if strings.Contains(err.Error(), vec.Hash) {
					t.Errorf("the error repeats the hash: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Translate(%s): %v (%s)", vec.Format, err, vec.Source)
			}
			if format != vec.Format && !sameDigest(format, vec.Format) {
				t.Errorf("read as %s, want %s", format, vec.Format)
			}
			if err := CheckHash(h); err != nil {
				t.Errorf("CheckHash(%s) = %v; want nil", h, err)
			}
			err = kratosCompare(vec.Password, h)
			switch {
			case strings.HasPrefix(h, "$2") && len(vec.Password) > 72:
				// The caveat in the table: bcrypt elsewhere ignores bytes past 72,
				// Kratos refuses such a password outright.
				if err == nil {
					t.Errorf("Kratos compare accepted a %d-byte password against bcrypt; the table's caveat is stale", len(vec.Password))
				}
			case err != nil:
				t.Errorf("Kratos compare of %s with the right password: %v (%s)", h, err, vec.Source)
			}
			if err := kratosCompare(vec.Wrong, h); !errors.Is(err, errMismatch) {
				t.Errorf("Kratos compare of %s with a wrong password: %v, want a mismatch", h, err)
			}
		})
	}
	// Every importable format must have been proven with a real implementation's hash
	// (recipes are home-grown by definition: TestTranslateRecipes).
	for _, r := range Table() {
		if r.Importable() && !seen[r.Format] && r.Format != "recipe" {
			t.Errorf("importable format %s has no vector from a real implementation", r.Format)
		}
	}
}

// TestPasslibPBKDF2Trap: passlib's own pbkdf2 string passes Kratos's import check and
// fails every sign-in; CheckHash must catch it and Translate must rewrite it.
func TestPasslibPBKDF2Trap(t *testing.T) {
	var vec vector
	for _, v := range loadVectors(t) {
		if v.Format == "pbkdf2_sha256" {
			vec = v
			break
		}
	}
	if !Accepted(vec.Hash) {
		t.Fatalf("Accepted(passlib pbkdf2) = false; Kratos's import check accepts it")
	}
	if err := CheckHash(vec.Hash); err == nil {
		t.Errorf("CheckHash(passlib pbkdf2) = nil; want an error, Kratos can never verify it")
	}
	if err := kratosCompare(vec.Password, vec.Hash); err == nil {
		t.Errorf("the untranslated passlib hash verified; the trap this test guards is gone")
	}
	tr, _ := NewTranslator(passwords.Options{})
	h, _, err := tr.Translate(passwords.Stored{Hash: vec.Hash})
	if err != nil || !strings.HasPrefix(h, "$pbkdf2-sha256$i=") {
		t.Fatalf("Translate = %q, %v; want the $pbkdf2-sha256$i=..,l=.. form", h, err)
	}
}

func TestTranslateRefusals(t *testing.T) {
	tr, _ := NewTranslator(passwords.Options{})
	for _, tc := range []struct {
		name string
		s    passwords.Stored
		code strategies.Code
	}{
		{"salted digest without a named format", passwords.Stored{Hash: "59A2259A7F78287C5E19FC2344475B37", Salt: "s4lt-Xy"}, strategies.CodeUnsupportedHash},
		{"firebase without the hash config", passwords.Stored{Hash: "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==", Salt: "42xEC+ixf3L2lw==", Format: "firebase_scrypt"}, strategies.CodeUnsupportedHash},
		{"phpass", passwords.Stored{Hash: "$P$984478476IagS59wHZvyQMArzfx58u."}, strategies.CodeUnsupportedHash},
		{"recipe with no Kratos form", passwords.Stored{Hash: "abc", Format: "recipe:md5(md5(password) + salt)"}, strategies.CodeUnsupportedHash},
		{"DES crypt in LDAP", passwords.Stored{Hash: "{CRYPT}abJnggxhB/yWI"}, strategies.CodeUnsupportedHash},
		{"unknown", passwords.Stored{Hash: "not a hash at all"}, strategies.CodeUnknownHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _, err := tr.Translate(tc.s)
			var se *strategies.Error
			if !errors.As(err, &se) || se.Code != tc.code {
				t.Fatalf("Translate = %q, %v; want a %s error", h, err, tc.code)
			}
			if tc.s.Hash != "abc" && strings.Contains(err.Error(), tc.s.Hash) {
				t.Errorf("the error repeats the hash: %v", err)
			}
		})
	}
}

func TestCheckHash(t *testing.T) {
	for _, tc := range []struct {
		name, hash string
		ok         bool
	}{
		{"bcrypt", "$2b$05$zYt9Qrg1VHNd/MifE/.Fg.9jz0UoEkXWN5vPRtNG.jBN80avlGxkK", true},
		{"bcrypt truncated", "$2b$05$zYt9Qrg1VHNd/MifE/.Fg.9jz0", false},
		{"passlib pbkdf2 (the trap)", "$pbkdf2-sha256$1000$5DwHIMTYW2ttzbnXOqc0Rg$zLxR/4J0C5yaJZjhyUKzuIC6zEtVlGT7C0h9c3uT3eE", false},
		{"pbkdf2 padded base64", "$pbkdf2-sha256$i=1000,l=32$c2FsdA==$aGFzaA==", false},
		{"pbkdf2 sha384 is sha3 in kratos", "$pbkdf2-sha384$i=1000,l=4$c2FsdA$aGFzaA", false},
		{"pbkdf2", "$pbkdf2-sha256$i=1000,l=4$c2FsdA$aGFzaA", true},
		{"scrypt passlib ln", "$scrypt$ln=10,r=8,p=1$c2FsdA==$aGFzaA==", false},
		{"scrypt", "$scrypt$ln=1024,r=8,p=1$c2FsdA==$aGFzaA==", true},
		{"scrypt unpadded", "$scrypt$ln=1024,r=8,p=1$c2FsdA$aGFzaA", false},
		{"argon2 v16", "$argon2id$v=16$m=1024,t=2,p=2$c2FsdA$aGFzaA", false},
		{"argon2 reordered", "$argon2id$v=19$t=2,m=1024,p=2$c2FsdA$aGFzaA", false},
		{"argon2", "$argon2id$v=19$m=1024,t=2,p=2$c2FsdA$aGFzaA", true},
		{"md5 plain", "$md5$CY9rzUYh03PK3k6DJie09g==", true},
		{"md5 salted", "$md5$pf=e1NBTFR9e1BBU1NXT1JEfQ==$c2FsdA==$CY9rzUYh03PK3k6DJie09g==", true},
		{"md5 four fields", "$md5$a$b", false},
		{"sha unsalted", "$sha1$pf=e1BBU1NXT1JEfQ==$$q/eq1kOINtvlJqojGr3i0O73TUI=", true},
		{"ssha short", "{SSHA}q/eq1kOINtvlJqojGr3i0O73TUI=", false},
		{"ssha lower case prefix", "{ssha}Of8EmOKAE2e01wVxloB0EinmOUeaU4qx", false},
		{"hmac", "$hmac-sha256$YWJj$a2V5", true},
		{"md5-crypt", "$md5-crypt$BjlMWJk0$i898GqZahbUStoMD28rVp0", true},
		{"crypt not renamed", "$1$BjlMWJk0$i898GqZahbUStoMD28rVp0", false},
		{"phpass", "$P$984478476IagS59wHZvyQMArzfx58u.", false},
		{"django pbkdf2 untranslated", "pbkdf2_sha256$260000$hoZrBAIgQQcrSmioVecBam$FeaL1qJ5ISjDkRie15iMhA8T1THum/n4TYtZeG4qWuA=", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckHash(tc.hash)
			if (err == nil) != tc.ok {
				t.Fatalf("CheckHash = %v; want ok %v", err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), tc.hash) {
				t.Errorf("the error repeats the hash: %v", err)
			}
		})
	}
}

// TestTranslateHashedFormats covers the formats cutover itself produces for demo
// data and rehearsals (passwords.Hash), with fresh hashes each run.
func TestTranslateHashedFormats(t *testing.T) {
	tr, _ := NewTranslator(passwords.Options{})
	for _, f := range passwords.HashFormats() {
		t.Run(f, func(t *testing.T) {
			s, err := passwords.Hash(f, "hunter2 ✓")
			if err != nil {
				t.Fatal(err)
			}
			h, _, err := tr.Translate(s)
			if r, _ := RuleFor(f); !r.Importable() {
				if err == nil {
					t.Fatalf("Translate(%s) = %q; want not importable", f, h)
				}
				return
			}
			if err != nil {
				t.Fatalf("Translate(%s): %v", f, err)
			}
			if err := kratosCompare("hunter2 ✓", h); err != nil {
				t.Errorf("right password: %v", err)
			}
			if err := kratosCompare("hunter2", h); !errors.Is(err, errMismatch) {
				t.Errorf("wrong password: %v, want a mismatch", err)
			}
		})
	}
	if !slices.Contains(passwords.HashFormats(), "bcrypt") {
		t.Errorf("passwords.HashFormats() lost bcrypt: %v", passwords.HashFormats())
	}
}

func TestForUser(t *testing.T) {
	tr, _ := NewTranslator(passwords.Options{})
	for _, tc := range []struct {
		name    string
		u       strategies.User
		want    bool // a password
		wantErr bool
	}{
		{"no hash", strategies.User{Row: 1}, false, false},
		{"unusable", strategies.User{Row: 2, PasswordHash: "!8HbXkQ2"}, false, false},
		{"django", strategies.User{Row: 3, PasswordHash: "pbkdf2_sha256$260000$hoZrBAIgQQcrSmioVecBam$FeaL1qJ5ISjDkRie15iMhA8T1THum/n4TYtZeG4qWuA="}, true, false},
		{"auto format", strategies.User{Row: 4, PasswordHash: "$P$984478476IagS59wHZvyQMArzfx58u.", PasswordFormat: "auto"}, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := tr.ForUser(&tc.u)
			if (p != nil) != tc.want || (err != nil) != tc.wantErr {
				t.Fatalf("ForUser = %+v, %v; want password %v, error %v", p, err, tc.want, tc.wantErr)
			}
			var se *strategies.Error
			if err != nil && (!errors.As(err, &se) || se.Row != tc.u.Row) {
				t.Errorf("error %v does not name row %d", err, tc.u.Row)
			}
		})
	}
}

type recipeCase struct {
	expr, hash, salt string
	ok               bool // Kratos can express it
}

const recipePassword, recipeSalt = "pässwörd 1", "s4lt{x}"

var recipeKey = []byte("pepper-0123")

// recipeCases are hashes computed the way each recipe says (the tests check them with
// cutover's own verifier before translating).
func recipeCases() []recipeCase {
	pw, salt := recipePassword, recipeSalt
	sha1Hex := func(b string) string { s := sha1.Sum([]byte(b)); return hex.EncodeToString(s[:]) }
	sha256B64 := func(b string) string { s := sha256.Sum256([]byte(b)); return base64.StdEncoding.EncodeToString(s[:]) }
	md5Hex := func(b string) string { s := md5.Sum([]byte(b)); return strings.ToUpper(hex.EncodeToString(s[:])) }
	mac := hmac.New(sha256.New, recipeKey)
	mac.Write([]byte(pw))
	return []recipeCase{
		{"sha1(salt + password)", sha1Hex(salt + pw), salt, true},
		{"sha256(password + \"::\" + salt)", sha256B64(pw + "::" + salt), salt, true},
		{"md5(\"site\" + password)", md5Hex("site" + pw), "", true},
		{"hmac_sha256(key, password)", hex.EncodeToString(mac.Sum(nil)), "", true},
		{"md5(md5(password) + salt)", "", salt, false},
		{"sha1(\"{PASSWORD}\" + password)", sha1Hex("{PASSWORD}" + pw), "", false},
		{"sha1(salt)", sha1Hex(salt), salt, false},
	}
}

// TestTranslateRecipes: recipes Kratos can express become pf templates or HMACs that
// Kratos's comparator verifies; the others are refused.
func TestTranslateRecipes(t *testing.T) {
	tr, err := NewTranslator(passwords.Options{Key: recipeKey})
	if err != nil {
		t.Fatal(err)
	}
	v, _ := passwords.New(passwords.Options{Key: recipeKey})
	pw := recipePassword
	for _, tc := range recipeCases() {
		t.Run(tc.expr, func(t *testing.T) {
			s := passwords.Stored{Hash: tc.hash, Salt: tc.salt, Format: "recipe:" + tc.expr}
			if tc.ok {
				if ok, err := v.Verify(context.Background(), s, pw); !ok || err != nil {
					t.Fatalf("the fixture does not verify with cutover's recipe: %v, %v", ok, err)
				}
			}
			h, _, err := tr.Translate(s)
			if !tc.ok {
				var se *strategies.Error
				if !errors.As(err, &se) || se.Code != strategies.CodeUnsupportedHash {
					t.Fatalf("Translate = %q, %v; want not importable", h, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Translate: %v", err)
			}
			if err := kratosCompare(pw, h); err != nil {
				t.Errorf("Kratos compare of %s, right password: %v", h, err)
			}
			if err := kratosCompare(pw+"!", h); !errors.Is(err, errMismatch) {
				t.Errorf("Kratos compare of %s, wrong password: %v, want a mismatch", h, err)
			}
		})
	}
}
