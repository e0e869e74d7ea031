package kratos

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/crypto/pbkdf2"
	"golang.org/x/crypto/scrypt"
)

// kratosCompare is a test-only rewrite of Kratos v1.3.1's hash.Compare
// (hash/hash_comparator.go), written from its source, so the translation tests run
// without a Kratos. Importing github.com/ory/kratos/hash instead would pull Kratos's
// whole module graph (about 300 modules) into go.mod; the real proof is the sign-in at
// a real Kratos (realkratos_test.go). Like Kratos, a decode error is an error, not a
// mismatch: Kratos turns both into a refused sign-in.
func kratosCompare(password, h string) error {
	pw := []byte(password)
	parts := strings.Split(h, "$")
	std := base64.StdEncoding.Strict()
	rawStd := base64.RawStdEncoding.Strict()
	switch {
	case reMD5Crypt.MatchString(h):
		return cryptMatch(md5crypt.Decode, "$1"+strings.TrimPrefix(h, "$md5-crypt"), password)
	case reBcrypt.MatchString(h):
		if len(pw) > 72 {
			return errors.New("password longer than 72 bytes")
		}
		if err := bcrypt.CompareHashAndPassword([]byte(h), pw); err != nil {
			return mismatchOr(err, errors.Is(err, bcrypt.ErrMismatchedHashAndPassword))
		}
		return nil
	case reSHA256Crypt.MatchString(h):
		return cryptMatch(shacrypt.Decode, "$5"+strings.TrimPrefix(h, "$sha256-crypt"), password)
	case reSHA512Crypt.MatchString(h):
		return cryptMatch(shacrypt.Decode, "$6"+strings.TrimPrefix(h, "$sha512-crypt"), password)
	case reArgon2id.MatchString(h), reArgon2i.MatchString(h):
		if len(parts) != 6 {
			return errors.New("invalid hash")
		}
		var v int
		if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
			return errors.New("incompatible version")
		}
		var m, t uint32
		var p uint8
		if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil {
			return err
		}
		salt, err := rawStd.DecodeString(parts[4])
		if err != nil {
			return err
		}
		key, err := rawStd.DecodeString(parts[5])
		if err != nil {
			return err
		}
		var got []byte
		if parts[1] == "argon2id" {
			got = argon2.IDKey(pw, salt, t, m, p, uint32(len(key)))
		} else {
			got = argon2.Key(pw, salt, t, m, p, uint32(len(key)))
		}
		return same(key, got)
	case rePBKDF2.MatchString(h):
		if len(parts) != 5 {
			return errors.New("invalid hash")
		}
		var i, l uint32
		if _, err := fmt.Sscanf(parts[2], "i=%d,l=%d", &i, &l); err != nil {
			return err
		}
		salt, err := rawStd.DecodeString(parts[3])
		if err != nil {
			return err
		}
		key, err := rawStd.DecodeString(parts[4])
		if err != nil {
			return err
		}
		prf := map[string]func() hash.Hash{"sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}[strings.TrimPrefix(parts[1], "pbkdf2-")]
		if prf == nil {
			return errors.New("digest not modelled in this test")
		}
		return same(key, pbkdf2.Key(pw, salt, int(i), len(key), prf))
	case reScrypt.MatchString(h):
		if len(parts) != 5 {
			return errors.New("invalid hash")
		}
		var n, r, p uint32
		if _, err := fmt.Sscanf(parts[2], "ln=%d,r=%d,p=%d", &n, &r, &p); err != nil {
			return err
		}
		salt, err := std.DecodeString(parts[3])
		if err != nil {
			return err
		}
		key, err := std.DecodeString(parts[4])
		if err != nil {
			return err
		}
		got, err := scrypt.Key(pw, salt, int(n), int(r), int(p), len(key))
		if err != nil {
			return err
		}
		return same(key, got)
	case reSSHA.MatchString(h):
		prefix := h[:strings.Index(h, "}")+1]
		alg, size := map[string]string{"{SSHA}": "sha1", "{SSHA256}": "sha256", "{SSHA512}": "sha512"}[prefix], map[string]int{"{SSHA}": 20, "{SSHA256}": 32, "{SSHA512}": 64}[prefix]
		b, err := base64.StdEncoding.DecodeString(h[len(prefix):])
		if err != nil || len(b) < size+1 {
			return errors.New("invalid hash")
		}
		return same(b[:size], digest(alg, append(pw, b[size:]...)))
	case reSHA.MatchString(h):
		if len(parts) != 5 {
			return errors.New("invalid hash")
		}
		pf, salt, key, err := decodePF(parts)
		if err != nil {
			return err
		}
		return same(key, digest(parts[1], fill(pf, salt, pw)))
	case reFirescrypt.MatchString(h):
		if len(parts) != 7 {
			return errors.New("invalid hash")
		}
		var n, r, p uint32
		if _, err := fmt.Sscanf(parts[2], "ln=%d,r=%d,p=%d", &n, &r, &p); err != nil {
			return err
		}
		var f [4][]byte
		for i := range f {
			var err error
			if f[i], err = std.DecodeString(parts[3+i]); err != nil {
				return err
			}
		}
		salt, key, sep, signer := f[0], f[1], f[2], f[3]
		ck, err := scrypt.Key(pw, append(salt, sep...), 1<<n, int(r), int(p), 32)
		if err != nil {
			return err
		}
		block, err := aes.NewCipher(ck)
		if err != nil {
			return err
		}
		out := make([]byte, aes.BlockSize+len(signer))
		cipher.NewCTR(block, out[:aes.BlockSize]).XORKeyStream(out[aes.BlockSize:], signer)
		return same(key, out[aes.BlockSize:])
	case reMD5.MatchString(h):
		switch len(parts) {
		case 3:
			key, err := std.DecodeString(parts[2])
			if err != nil {
				return err
			}
			return same(key, digest("md5", pw))
		case 5:
			pf, salt, key, err := decodePF(parts)
			if err != nil {
				return err
			}
			return same(key, digest("md5", fill(pf, salt, pw)))
		}
		return errors.New("invalid hash")
	case reHMAC.MatchString(h):
		if len(parts) != 4 {
			return errors.New("invalid hash")
		}
		key, err := std.DecodeString(parts[2])
		if err != nil {
			return err
		}
		k, err := std.DecodeString(parts[3])
		if err != nil {
			return err
		}
		alg := strings.TrimPrefix(parts[1], "hmac-")
		newHash := map[string]func() hash.Hash{"md5": md5.New, "sha1": sha1.New, "sha256": sha256.New, "sha512": sha512.New}[alg]
		if newHash == nil {
			return errors.New("digest not modelled in this test")
		}
		m := hmac.New(newHash, k)
		m.Write(pw)
		return same(key, []byte(hex.EncodeToString(m.Sum(nil))))
	}
	return errors.New("unknown hash algorithm")
}

var errMismatch = errors.New("mismatched hash and password")

func mismatchOr(err error, mismatch bool) error {
	if mismatch {
		return errMismatch
	}
	return err
}

func same(want, got []byte) error {
	if subtle.ConstantTimeCompare(want, got) == 1 {
		return nil
	}
	return errMismatch
}

func cryptMatch[D interface{ MatchBytes([]byte) bool }](decode func(string) (D, error), h, password string) error {
	d, err := decode(h)
	if err != nil {
		return err
	}
	if d.MatchBytes([]byte(password)) {
		return nil
	}
	return errMismatch
}

func decodePF(parts []string) (pf, salt, key []byte, err error) {
	std := base64.StdEncoding.Strict()
	var enc string
	if _, err = fmt.Sscanf(parts[2], "pf=%s", &enc); err != nil {
		return
	}
	if pf, err = std.DecodeString(enc); err != nil {
		return
	}
	if salt, err = std.DecodeString(parts[3]); err != nil {
		return
	}
	key, err = std.DecodeString(parts[4])
	return
}

func fill(pf, salt, pw []byte) []byte {
	return []byte(strings.NewReplacer("{SALT}", string(salt), "{PASSWORD}", string(pw)).Replace(string(pf)))
}

func digest(alg string, b []byte) []byte {
	switch alg {
	case "md5":
		s := md5.Sum(b)
		return s[:]
	case "sha1":
		s := sha1.Sum(b)
		return s[:]
	case "sha256":
		s := sha256.Sum256(b)
		return s[:]
	case "sha512":
		s := sha512.Sum512(b)
		return s[:]
	}
	return nil
}
