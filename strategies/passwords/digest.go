package passwords

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strconv"
)

// digestFormats: a bare message digest, hex or base64, of the password alone (md5,
// sha1, sha256, sha512) or with a salt from another column, in either order
// (<alg>_salt_password is H(salt + password), <alg>_password_salt is H(password + salt)).
// All are weak: fast to brute-force once leaked.
func digestFormats() []format {
	var out []format
	for _, a := range []struct {
		name string
		new  func() hash.Hash
	}{{"md5", md5.New}, {"sha1", sha1.New}, {"sha256", sha256.New}, {"sha512", sha512.New}} {
		out = append(out,
			// Registration order matters: at equal confidence, salt+password comes before
			// password+salt, the documented default that Verify tries first.
			digestFormat(a.name, a.name, a.new, 0),
			digestFormat(a.name+"_salt_password", a.name, a.new, saltFirst),
			digestFormat(a.name+"_password_salt", a.name, a.new, saltLast),
		)
	}
	return out
}

// Where a salt column goes relative to the password; 0 means unsalted.
const (
	saltFirst = 1
	saltLast  = 2
)

// digestFormat builds one bare-digest format. Its confidence depends on whether the
// row has a salt: the same 64 hex characters may be sha256(password) or
// sha256(salt + password), and only the plan or the salt column can tell.
func digestFormat(name, alg string, newHash func() hash.Hash, saltOrder int) format {
	size := newHash().Size()
	doc := "hex or base64 " + alg + "(password)"
	switch saltOrder {
	case saltFirst:
		doc = "hex or base64 " + alg + "(salt + password), salt in its own column"
	case saltLast:
		doc = "hex or base64 " + alg + "(password + salt), salt in its own column"
	}
	parse := func(s Stored) ([]byte, string, error) {
		sum, enc := decodeDigest(s.Hash, size)
		if sum == nil {
			return nil, "", malformed(name, "expected %d hex characters or base64 of %d bytes", 2*size, size)
		}
		// Without its salt a salted format would compare against H(password) and fail every
		// user quietly: one clear message per row is better.
		if saltOrder != 0 && s.Salt == "" {
			return nil, "", malformed(name, "this format needs a salt; map the salt column (password_salt) in the plan")
		}
		return sum, enc, nil
	}
	f := format{
		name: name, family: "digest", weak: true, doc: doc,
		sniff_: func(_ *Verifier, s Stored) float64 {
			if sum, _ := decodeDigest(s.Hash, size); sum == nil {
				return 0
			}
			switch {
			case saltOrder == 0 && s.Salt == "":
				return 0.9 // or a recipe nobody told us about
			case saltOrder == 0:
				return 0.2 // a salt column suggests the salt was used
			case s.Salt != "":
				return 0.5 // salt+password and password+salt look the same
			}
			return 0
		},
		parse: func(_ *Verifier, s Stored) (map[string]string, error) {
			_, enc, err := parse(s)
			if err != nil {
				return nil, err
			}
			p := map[string]string{"encoding": enc}
			if saltOrder != 0 {
				p["salt_length"] = strconv.Itoa(len(s.Salt))
			}
			return p, nil
		},
		verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
			sum, _, err := parse(s)
			if err != nil {
				return false, err
			}
			d := newHash()
			if saltOrder == saltFirst {
				d.Write([]byte(s.Salt))
			}
			d.Write([]byte(pw))
			if saltOrder == saltLast {
				d.Write([]byte(s.Salt))
			}
			return equal(d.Sum(nil), sum), nil
		},
	}
	// Only one digest format can be produced: the demo database needs one example of
	// the family, and producing more would invite new weak hashes.
	if alg == "sha256" && saltOrder == saltFirst {
		f.hash = func(pw string) (Stored, error) {
			salt := randomSalt(8)
			sum := sha256.Sum256([]byte(salt + pw))
			return Stored{Hash: hex.EncodeToString(sum[:]), Salt: salt}, nil
		}
	}
	return f
}

// decodeDigest reads a size-byte digest written as hex (either case) or standard
// base64 (with or without padding); it returns nil when s is neither.
func decodeDigest(s string, size int) ([]byte, string) {
	if len(s) == 2*size {
		if b, err := hex.DecodeString(s); err == nil {
			return b, "hex"
		}
	}
	// Some apps store base64 digests (PHP's base64_encode(sha1($pw, true))): padded or
	// not, the decoded length must be exactly the digest's.
	if len(s) == base64.StdEncoding.EncodedLen(size) || len(s) == base64.RawStdEncoding.EncodedLen(size) {
		if b, err := b64any(s); err == nil && len(b) == size {
			return b, "base64"
		}
	}
	return nil, ""
}
