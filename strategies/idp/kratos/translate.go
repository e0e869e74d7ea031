package kratos

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
)

// Rule says what becomes of one legacy format at Kratos: the syntax its hashes are
// rewritten into, or why they cannot travel (those users keep their password only
// through the lazy bridge, or reset it).
type Rule struct {
	Format string `json:"format"`           // cutover's format name (passwords.FormatNames)
	Syntax string `json:"syntax,omitempty"` // Kratos's syntax, "" when not importable
	Reason string `json:"reason,omitempty"` // why not importable, or a caveat when importable
}

// Importable reports whether the rule's hashes can be imported.
func (r Rule) Importable() bool { return r.Syntax != "" }

// rules is the translation table, one entry per format the passwords package
// verifies (a test checks none is missing). The syntaxes are those of Kratos v1.3.1's
// hash/hash_comparator.go, which is the contract: a hash Kratos's import check accepts
// but its comparator cannot decode is accepted at import and fails every sign-in.
var rules = []Rule{
	{Format: "bcrypt", Syntax: "$2a$/$2b$/$2y$ as is",
		Reason: "Kratos refuses a password longer than 72 bytes at sign-in (invalid_credentials), where bcrypt elsewhere ignores the excess"},
	{Format: "django_bcrypt", Syntax: "$2b$ (the bcrypt$ prefix dropped)",
		Reason: "Kratos refuses a password longer than 72 bytes at sign-in (invalid_credentials)"},
	{Format: "django_bcrypt_sha256",
		Reason: "bcrypt over hex(sha256(password)): Kratos's bcrypt takes the raw password and it has no pre-hash step"},
	{Format: "wordpress_bcrypt",
		Reason: "bcrypt over base64(HMAC-SHA384(password)): Kratos's bcrypt takes the raw password and its $hmac$ form is a single HMAC"},
	{Format: "argon2id", Syntax: "$argon2id$v=19$m=M,t=T,p=P$<raw b64 salt>$<raw b64 hash>"},
	{Format: "argon2i", Syntax: "$argon2i$v=19$m=M,t=T,p=P$<raw b64 salt>$<raw b64 hash>"},
	{Format: "django_argon2", Syntax: "$argon2id$ / $argon2i$ (the argon2 prefix dropped)"},
	{Format: "scrypt", Syntax: "$scrypt$ln=N,r=R,p=P$<b64 salt>$<b64 hash>",
		Reason: "Kratos reads ln as N itself, not its log2 as passlib writes it: ln=14 becomes ln=16384"},
	{Format: "pbkdf2_sha256", Syntax: "$pbkdf2-sha256$i=I,l=L$<raw b64 salt>$<raw b64 hash>",
		Reason: "passlib's own $pbkdf2-sha256$I$ab64$ab64 passes Kratos's import check but never verifies; it is rewritten"},
	{Format: "pbkdf2_sha512", Syntax: "$pbkdf2-sha512$i=I,l=L$<raw b64 salt>$<raw b64 hash>",
		Reason: "passlib's own form passes Kratos's import check but never verifies; it is rewritten"},
	{Format: "pbkdf2_sha1", Syntax: "$pbkdf2-sha1$i=I,l=L$<raw b64 salt>$<raw b64 hash>"},
	{Format: "django_pbkdf2_sha256", Syntax: "$pbkdf2-sha256$i=I,l=32$<raw b64 salt>$<raw b64 hash>"},
	{Format: "django_pbkdf2_sha1", Syntax: "$pbkdf2-sha1$i=I,l=20$<raw b64 salt>$<raw b64 hash>"},
	{Format: "phpass",
		Reason: "md5 iterated 2^n times over hash+password: Kratos's $md5$ is a single round and it has no iterated form"},
	{Format: "drupal7",
		Reason: "sha512 iterated 2^n times over hash+password: Kratos's $sha512$ is a single round and it has no iterated form"},
	{Format: "md5_crypt", Syntax: "$md5-crypt$<salt>$<hash> (crypt's $1$ renamed)"},
	{Format: "sha256_crypt", Syntax: "$sha256-crypt$[rounds=R$]<salt>$<hash> (crypt's $5$ renamed)"},
	{Format: "sha512_crypt", Syntax: "$sha512-crypt$[rounds=R$]<salt>$<hash> (crypt's $6$ renamed)"},
	{Format: "ldap_crypt", Syntax: "the inner crypt(3) hash, translated as md5_crypt, sha256_crypt, sha512_crypt or bcrypt",
		Reason: "traditional DES crypt inside {CRYPT} is not importable"},
	{Format: "ldap_ssha", Syntax: "{SSHA}<b64 sha1(password+salt)+salt>"},
	{Format: "ldap_ssha256", Syntax: "{SSHA256}<b64 sha256(password+salt)+salt>"},
	{Format: "ldap_ssha512", Syntax: "{SSHA512}<b64 sha512(password+salt)+salt>"},
	{Format: "ldap_sha", Syntax: "$sha1$pf={PASSWORD}$$<b64 hash>"},
	{Format: "ldap_md5", Syntax: "$md5$<b64 hash>"},
	{Format: "ldap_smd5", Syntax: "$md5$pf={PASSWORD}{SALT}$<b64 salt>$<b64 hash>"},
	{Format: "firebase_scrypt", Syntax: "$firescrypt$ln=MEM_COST,r=ROUNDS,p=1$<b64 salt>$<b64 hash>$<b64 separator>$<b64 signer key>",
		Reason: "needs the project's Firebase hash config in the plan"},
	{Format: "django_md5", Syntax: "$md5$pf={SALT}{PASSWORD}$<b64 salt>$<b64 hash>"},
	{Format: "django_sha1", Syntax: "$sha1$pf={SALT}{PASSWORD}$<b64 salt>$<b64 hash>"},
	{Format: "django_unsalted_md5", Syntax: "$md5$<b64 hash>"},
	{Format: "django_unsalted_sha1", Syntax: "$sha1$pf={PASSWORD}$$<b64 hash>"},
	{Format: "md5", Syntax: "$md5$<b64 hash>"},
	{Format: "md5_salt_password", Syntax: "$md5$pf={SALT}{PASSWORD}$<b64 salt>$<b64 hash>"},
	{Format: "md5_password_salt", Syntax: "$md5$pf={PASSWORD}{SALT}$<b64 salt>$<b64 hash>"},
	{Format: "sha1", Syntax: "$sha1$pf={PASSWORD}$$<b64 hash>"},
	{Format: "sha1_salt_password", Syntax: "$sha1$pf={SALT}{PASSWORD}$<b64 salt>$<b64 hash>"},
	{Format: "sha1_password_salt", Syntax: "$sha1$pf={PASSWORD}{SALT}$<b64 salt>$<b64 hash>"},
	{Format: "sha256", Syntax: "$sha256$pf={PASSWORD}$$<b64 hash>"},
	{Format: "sha256_salt_password", Syntax: "$sha256$pf={SALT}{PASSWORD}$<b64 salt>$<b64 hash>"},
	{Format: "sha256_password_salt", Syntax: "$sha256$pf={PASSWORD}{SALT}$<b64 salt>$<b64 hash>"},
	{Format: "sha512", Syntax: "$sha512$pf={PASSWORD}$$<b64 hash>"},
	{Format: "sha512_salt_password", Syntax: "$sha512$pf={SALT}{PASSWORD}$<b64 salt>$<b64 hash>"},
	{Format: "sha512_password_salt", Syntax: "$sha512$pf={PASSWORD}{SALT}$<b64 salt>$<b64 hash>"},
	{Format: "recipe", Syntax: "$<alg>$pf=<template>$<b64 salt>$<b64 hash> for one md5/sha1/sha256/sha512 over salt, password and literals; $hmac-<alg>$<b64 hex MAC>$<b64 key> for hmac_<alg>(key, password)",
		Reason: "other recipes (nested digests, hex(), upper()...) have no Kratos form"},
}

// Table returns the translation table: for each legacy format cutover verifies, the
// Kratos syntax its hashes become, or why they cannot be imported.
func Table() []Rule {
	out := make([]Rule, len(rules))
	copy(out, rules)
	return out
}

// RuleFor returns the rule of a format name; ok is false for a name cutover does not know.
func RuleFor(format string) (Rule, bool) {
	if strings.HasPrefix(format, "recipe:") {
		format = "recipe"
	}
	for _, r := range rules {
		if r.Format == format {
			return r, true
		}
	}
	return Rule{}, false
}

// Translator rewrites legacy hashes into Kratos's syntax. It is safe for concurrent use.
type Translator struct {
	v        *passwords.Verifier
	firebase *passwords.FirebaseConfig
	key      []byte // the plan's password_key, for hmac recipes
}

// NewTranslator returns a Translator; opts are the plan's password options (the
// Firebase hash config is needed for Firebase users, and is checked here).
func NewTranslator(opts passwords.Options) (*Translator, error) {
	v, err := passwords.New(opts)
	if err != nil {
		return nil, err
	}
	return &Translator{v: v, firebase: opts.Firebase, key: append([]byte(nil), opts.Key...)}, nil
}

// Translate returns the hash to import into Kratos for s, and the format it was read
// as. The error is a *strategies.Error: CodeUnsupportedHash when the format cannot be
// expressed in Kratos's syntax (the message says why and what to do), or the
// passwords package's error when the hash is not recognised or malformed. The hash
// itself never appears in an error.
//
// A shape two formats share (a bare salted digest: salt+password or password+salt?)
// is refused: guessing would import hashes that never verify. Name the format in the plan.
func (t *Translator) Translate(s passwords.Stored) (hash, format string, err error) {
	all, err := t.v.DetectAll(s)
	if err != nil {
		return "", "", err
	}
	d := all[0]
	if len(all) > 1 && all[1].Confidence == d.Confidence && !sameDigest(d.Format, all[1].Format) {
		return "", d.Format, &strategies.Error{Code: strategies.CodeUnsupportedHash, Field: "password_format",
			Message: fmt.Sprintf("the hash could be %s or %s, which Kratos verifies differently; set password_format in the plan", d.Format, all[1].Format)}
	}
	if d.Format == "recipe" {
		expr := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s.Format), "recipe:"))
		h, err := convRecipe(t, s, expr)
		if err != nil {
			return "", "recipe", err
		}
		if err := CheckHash(h); err != nil {
			return "", "recipe", fmt.Errorf("translate recipe hash for kratos: %w", err)
		}
		return h, "recipe", nil
	}
	conv, ok := converters[d.Format]
	if !ok {
		return "", d.Format, notImportable(d.Format)
	}
	h, err := conv(t, s)
	if err != nil {
		return "", d.Format, err
	}
	// What we produce must pass the same checks as what Kratos would decode; a
	// failure here is a bug in a converter, caught before a batch carries it.
	if err := CheckHash(h); err != nil {
		return "", d.Format, fmt.Errorf("translate %s hash for kratos: %w", d.Format, err)
	}
	return h, d.Format, nil
}

// sameDigest reports whether two formats that detection cannot tell apart compute
// the same thing, so either translation verifies (Django's unsalted md5 is plain md5).
func sameDigest(a, b string) bool {
	pair := a + "|" + b
	return pair == "md5|django_unsalted_md5" || pair == "django_unsalted_md5|md5"
}

func notImportable(format string) error {
	r, _ := RuleFor(format)
	return &strategies.Error{Code: strategies.CodeUnsupportedHash, Field: "password_hash",
		Message: fmt.Sprintf("%s hashes cannot be imported into Kratos (%s); move these users with the lazy strategy, or without a password and a reset", format, r.Reason)}
}

func convErr(format, msg string, args ...any) error {
	return &strategies.Error{Code: strategies.CodeMalformedHash, Field: "password_hash",
		Message: format + " hash: " + fmt.Sprintf(msg, args...), Err: passwords.ErrMalformedHash}
}

type converter func(t *Translator, s passwords.Stored) (string, error)

// converters holds one function per importable format. The hash has already been
// recognised (and parsed) by the passwords package, so these only rewrite it; their
// own checks guard against a shape the detector accepts more loosely than Kratos.
var converters = map[string]converter{
	"bcrypt": func(_ *Translator, s passwords.Stored) (string, error) { return s.Hash, nil },
	"django_bcrypt": func(_ *Translator, s passwords.Stored) (string, error) {
		return strings.TrimPrefix(s.Hash, "bcrypt$"), nil
	},
	"argon2id": func(_ *Translator, s passwords.Stored) (string, error) { return argon2PHC("argon2id", s.Hash) },
	"argon2i":  func(_ *Translator, s passwords.Stored) (string, error) { return argon2PHC("argon2i", s.Hash) },
	"django_argon2": func(_ *Translator, s passwords.Stored) (string, error) {
		return argon2PHC("django_argon2", strings.TrimPrefix(s.Hash, "argon2"))
	},
	"scrypt":               convScrypt,
	"pbkdf2_sha256":        passlibPBKDF2("pbkdf2_sha256", "$pbkdf2-sha256$", "sha256"),
	"pbkdf2_sha512":        passlibPBKDF2("pbkdf2_sha512", "$pbkdf2-sha512$", "sha512"),
	"pbkdf2_sha1":          passlibPBKDF2("pbkdf2_sha1", "$pbkdf2$", "sha1"),
	"django_pbkdf2_sha256": djangoPBKDF2("django_pbkdf2_sha256", "pbkdf2_sha256$", "sha256"),
	"django_pbkdf2_sha1":   djangoPBKDF2("django_pbkdf2_sha1", "pbkdf2_sha1$", "sha1"),
	"md5_crypt":            cryptRename("$1$", "$md5-crypt$"),
	"sha256_crypt":         cryptRename("$5$", "$sha256-crypt$"),
	"sha512_crypt":         cryptRename("$6$", "$sha512-crypt$"),
	"ldap_crypt":           convLDAPCrypt,
	"ldap_ssha":            ldapSalted("{SSHA}", sha1.Size),
	"ldap_ssha256":         ldapSalted("{SSHA256}", sha256.Size),
	"ldap_ssha512":         ldapSalted("{SSHA512}", sha512.Size),
	"ldap_sha":             ldapPlain("ldap_sha", "{SHA}", "sha1", sha1.Size),
	"ldap_md5":             ldapPlain("ldap_md5", "{MD5}", "md5", md5.Size),
	"ldap_smd5":            convLDAPSMD5,
	"firebase_scrypt":      convFirebase,
	"django_md5":           djangoSalted("django_md5", "md5$", "md5", md5.Size),
	"django_sha1":          djangoSalted("django_sha1", "sha1$", "sha1", sha1.Size),
	"django_unsalted_md5":  djangoUnsalted("django_unsalted_md5", "md5$$", "md5", md5.Size),
	"django_unsalted_sha1": djangoUnsalted("django_unsalted_sha1", "sha1$$", "sha1", sha1.Size),
}

func init() {
	// The bare digests: <alg>, <alg>_salt_password, <alg>_password_salt.
	for _, a := range []struct {
		name string
		size int
	}{{"md5", md5.Size}, {"sha1", sha1.Size}, {"sha256", sha256.Size}, {"sha512", sha512.Size}} {
		converters[a.name] = bareDigest(a.name, a.name, a.size, "{PASSWORD}")
		converters[a.name+"_salt_password"] = bareDigest(a.name+"_salt_password", a.name, a.size, "{SALT}{PASSWORD}")
		converters[a.name+"_password_salt"] = bareDigest(a.name+"_password_salt", a.name, a.size, "{PASSWORD}{SALT}")
	}
}

var (
	std = base64.StdEncoding
	raw = base64.RawStdEncoding
)

// argon2PHC re-emits a PHC argon2 string in the exact shape Kratos decodes: v=19,
// parameters in the order m,t,p, salt and hash in unpadded standard base64.
func argon2PHC(format, h string) (string, error) {
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[0] != "" || (parts[1] != "argon2id" && parts[1] != "argon2i") {
		return "", convErr(format, "expected $argon2id$v=19$m=..,t=..,p=..$salt$hash")
	}
	if parts[2] != "v=19" {
		return "", &strategies.Error{Code: strategies.CodeUnsupportedHash, Field: "password_hash",
			Message: format + " hash: Kratos verifies argon2 version 19 (v=19) only; move these users with the lazy strategy"}
	}
	var m, t, p int
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return "", convErr(format, "parameter %q is not key=positive-number", k)
		}
		switch k {
		case "m":
			m = n
		case "t":
			t = n
		case "p":
			p = n
		default:
			// keyid= or data= carry material Kratos ignores; verifying without it would differ.
			return "", &strategies.Error{Code: strategies.CodeUnsupportedHash, Field: "password_hash",
				Message: format + " hash: parameter " + k + " is not supported by Kratos; move these users with the lazy strategy"}
		}
	}
	if m == 0 || t == 0 || p == 0 {
		return "", convErr(format, "parameters need m, t and p")
	}
	salt, err1 := b64loose(parts[4])
	key, err2 := b64loose(parts[5])
	if err1 != nil || err2 != nil {
		return "", convErr(format, "the salt or hash is not base64")
	}
	return fmt.Sprintf("$%s$v=19$m=%d,t=%d,p=%d$%s$%s", parts[1], m, t, p, raw.EncodeToString(salt), raw.EncodeToString(key)), nil
}

// convScrypt rewrites passlib's scrypt: its ln is log2(N), Kratos's "ln" is N itself,
// and Kratos wants padded standard base64.
func convScrypt(_ *Translator, s passwords.Stored) (string, error) {
	parts := strings.Split(s.Hash, "$")
	if len(parts) != 5 || parts[1] != "scrypt" {
		return "", convErr("scrypt", "expected $scrypt$ln=..,r=..,p=..$salt$hash")
	}
	var ln, r, p int
	for _, kv := range strings.Split(parts[2], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return "", convErr("scrypt", "parameter %q is not key=positive-number", k)
		}
		switch k {
		case "ln":
			ln = n
		case "r":
			r = n
		case "p":
			p = n
		}
	}
	if ln < 1 || ln > 30 || r == 0 || p == 0 {
		return "", convErr("scrypt", "parameters need ln (1..30), r and p")
	}
	salt, err1 := ab64(parts[3])
	key, err2 := ab64(parts[4])
	if err1 != nil || err2 != nil {
		return "", convErr("scrypt", "the salt or hash is not base64")
	}
	return fmt.Sprintf("$scrypt$ln=%d,r=%d,p=%d$%s$%s", 1<<ln, r, p, std.EncodeToString(salt), std.EncodeToString(key)), nil
}

// passlibPBKDF2 rewrites passlib's "$pbkdf2-sha256$rounds$ab64salt$ab64hash". Kept
// as is it passes Kratos's import check (the prefix matches) and then fails every
// sign-in, since Kratos reads "i=..,l=.." and unpadded standard base64.
func passlibPBKDF2(format, prefix, alg string) converter {
	return func(_ *Translator, s passwords.Stored) (string, error) {
		parts := strings.Split(strings.TrimPrefix(s.Hash, prefix), "$")
		if len(parts) != 3 {
			return "", convErr(format, "expected %srounds$salt$hash", prefix)
		}
		iter, err := strconv.Atoi(parts[0])
		if err != nil || iter < 1 {
			return "", convErr(format, "the rounds are not a positive number")
		}
		salt, err1 := ab64(parts[1])
		key, err2 := ab64(parts[2])
		if err1 != nil || err2 != nil {
			return "", convErr(format, "the salt or hash is not adapted base64")
		}
		return kratosPBKDF2(alg, iter, salt, key), nil
	}
}

// djangoPBKDF2 rewrites Django's "pbkdf2_sha256$iterations$salt$b64hash": Django uses
// the salt's characters as the salt bytes, so they are base64-encoded for Kratos.
func djangoPBKDF2(format, prefix, alg string) converter {
	return func(_ *Translator, s passwords.Stored) (string, error) {
		parts := strings.Split(strings.TrimPrefix(s.Hash, prefix), "$")
		if len(parts) != 3 {
			return "", convErr(format, "expected %siterations$salt$hash", prefix)
		}
		iter, err := strconv.Atoi(parts[0])
		if err != nil || iter < 1 {
			return "", convErr(format, "the iterations are not a positive number")
		}
		key, err := std.DecodeString(parts[2])
		if err != nil {
			return "", convErr(format, "the hash is not base64")
		}
		return kratosPBKDF2(alg, iter, []byte(parts[1]), key), nil
	}
}

func kratosPBKDF2(alg string, iter int, salt, key []byte) string {
	return fmt.Sprintf("$pbkdf2-%s$i=%d,l=%d$%s$%s", alg, iter, len(key), raw.EncodeToString(salt), raw.EncodeToString(key))
}

// cryptRename turns a crypt(3) string into Kratos's name for it: Kratos matches
// "$md5-crypt$", "$sha256-crypt$", "$sha512-crypt$" and puts "$1", "$5", "$6" back
// before handing the rest to go-crypt.
func cryptRename(from, to string) converter {
	return func(_ *Translator, s passwords.Stored) (string, error) {
		rest, ok := strings.CutPrefix(s.Hash, from)
		if !ok {
			return "", convErr("crypt", "expected it to start with %s", from)
		}
		return to + rest, nil
	}
}

// convLDAPCrypt translates the crypt(3) string inside "{CRYPT}".
func convLDAPCrypt(t *Translator, s passwords.Stored) (string, error) {
	inner := passwords.Stored{Hash: s.Hash[len("{CRYPT}"):]}
	switch h := inner.Hash; {
	case strings.HasPrefix(h, "$1$"):
		return cryptRename("$1$", "$md5-crypt$")(t, inner)
	case strings.HasPrefix(h, "$5$"):
		return cryptRename("$5$", "$sha256-crypt$")(t, inner)
	case strings.HasPrefix(h, "$6$"):
		return cryptRename("$6$", "$sha512-crypt$")(t, inner)
	case strings.HasPrefix(h, "$2"):
		return h, nil
	}
	return "", notImportable("ldap_crypt")
}

// ldapSalted keeps {SSHA}, {SSHA256}, {SSHA512} as they are, with the prefix in the
// upper case Kratos matches (LDAP itself ignores its case).
func ldapSalted(prefix string, size int) converter {
	return func(_ *Translator, s passwords.Stored) (string, error) {
		body := s.Hash[len(prefix):]
		b, err := std.DecodeString(body)
		if err != nil || len(b) <= size {
			return "", convErr(strings.ToLower(strings.Trim(prefix, "{}")), "expected base64 of a %d-byte digest and a salt", size)
		}
		return prefix + std.EncodeToString(b), nil
	}
}

// ldapPlain rewrites unsalted {SHA} and {MD5}, which Kratos does not match, into its
// $sha1$ template form and plain $md5$.
func ldapPlain(format, prefix, alg string, size int) converter {
	return func(_ *Translator, s passwords.Stored) (string, error) {
		sum, err := std.DecodeString(s.Hash[len(prefix):])
		if err != nil || len(sum) != size {
			return "", convErr(format, "expected base64 of a %d-byte digest", size)
		}
		return digestHash(alg, "{PASSWORD}", nil, sum), nil
	}
}

// convLDAPSMD5 rewrites {SMD5}, md5(password+salt) then the salt, into Kratos's
// salted $md5$ form.
func convLDAPSMD5(_ *Translator, s passwords.Stored) (string, error) {
	b, err := std.DecodeString(s.Hash[len("{SMD5}"):])
	if err != nil || len(b) <= md5.Size {
		return "", convErr("ldap_smd5", "expected base64 of a 16-byte digest and a salt")
	}
	return digestHash("md5", "{PASSWORD}{SALT}", b[md5.Size:], b[:md5.Size]), nil
}

// djangoSalted rewrites Django's "md5$salt$hex" and "sha1$salt$hex", digest(salt +
// password), into Kratos's template form.
func djangoSalted(format, prefix, alg string, size int) converter {
	return func(_ *Translator, s passwords.Stored) (string, error) {
		salt, hexSum, ok := strings.Cut(strings.TrimPrefix(s.Hash, prefix), "$")
		sum, err := hex.DecodeString(hexSum)
		if !ok || salt == "" || err != nil || len(sum) != size {
			return "", convErr(format, "expected %ssalt$hex", prefix)
		}
		return digestHash(alg, "{SALT}{PASSWORD}", []byte(salt), sum), nil
	}
}

// djangoUnsalted rewrites "md5$$hex" (or a bare hex md5) and "sha1$$hex".
func djangoUnsalted(format, prefix, alg string, size int) converter {
	return func(_ *Translator, s passwords.Stored) (string, error) {
		sum, err := hex.DecodeString(strings.TrimPrefix(s.Hash, prefix))
		if err != nil || len(sum) != size {
			return "", convErr(format, "expected %shex", prefix)
		}
		return digestHash(alg, "{PASSWORD}", nil, sum), nil
	}
}

// bareDigest rewrites a hex or base64 digest, with the salt from its own column,
// into Kratos's template form.
func bareDigest(format, alg string, size int, pf string) converter {
	return func(_ *Translator, s passwords.Stored) (string, error) {
		sum := decodeDigest(s.Hash, size)
		if sum == nil {
			return "", convErr(format, "expected %d hex characters or base64 of %d bytes", 2*size, size)
		}
		var salt []byte
		if pf != "{PASSWORD}" {
			if s.Salt == "" {
				return "", convErr(format, "this format needs a salt; map the salt column (password_salt) in the plan")
			}
			salt = []byte(s.Salt)
		}
		return digestHash(alg, pf, salt, sum), nil
	}
}

// digestHash writes a single-round digest the way Kratos reads it. md5 of the password
// alone is "$md5$<b64>"; everything else is "$<alg>$pf=<b64 template>$<b64 salt>$<b64
// hash>", where the template places {SALT} and {PASSWORD} (an empty salt is allowed).
func digestHash(alg, pf string, salt, sum []byte) string {
	if alg == "md5" && pf == "{PASSWORD}" {
		return "$md5$" + std.EncodeToString(sum)
	}
	return "$" + alg + "$pf=" + std.EncodeToString([]byte(pf)) + "$" + std.EncodeToString(salt) + "$" + std.EncodeToString(sum)
}

// convFirebase packs a Firebase export's hash and salt with the project's hash config
// into Kratos's $firescrypt$ form: ln is Firebase's mem_cost, r its rounds.
func convFirebase(t *Translator, s passwords.Stored) (string, error) {
	cfg := t.firebase
	if cfg == nil {
		return "", notImportable("firebase_scrypt")
	}
	hash, err1 := std.DecodeString(s.Hash)
	salt, err2 := std.DecodeString(s.Salt)
	sep, err3 := std.DecodeString(cfg.SaltSeparator)
	signer, err4 := std.DecodeString(cfg.SignerKey)
	if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
		return "", convErr("firebase_scrypt", "the hash, salt or hash config is not standard base64")
	}
	return fmt.Sprintf("$firescrypt$ln=%d,r=%d,p=1$%s$%s$%s$%s", cfg.MemCost, cfg.Rounds,
		std.EncodeToString(salt), std.EncodeToString(hash), std.EncodeToString(sep), std.EncodeToString(signer)), nil
}

// decodeDigest reads a size-byte digest as hex (either case) or base64 (padded or
// not); nil when it is neither.
func decodeDigest(s string, size int) []byte {
	if len(s) == 2*size {
		if b, err := hex.DecodeString(s); err == nil {
			return b
		}
	}
	if b, err := b64loose(s); err == nil && len(b) == size {
		return b
	}
	return nil
}

// b64loose decodes standard base64 with or without padding.
func b64loose(s string) ([]byte, error) {
	return raw.DecodeString(strings.TrimRight(s, "="))
}

// ab64 decodes passlib's adapted base64 ("." for "+", no padding).
func ab64(s string) ([]byte, error) {
	return b64loose(strings.ReplaceAll(s, ".", "+"))
}

// ForUser returns the password credential of a canonical user for Kratos: nil when
// the user has no usable password (none mapped, or an unusable marker such as Django's
// "!..."), the translated hash otherwise, or Translate's error when it cannot travel
// (the caller decides: the user without a password, or the lazy strategy).
func (t *Translator) ForUser(u *strategies.User) (*Password, error) {
	if u.PasswordHash == "" || passwords.Unusable(u.PasswordHash) {
		return nil, nil
	}
	h, _, err := t.Translate(passwords.Stored{Hash: u.PasswordHash, Salt: u.PasswordSalt, Format: u.PasswordFormat})
	if err != nil {
		var se *strategies.Error
		if errors.As(err, &se) && se.Row == 0 {
			se.Row, se.Line = u.Row, u.Line
		}
		return nil, err
	}
	return &Password{Hash: h}, nil
}
