package passwords

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
)

// pbkdf2Formats: passlib's "$pbkdf2-sha256$rounds$salt$hash" (adapted base64) and
// Django's "pbkdf2_sha256$iterations$salt$base64" (plain-text salt).
func pbkdf2Formats() []format {
	return []format{
		passlibPBKDF2("pbkdf2_sha256", "$pbkdf2-sha256$", sha256.New),
		passlibPBKDF2("pbkdf2_sha512", "$pbkdf2-sha512$", sha512.New),
		passlibPBKDF2("pbkdf2_sha1", "$pbkdf2$", sha1.New),
		djangoPBKDF2("django_pbkdf2_sha256", "pbkdf2_sha256$", sha256.New),
		djangoPBKDF2("django_pbkdf2_sha1", "pbkdf2_sha1$", sha1.New),
	}
}

// pbkdf2Hash is a decoded PBKDF2 hash: the iteration count, the salt as the bytes the
// derivation takes, and the expected key, whose length sets the derived key's.
type pbkdf2Hash struct {
	iter      int
	salt, key []byte
}

// passlibPBKDF2 reads passlib's form, where salt and key are both adapted base64
// ("." for "+", no padding).
func passlibPBKDF2(name, prefix string, h func() hash.Hash) format {
	parse := func(s Stored) (*pbkdf2Hash, error) {
		parts := strings.Split(strings.TrimPrefix(s.Hash, prefix), "$")
		if len(parts) != 3 {
			return nil, malformed(name, "expected %srounds$salt$hash", prefix)
		}
		p := &pbkdf2Hash{}
		var err error
		if p.iter, err = parseIterations(name, parts[0]); err != nil {
			return nil, err
		}
		if p.salt, err = ab64(parts[1]); err != nil {
			return nil, malformed(name, "the salt is not (adapted) base64")
		}
		if p.key, err = ab64(parts[2]); err != nil || len(p.key) < 4 {
			return nil, malformed(name, "the hash is not (adapted) base64 of at least 4 bytes")
		}
		return p, nil
	}
	return pbkdf2Format(format{name: name, family: "pbkdf2", prefix: prefix,
		doc: prefix + "rounds$salt$hash (passlib, adapted base64)"}, h, parse)
}

// djangoPBKDF2 reads Django's form. Its salt is used as written (text, not decoded),
// which is why Django's salts are plain alphanumerics.
func djangoPBKDF2(name, prefix string, h func() hash.Hash) format {
	parse := func(s Stored) (*pbkdf2Hash, error) {
		parts := strings.Split(strings.TrimPrefix(s.Hash, prefix), "$")
		if len(parts) != 3 {
			return nil, malformed(name, "expected %siterations$salt$hash", prefix)
		}
		p := &pbkdf2Hash{salt: []byte(parts[1])}
		var err error
		if p.iter, err = parseIterations(name, parts[0]); err != nil {
			return nil, err
		}
		if p.key, err = base64.StdEncoding.DecodeString(parts[2]); err != nil || len(p.key) < 4 {
			return nil, malformed(name, "the hash is not base64 of at least 4 bytes")
		}
		return p, nil
	}
	f := pbkdf2Format(format{name: name, family: "django", prefix: prefix,
		doc: prefix + "iterations$salt$base64 (Django)"}, h, parse)
	f.hash = func(pw string) (Stored, error) {
		// 1,000 iterations, not Django's 1,000,000: demo data and rehearsals hash
		// thousands of users, and the format (not the cost) is what they exercise.
		salt := randomSalt(11)
		key, err := pbkdf2.Key(h, pw, []byte(salt), 1000, h().Size())
		return Stored{Hash: prefix + "1000$" + salt + "$" + base64.StdEncoding.EncodeToString(key)}, err
	}
	return f
}

// parseIterations reads a decimal count and applies the cap. The canonical-form check
// (no sign, no leading zeros) keeps one hash from having two spellings.
func parseIterations(name, s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || strconv.Itoa(n) != s {
		return 0, malformed(name, "the iteration count (%s) is not a positive number", describeValue(s))
	}
	if n > MaxPBKDF2Iterations {
		return 0, malformed(name, "%d iterations is above the cap of %d", n, MaxPBKDF2Iterations)
	}
	return n, nil
}

// pbkdf2Format completes f with the parse and verify of a PBKDF2 hash that parse
// decodes: the passlib and Django forms differ only in how they are written.
func pbkdf2Format(f format, h func() hash.Hash, parse func(Stored) (*pbkdf2Hash, error)) format {
	name := f.name
	f.parse = func(_ *Verifier, s Stored) (map[string]string, error) {
		p, err := parse(s)
		if err != nil {
			return nil, err
		}
		return map[string]string{"iterations": strconv.Itoa(p.iter), "salt_length": strconv.Itoa(len(p.salt)), "key_length": strconv.Itoa(len(p.key))}, nil
	}
	f.verify = func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
		p, err := parse(s)
		if err != nil {
			return false, err
		}
		// The derived key is as long as the stored one, whatever length its writer chose.
		got, err := pbkdf2.Key(h, pw, p.salt, p.iter, len(p.key))
		if err != nil {
			// crypto/pbkdf2's messages name its limits (key length, FIPS), never the input.
			return false, malformed(name, "%v", err)
		}
		return equal(got, p.key), nil
	}
	return f
}
