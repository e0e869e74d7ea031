package kratos

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"strings"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
)

// Recipes Kratos can express: one digest over a concatenation of salt, password and
// string literals becomes a pf template ("sha256(salt + password)" is
// $sha256$pf={SALT}{PASSWORD}$...), and hmac_<alg>(key, password) becomes
// $hmac-<alg>$ with the plan's key. Anything else (nested digests, hex(), upper()...)
// has no Kratos form.

var recipeSizes = map[string]int{"md5": md5.Size, "sha1": sha1.Size, "sha256": sha256.Size, "sha512": sha512.Size}

// convRecipe translates a stored hash whose plan format is "recipe:<expr>".
func convRecipe(t *Translator, s passwords.Stored, expr string) (string, error) {
	r, err := passwords.ParseRecipe(expr)
	if err != nil {
		return "", err
	}
	canon := r.String()
	open := strings.IndexByte(canon, '(')
	if open < 0 || !strings.HasSuffix(canon, ")") {
		return "", notImportableRecipe(canon)
	}
	fn, inner := canon[:open], canon[open+1:len(canon)-1]
	if alg, ok := strings.CutPrefix(fn, "hmac_"); ok {
		size := recipeSizes[alg]
		if size == 0 || inner != "key, password" || len(t.key) == 0 {
			return "", notImportableRecipe(canon)
		}
		sum := decodeDigest(s.Hash, size)
		if sum == nil {
			return "", convErr("recipe", "the stored hash is not %d hex characters or base64 of %d bytes", 2*size, size)
		}
		return "$hmac-" + alg + "$" + std.EncodeToString([]byte(hex.EncodeToString(sum))) + "$" + std.EncodeToString(t.key), nil
	}
	size := recipeSizes[fn]
	if size == 0 {
		return "", notImportableRecipe(canon)
	}
	pf, usesSalt, ok := pfTemplate(inner)
	if !ok {
		return "", notImportableRecipe(canon)
	}
	sum := decodeDigest(s.Hash, size)
	if sum == nil {
		return "", convErr("recipe", "the stored hash is not %d hex characters or base64 of %d bytes", 2*size, size)
	}
	var salt []byte
	if usesSalt {
		if s.Salt == "" {
			return "", convErr("recipe", "the recipe uses the salt and this row has none; map password_salt")
		}
		salt = []byte(s.Salt)
	}
	return digestHash(fn, pf, salt, sum), nil
}

// pfTemplate turns a canonical concatenation ("salt + password + \"x\"") into a
// Kratos template; ok is false for anything but salt, password and literals, and for
// a literal Kratos would read as a placeholder.
func pfTemplate(inner string) (pf string, usesSalt, ok bool) {
	var b strings.Builder
	for rest := inner; ; {
		if strings.HasPrefix(rest, `"`) {
			lit, n, ok := readLiteral(rest)
			if !ok || strings.Contains(lit, "{SALT}") || strings.Contains(lit, "{PASSWORD}") {
				return "", false, false
			}
			b.WriteString(lit)
			rest = rest[n:]
		} else {
			end := strings.Index(rest, " + ")
			if end < 0 {
				end = len(rest)
			}
			switch rest[:end] {
			case "password":
				b.WriteString("{PASSWORD}")
			case "salt":
				b.WriteString("{SALT}")
				usesSalt = true
			default:
				return "", false, false // key, or a nested call
			}
			rest = rest[end:]
		}
		if rest == "" {
			break
		}
		var found bool
		if rest, found = strings.CutPrefix(rest, " + "); !found || rest == "" {
			return "", false, false
		}
	}
	if !strings.Contains(b.String(), "{PASSWORD}") {
		return "", false, false
	}
	return b.String(), usesSalt, true
}

// readLiteral reads a canonical quoted literal (only \\ and \" escaped) at the start
// of s and returns its value and length.
func readLiteral(s string) (string, int, bool) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 >= len(s) {
				return "", 0, false
			}
			i++
			b.WriteByte(s[i])
		case '"':
			return b.String(), i + 1, true
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, false
}

func notImportableRecipe(canon string) error {
	return &strategies.Error{Code: strategies.CodeUnsupportedHash, Field: "password_format",
		Message: "the recipe " + canon + " has no Kratos form (Kratos takes one md5/sha1/sha256/sha512 over salt, password and literals, or hmac_<alg>(key, password) with password_key set); move these users with the lazy strategy"}
}
