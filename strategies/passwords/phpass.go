package passwords

import (
	"context"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha512"
	"encoding/hex"
	"hash"
	"strconv"
	"strings"
)

// phpassFormats: the portable phpass hashes of WordPress (before 6.8), phpBB and
// Drupal 7 ($S$, and U$S$ for md5 hashes Drupal 7 upgraded from Drupal 6).
func phpassFormats() []format {
	return []format{phpassFormat(), drupal7Format()}
}

// phpassFormat is the portable phpass hash of WordPress and phpBB3 ($P$ and $H$).
func phpassFormat() format {
	return format{
		name: "phpass", family: "phpass", weak: true,
		doc:    "$P$ or $H$ + count char + 8-char salt + 22 chars (WordPress < 6.8, phpBB3, Drupal 7 imports); md5-based",
		prefix: "$P$",
		sniff_: func(_ *Verifier, s Stored) float64 {
			// $P$ is the registered prefix; $H$ (phpBB3's spelling of the same format) is
			// recognised here, since a format has one prefix.
			if strings.HasPrefix(s.Hash, "$H$") {
				return 1
			}
			return 0
		},
		parse: func(_ *Verifier, s Stored) (map[string]string, error) {
			p, err := parsePhpass("phpass", s.Hash, 34)
			if err != nil {
				return nil, err
			}
			return p.params(), nil
		},
		verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
			p, err := parsePhpass("phpass", s.Hash, 34)
			if err != nil {
				return false, err
			}
			return p.verify(ctx, md5.New, pw, 16)
		},
		hash: func(pw string) (Stored, error) {
			// WordPress's settings: 2^13 rounds ("B"), 6 random bytes of salt.
			raw := make([]byte, 6)
			_, _ = rand.Read(raw)
			setting := "$P$B" + phpassEncode(raw, 6)
			// The setting and 22 placeholder characters parse as a hash, so the same code
			// computes the real one: hashing and verifying cannot drift apart.
			p, err := parsePhpass("phpass", setting+strings.Repeat(".", 22), 34)
			if err != nil {
				return Stored{}, err
			}
			sum, err := p.compute(context.Background(), md5.New, pw)
			return Stored{Hash: setting + phpassEncode(sum, 16)}, err
		},
	}
}

// drupal7Format is Drupal 7's SHA-512 variant of phpass ($S$), with the U$S$ spelling
// for Drupal 6 md5 hashes that Drupal 7 rehashed.
func drupal7Format() format {
	return format{
		name: "drupal7", family: "phpass",
		doc:    "$S$ + count char + 8-char salt + 43 chars (Drupal 7, SHA-512); U$S$ for upgraded Drupal 6 md5 hashes",
		prefix: "$S$",
		sniff_: func(_ *Verifier, s Stored) float64 {
			// U$S$: a Drupal 6 md5 hash that Drupal 7 wrapped in its own format.
			if strings.HasPrefix(s.Hash, "U$S$") {
				return 1
			}
			return 0
		},
		parse: func(_ *Verifier, s Stored) (map[string]string, error) {
			p, err := parsePhpass("drupal7", strings.TrimPrefix(s.Hash, "U"), 55)
			if err != nil {
				return nil, err
			}
			params := p.params()
			if strings.HasPrefix(s.Hash, "U") {
				params["prehash"] = "md5"
			}
			return params, nil
		},
		verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
			h, upgraded := strings.CutPrefix(s.Hash, "U")
			p, err := parsePhpass("drupal7", h, 55)
			if err != nil {
				return false, err
			}
			// Drupal 7 rehashed Drupal 6's md5 hashes without knowing the password: for those
			// the phpass loop takes the password's hex md5.
			if upgraded {
				sum := md5.Sum([]byte(pw))
				pw = hex.EncodeToString(sum[:])
			}
			return p.verify(ctx, sha512.New, pw, 64)
		},
	}
}

// phpassAlphabet is phpass's itoa64, also used by Drupal 7.
const phpassAlphabet = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// phpassHash is a parsed phpass string. setting is what the hash is recomputed with;
// full is the stored value, which the result is compared with whole.
type phpassHash struct {
	setting string // "$P$" + count + salt (12 characters)
	log2    int
	salt    string
	full    string
}

// parsePhpass checks a portable phpass string of exactly length characters: 34 for
// md5 ($P$, $H$), 55 for Drupal 7's SHA-512 ($S$, which Drupal cuts to 55).
func parsePhpass(name, h string, length int) (*phpassHash, error) {
	if len(h) != length {
		return nil, malformed(name, "expected %d characters, got %d; check the column is not truncated", length, len(h))
	}
	if h[0] != '$' || h[2] != '$' || !strings.ContainsRune("PHS", rune(h[1])) {
		return nil, malformed(name, "expected $P$, $H$ or $S$")
	}
	// The fourth character encodes log2 of the round count, as an index in itoa64.
	log2 := strings.IndexByte(phpassAlphabet, h[3])
	if log2 < 7 || log2 > 30 {
		return nil, malformed(name, "the count character (character 4) is outside phpass's range (7..30)")
	}
	if log2 > MaxPhpassLog2 {
		return nil, malformed(name, "2^%d rounds is above the cap of 2^%d", log2, MaxPhpassLog2)
	}
	// Every character after the count is salt or hash in itoa64: anything else is a
	// corrupt row, reported by position only.
	for i := 4; i < len(h); i++ {
		if strings.IndexByte(phpassAlphabet, h[i]) < 0 {
			return nil, malformed(name, "character %d is not in phpass's alphabet", i+1)
		}
	}
	return &phpassHash{setting: h[:12], log2: log2, salt: h[4:12], full: h}, nil
}

// params are what Detect reports: the variant marker and the cost, never the salt.
func (p *phpassHash) params() map[string]string {
	return map[string]string{"variant": p.setting[:3], "iterations": strconv.Itoa(1 << p.log2), "log2_rounds": strconv.Itoa(p.log2), "salt_length": "8"}
}

// compute runs the phpass loop: h = H(salt+pw), then 2^log2 times h = H(h+pw).
func (p *phpassHash) compute(ctx context.Context, newHash func() hash.Hash, pw string) ([]byte, error) {
	d := newHash()
	d.Write([]byte(p.salt))
	d.Write([]byte(pw))
	sum := d.Sum(nil)
	for i := 1 << p.log2; i > 0; i-- {
		// Check for cancellation every 65536 rounds: cheap, and a 2^24-round hash still
		// stops within milliseconds of its caller giving up.
		if i&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		d.Reset()
		d.Write(sum)
		d.Write([]byte(pw))
		sum = d.Sum(sum[:0])
	}
	return sum, nil
}

// verify recomputes the hash under the stored setting and compares the encoded
// strings whole, as phpass does; n is the digest size (16 for md5, 64 for SHA-512).
func (p *phpassHash) verify(ctx context.Context, newHash func() hash.Hash, pw string, n int) (bool, error) {
	sum, err := p.compute(ctx, newHash, pw)
	if err != nil {
		return false, err
	}
	got := p.setting + phpassEncode(sum, n)
	if len(got) > len(p.full) { // Drupal 7 keeps only the first 55 characters
		got = got[:len(p.full)]
	}
	return equal([]byte(got), []byte(p.full)), nil
}

// phpassEncode is phpass's encode64 (little-endian groups of 3 bytes, itoa64).
// It must match phpass byte for byte: verification compares encoded strings.
func phpassEncode(in []byte, count int) string {
	var b strings.Builder
	for i := 0; i < count; {
		v := int(in[i])
		i++
		b.WriteByte(phpassAlphabet[v&0x3f])
		if i < count {
			v |= int(in[i]) << 8
		}
		b.WriteByte(phpassAlphabet[(v>>6)&0x3f])
		if i >= count {
			break
		}
		i++
		if i < count {
			v |= int(in[i]) << 16
		}
		b.WriteByte(phpassAlphabet[(v>>12)&0x3f])
		if i >= count {
			break
		}
		i++
		b.WriteByte(phpassAlphabet[(v>>18)&0x3f])
	}
	return b.String()
}
