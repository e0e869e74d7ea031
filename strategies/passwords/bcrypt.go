package passwords

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// bcryptFormats: plain bcrypt and the wrappers PHP/Django/WordPress put around it.
func bcryptFormats() []format {
	return []format{
		{
			// "$2" alone claims every bcrypt variant, so that $2x$ or a corrupt $2q$ is reported
			// as a bcrypt problem rather than as an unknown value.
			name: "bcrypt", family: "bcrypt", authgear: true,
			doc:    "$2a$/$2b$/$2y$ + 2-digit cost + 53 characters (PHP password_hash, Go, Node, Ruby...)",
			prefix: "$2", // narrowed by parseBcrypt
			parse:  func(_ *Verifier, s Stored) (map[string]string, error) { return parseBcrypt("bcrypt", s.Hash) },
			verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
				return verifyBcrypt("bcrypt", s.Hash, []byte(pw))
			},
			hash: func(pw string) (Stored, error) {
				h, err := bcrypt.GenerateFromPassword(truncate72([]byte(pw)), bcrypt.DefaultCost)
				return Stored{Hash: string(h)}, err
			},
		},
		{
			name: "django_bcrypt", family: "django", authgear: true,
			doc:    "bcrypt$ + a plain bcrypt hash (Django BCryptPasswordHasher); imported as plain bcrypt",
			prefix: "bcrypt$",
			parse: func(_ *Verifier, s Stored) (map[string]string, error) {
				return parseBcrypt("django_bcrypt", strings.TrimPrefix(s.Hash, "bcrypt$"))
			},
			verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
				return verifyBcrypt("django_bcrypt", strings.TrimPrefix(s.Hash, "bcrypt$"), []byte(pw))
			},
			toBcrypt: func(h string) string { return strings.TrimPrefix(h, "bcrypt$") },
			hash: func(pw string) (Stored, error) {
				h, err := bcrypt.GenerateFromPassword(truncate72([]byte(pw)), bcrypt.DefaultCost)
				return Stored{Hash: "bcrypt$" + string(h)}, err
			},
		},
		{
			name: "django_bcrypt_sha256", family: "django",
			doc:    "bcrypt_sha256$ + bcrypt over hex(sha256(password)) (Django BCryptSHA256PasswordHasher); Authgear cannot import it",
			prefix: "bcrypt_sha256$",
			parse: func(_ *Verifier, s Stored) (map[string]string, error) {
				return parseBcrypt("django_bcrypt_sha256", strings.TrimPrefix(s.Hash, "bcrypt_sha256$"))
			},
			verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
				// Django pre-hashes so that passwords over bcrypt's 72 bytes count in full: the
				// 64-character hex digest is what bcrypt sees.
				sum := sha256.Sum256([]byte(pw))
				return verifyBcrypt("django_bcrypt_sha256", strings.TrimPrefix(s.Hash, "bcrypt_sha256$"), []byte(hex.EncodeToString(sum[:])))
			},
		},
		{
			name: "wordpress_bcrypt", family: "wordpress",
			doc:    "$wp$2y$ + bcrypt over base64(HMAC-SHA384 keyed \"wp-sha384\") (WordPress 6.8+); Authgear cannot import it",
			prefix: "$wp$",
			parse: func(_ *Verifier, s Stored) (map[string]string, error) {
				// WordPress puts "$wp" before a plain "$2y$..." string: trimming it leaves bcrypt.
				return parseBcrypt("wordpress_bcrypt", strings.TrimPrefix(s.Hash, "$wp"))
			},
			verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
				return verifyBcrypt("wordpress_bcrypt", strings.TrimPrefix(s.Hash, "$wp"), wordpressPrehash(pw))
			},
		},
	}
}

// wordpressPrehash is what WordPress 6.8's wp_check_password feeds to bcrypt.
func wordpressPrehash(pw string) []byte {
	m := hmac.New(sha512.New384, []byte("wp-sha384"))
	m.Write([]byte(pw))
	return []byte(base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

// bcryptAlphabet is bcrypt's own base64 alphabet (not RFC 4648's). Checking it here
// turns a corrupt row into a message with a position instead of a library error.
const bcryptAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// parseBcrypt checks "$2?$cc$<22 salt><31 hash>" and the cost cap.
func parseBcrypt(name, h string) (map[string]string, error) {
	if len(h) < 4 || h[0] != '$' || h[1] != '2' || h[3] != '$' {
		return nil, malformed(name, "expected $2a$, $2b$ or $2y$ followed by a two-digit cost")
	}
	switch h[2] {
	case 'a', 'b', 'y':
	case 'x':
		return nil, unsupported(name, "$2x$ is PHP's bug-compatible variant for the pre-2011 8-bit bug; rehash those users or use the lazy strategy with a reset")
	default:
		return nil, malformed(name, "unknown bcrypt variant: the character after $2 is not a, b or y (expected $2a$, $2b$ or $2y$)")
	}
	// Truncation is the usual corruption (VARCHAR(50) columns), so the length gets its
	// own message before the finer checks.
	if len(h) != 60 || h[6] != '$' {
		return nil, malformed(name, "a bcrypt hash is 60 characters ($2b$cc$ + 53), got %d; check the column is not truncated (e.g. VARCHAR(50))", len(h))
	}
	cost, err := strconv.Atoi(h[4:6])
	if err != nil {
		return nil, malformed(name, "the cost (characters 5 and 6) is not a two-digit number")
	}
	if cost < bcrypt.MinCost || cost > MaxBcryptCost {
		return nil, malformed(name, "cost %d is outside the accepted %d..%d (the cap keeps one hostile row from taking minutes)", cost, bcrypt.MinCost, MaxBcryptCost)
	}
	for i := 7; i < len(h); i++ {
		if !strings.ContainsRune(bcryptAlphabet, rune(h[i])) {
			return nil, malformed(name, "character %d is not in bcrypt's base64 alphabet", i+1)
		}
	}
	// The salt is always 16 bytes (22 characters): only the variant and cost vary.
	return map[string]string{"variant": h[1:3], "cost": strconv.Itoa(cost), "salt_length": "16"}, nil
}

// verifyBcrypt checks pw against a plain bcrypt string. Like PHP, passlib and the C
// library, it uses only the first 72 bytes of the password.
func verifyBcrypt(name, h string, pw []byte) (bool, error) {
	if _, err := parseBcrypt(name, h); err != nil {
		return false, err
	}
	// parseBcrypt ran first so that the cost cap applies before bcrypt spends 2^cost
	// rounds, and so that corrupt rows get positions rather than library messages.
	err := bcrypt.CompareHashAndPassword([]byte(h), truncate72(pw))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
		return false, nil
	}
	return false, refused(name, err)
}

// truncate72 drops what bcrypt never reads. x/crypto refuses to hash longer passwords
// where PHP and passlib silently ignore the rest: the legacy users signed in with the
// long form, so it must keep matching.
func truncate72(pw []byte) []byte {
	if len(pw) > 72 {
		return pw[:72]
	}
	return pw
}
