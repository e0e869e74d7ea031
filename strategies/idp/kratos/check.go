package kratos

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strings"

	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
)

// Kratos v1.3.1 matches an imported hash by these prefixes (hash/hash_comparator.go)
// and refuses the import when none matches. Matching a prefix says nothing about
// whether the rest decodes: that is only found out at sign-in, user by user.
var (
	reMD5Crypt    = regexp.MustCompile(`^\$md5-crypt\$`)
	reBcrypt      = regexp.MustCompile(`^\$2[abzy]?\$`)
	reSHA256Crypt = regexp.MustCompile(`^\$sha256-crypt\$`)
	reSHA512Crypt = regexp.MustCompile(`^\$sha512-crypt\$`)
	reArgon2id    = regexp.MustCompile(`^\$argon2id\$`)
	reArgon2i     = regexp.MustCompile(`^\$argon2i\$`)
	rePBKDF2      = regexp.MustCompile(`^\$pbkdf2-sha[0-9]{1,3}\$`)
	reScrypt      = regexp.MustCompile(`^\$scrypt\$`)
	reSSHA        = regexp.MustCompile(`^{SSHA(256|512)?}.*`)
	reSHA         = regexp.MustCompile(`^\$sha(1|256|512)\$`)
	reFirescrypt  = regexp.MustCompile(`^\$firescrypt\$`)
	reMD5         = regexp.MustCompile(`^\$md5\$`)
	reHMAC        = regexp.MustCompile(`^\$hmac-(md4|md5|sha1|sha224|sha256|sha384|sha512)\$`)
)

// Accepted reports whether Kratos's import check accepts h (it only looks at the
// prefix). A hash can be accepted and still never verify; CheckHash says whether it will.
func Accepted(h string) bool {
	for _, re := range []*regexp.Regexp{reMD5Crypt, reBcrypt, reSHA256Crypt, reSHA512Crypt, reArgon2id, reArgon2i,
		rePBKDF2, reScrypt, reSSHA, reSHA, reFirescrypt, reMD5, reHMAC} {
		if re.MatchString(h) {
			return true
		}
	}
	return false
}

// CheckHash returns nil when Kratos v1.3.1 both imports h and can decode it at
// sign-in: it follows the branch Kratos's comparator takes for h and applies that
// branch's decoder checks (field counts, Sscanf patterns, strict base64). Call it on
// every hash of a batch before sending: one hash Kratos refuses fails the whole batch,
// and one it accepts but cannot decode locks its user out silently.
//
// The error is a *strategies.Error with CodeUnsupportedHash and never contains the hash.
func CheckHash(h string) error {
	parts := strings.Split(h, "$")
	switch {
	case reMD5Crypt.MatchString(h):
		if _, err := md5crypt.Decode("$1" + strings.TrimPrefix(h, "$md5-crypt")); err != nil {
			return bad("md5-crypt", "go-crypt cannot decode it")
		}
	case reBcrypt.MatchString(h):
		if _, err := bcrypt.Cost([]byte(h)); err != nil {
			return bad("bcrypt", "not a bcrypt hash Go can read")
		}
	case reSHA256Crypt.MatchString(h), reSHA512Crypt.MatchString(h):
		return checkSHACrypt(h)
	case reArgon2id.MatchString(h), reArgon2i.MatchString(h):
		return checkArgon2(parts)
	case rePBKDF2.MatchString(h):
		return checkPBKDF2(parts)
	case reScrypt.MatchString(h):
		return checkScrypt(parts)
	case reSSHA.MatchString(h):
		return checkSSHA(h)
	case reSHA.MatchString(h):
		if len(parts) != 5 {
			return bad("sha", "want 5 $-separated fields, got %d", len(parts))
		}
		if !checkPF(parts[2]) || !decodes(strict, parts[3], parts[4]) {
			return bad("sha", "want pf=<base64 template>$<base64 salt>$<base64 hash>")
		}
	case reFirescrypt.MatchString(h):
		return checkFirescrypt(parts)
	case reMD5.MatchString(h):
		return checkMD5(parts)
	case reHMAC.MatchString(h):
		if len(parts) != 4 || !decodes(strict, parts[2], parts[3]) {
			return bad("hmac", "want $hmac-ALG$<base64 of the hex MAC>$<base64 key>")
		}
	default:
		return bad("unknown", "no Kratos hash format matches it, so Kratos would refuse the whole batch")
	}
	return nil
}

// The two base64 flavours Kratos's decoders use: each format is decoded with exactly one,
// and a hash in the other flavour imports but never verifies, so the check must not be lenient.
var (
	strict    = base64.StdEncoding.Strict()
	rawStrict = base64.RawStdEncoding.Strict()
)

// bad builds the error CheckHash returns. It takes only the format and a message about
// its shape, never the hash, so a refused hash cannot reach a log or report.
func bad(kind, msg string, args ...any) error {
	return &strategies.Error{Code: strategies.CodeUnsupportedHash, Field: "password_hash",
		Message: fmt.Sprintf("kratos "+kind+" hash: "+msg, args...)}
}

// checkSHACrypt rewrites Kratos's $sha256-crypt$/$sha512-crypt$ prefix to the crypt(3)
// id ($5/$6) it becomes before go-crypt decodes it, and decodes it the same way.
func checkSHACrypt(h string) error {
	id := "$5"
	if reSHA512Crypt.MatchString(h) {
		id = "$6"
	}
	if _, err := shacrypt.Decode(id + h[strings.Index(h[1:], "$")+1:]); err != nil {
		return bad("sha-crypt", "go-crypt cannot decode it")
	}
	return nil
}

// checkArgon2 follows Kratos's argon2 decoder: six fields, v=19 only, parameters in
// m,t,p order, unpadded base64.
func checkArgon2(parts []string) error {
	if len(parts) != 6 {
		return bad("argon2", "want 6 $-separated fields, got %d", len(parts))
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != 19 {
		return bad("argon2", "the version must be v=19")
	}
	var m, t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
		return bad("argon2", "parameters must read m=..,t=..,p=.. in that order")
	}
	if !decodes(rawStrict, parts[4], parts[5]) {
		return bad("argon2", "salt and hash must be unpadded standard base64")
	}
	return nil
}

// checkPBKDF2 follows Kratos's pbkdf2 decoder, which also decides the digest from the
// name: only three names give the digest the hash was made with.
func checkPBKDF2(parts []string) error {
	if len(parts) != 5 {
		return bad("pbkdf2", "want 5 $-separated fields, got %d", len(parts))
	}
	switch alg := strings.TrimPrefix(parts[1], "pbkdf2-"); alg {
	case "sha1", "sha256", "sha512":
	case "sha224", "sha384":
		// Kratos v1.3.1 maps these names to SHA-3, so a real SHA-2 hash never verifies.
		return bad("pbkdf2", "%s is read as SHA3 by Kratos v1.3.1; only sha1, sha256 and sha512 verify", alg)
	default:
		return bad("pbkdf2", "Kratos falls back to sha256 for %q, which would not verify", alg)
	}
	var i, l uint32
	if _, err := fmt.Sscanf(parts[2], "i=%d,l=%d", &i, &l); err != nil {
		return bad("pbkdf2", "parameters must read i=ITERATIONS,l=KEYLENGTH (passlib's bare round count never verifies)")
	}
	if !decodes(rawStrict, parts[3], parts[4]) {
		return bad("pbkdf2", "salt and hash must be unpadded standard base64")
	}
	return nil
}

// checkScrypt follows Kratos's scrypt decoder, which reads ln as N itself rather than
// log2 N as passlib writes it.
func checkScrypt(parts []string) error {
	if len(parts) != 5 {
		return bad("scrypt", "want 5 $-separated fields, got %d", len(parts))
	}
	var n, r, p uint32
	if _, err := fmt.Sscanf(parts[2], "ln=%d,r=%d,p=%d", &n, &r, &p); err != nil {
		return bad("scrypt", "parameters must read ln=N,r=R,p=P")
	}
	if n < 2 || n&(n-1) != 0 {
		return bad("scrypt", "ln is N itself for Kratos and must be a power of two above 1 (passlib writes log2 N)")
	}
	if !decodes(strict, parts[3], parts[4]) {
		return bad("scrypt", "salt and hash must be padded standard base64")
	}
	return nil
}

// checkSSHA checks that the base64 after {SSHA…} holds a whole digest of the named size
// and at least one salt byte, which is what Kratos splits it into.
func checkSSHA(h string) error {
	prefix := h[:strings.Index(h, "}")+1]
	size := map[string]int{"{SSHA}": 20, "{SSHA256}": 32, "{SSHA512}": 64}[prefix]
	b, err := base64.StdEncoding.DecodeString(h[len(prefix):])
	if size == 0 || err != nil || len(b) < size+1 {
		return bad("ssha", "want base64 of a %d-byte digest followed by a salt", size)
	}
	return nil
}

// checkFirescrypt follows Kratos's Firebase scrypt decoder: seven fields and a memory
// cost Firebase allows.
func checkFirescrypt(parts []string) error {
	if len(parts) != 7 {
		return bad("firescrypt", "want 7 $-separated fields, got %d", len(parts))
	}
	var n, r, p uint32
	if _, err := fmt.Sscanf(parts[2], "ln=%d,r=%d,p=%d", &n, &r, &p); err != nil || n < 1 || n > 30 {
		return bad("firescrypt", "parameters must read ln=MEM_COST,r=ROUNDS,p=1")
	}
	if !decodes(strict, parts[3], parts[4], parts[5], parts[6]) {
		return bad("firescrypt", "salt, hash, separator and signer key must be padded standard base64")
	}
	return nil
}

// checkMD5 accepts Kratos's two md5 shapes: a bare digest, or a salted one with a template.
func checkMD5(parts []string) error {
	switch len(parts) {
	case 3:
		if !decodes(strict, parts[2]) {
			return bad("md5", "the hash must be padded standard base64")
		}
	case 5:
		if !checkPF(parts[2]) || !decodes(strict, parts[3], parts[4]) {
			return bad("md5", "want pf=<base64 template>$<base64 salt>$<base64 hash>")
		}
	default:
		return bad("md5", "want $md5$<hash> or $md5$pf=..$<salt>$<hash>")
	}
	return nil
}

// checkPF mirrors Kratos's `fmt.Sscanf(part, "pf=%s")` then strict base64 of the template.
func checkPF(part string) bool {
	var pf string
	if _, err := fmt.Sscanf(part, "pf=%s", &pf); err != nil {
		return false
	}
	return decodes(strict, pf)
}

func decodes(enc *base64.Encoding, fields ...string) bool {
	for _, f := range fields {
		if _, err := enc.DecodeString(f); err != nil {
			return false
		}
	}
	return true
}
