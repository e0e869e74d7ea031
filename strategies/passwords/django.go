package passwords

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"encoding/hex"
	"hash"
	"strings"
)

// djangoFormats: Django's legacy digest hashers (its pbkdf2, argon2 and bcrypt
// hashers live with their families).
func djangoFormats() []format {
	return []format{
		djangoDigest("django_md5", "md5$", md5.New, true, "md5$salt$hex(md5(salt + password)) (Django MD5PasswordHasher)"),
		djangoDigest("django_sha1", "sha1$", sha1.New, true, "sha1$salt$hex(sha1(salt + password)) (Django SHA1PasswordHasher)"),
		djangoDigest("django_unsalted_md5", "md5$$", md5.New, false, "md5$$hex or a bare 32-character hex md5 (Django UnsaltedMD5PasswordHasher)"),
		djangoDigest("django_unsalted_sha1", "sha1$$", sha1.New, false, "sha1$$hex(sha1(password)) (Django UnsaltedSHA1PasswordHasher)"),
	}
}

// djangoDigest builds one of Django's digest formats, written algorithm$salt$hex. The
// unsalted ones keep an empty salt field ("md5$$hex"), which is why their prefixes
// are the longer ones and win over the salted formats'.
func djangoDigest(name, prefix string, newHash func() hash.Hash, salted bool, doc string) format {
	size := newHash().Size()
	parse := func(s Stored) (salt string, sum []byte, err error) {
		h := s.Hash
		// Django's UnsaltedMD5PasswordHasher also accepts a bare 32-character hex digest
		// (what very old Django stored): it is read as if prefixed.
		if name == "django_unsalted_md5" && len(h) == 2*size { // the bare form
			h = prefix + h
		}
		rest, ok := strings.CutPrefix(h, prefix)
		if !ok {
			return "", nil, malformed(name, "expected it to start with %q", prefix)
		}
		if salted {
			var found bool
			if salt, rest, found = strings.Cut(rest, "$"); !found || salt == "" {
				return "", nil, malformed(name, "expected %ssalt$hex", prefix)
			}
		}
		sum, err = hex.DecodeString(rest)
		if err != nil || len(sum) != size {
			return "", nil, malformed(name, "the digest is not %d hex characters", 2*size)
		}
		return salt, sum, nil
	}
	f := format{
		name: name, family: "django", prefix: prefix, weak: true, doc: doc,
		parse: func(_ *Verifier, s Stored) (map[string]string, error) {
			salt, _, err := parse(s)
			if err != nil {
				return nil, err
			}
			if salted {
				return map[string]string{"salt_length": itoa(len(salt))}, nil
			}
			return map[string]string{}, nil
		},
		verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
			salt, sum, err := parse(s)
			if err != nil {
				return false, err
			}
			// Django's salted digests are H(salt + password); unsalted ones have an empty salt.
			d := newHash()
			d.Write([]byte(salt))
			d.Write([]byte(pw))
			return equal(d.Sum(nil), sum), nil
		},
	}
	if name == "django_unsalted_md5" {
		// The bare form is indistinguishable from a plain md5 (same algorithm too).
		// 0.8, below a plain md5's 0.9: both verify alike, and reports should name the
		// plainer format.
		f.sniff_ = func(_ *Verifier, s Stored) float64 {
			if s.Salt == "" && len(s.Hash) == 2*size {
				if _, err := hex.DecodeString(s.Hash); err == nil {
					return 0.8
				}
			}
			return 0
		}
	}
	return f
}
