package passwords

import (
	"context"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
)

// scryptFormats: the PHC-style "$scrypt$" string of passlib (and go-crypt).
func scryptFormats() []format {
	return []format{{
		// passlib's scrypt only: Django's "scrypt$" and crypt's "$7$" are laid out
		// differently and are named, not verified, when seen (see schemeMarkers).
		name: "scrypt", family: "scrypt",
		doc:    "$scrypt$ln=..,r=..,p=..$salt$hash (passlib scrypt)",
		prefix: "$scrypt$",
		parse: func(_ *Verifier, s Stored) (map[string]string, error) {
			sc, err := parseScrypt(s.Hash)
			if err != nil {
				return nil, err
			}
			return map[string]string{"ln": strconv.Itoa(sc.ln), "r": strconv.Itoa(sc.r), "p": strconv.Itoa(sc.p),
				"salt_length": strconv.Itoa(len(sc.salt)), "key_length": strconv.Itoa(len(sc.key))}, nil
		},
		verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
			sc, err := parseScrypt(s.Hash)
			if err != nil {
				return false, err
			}
			// The key length is the stored key's: passlib writes 32 bytes, but any length
			// its writer chose verifies.
			got, err := scrypt.Key([]byte(pw), sc.salt, 1<<sc.ln, sc.r, sc.p, len(sc.key))
			if err != nil {
				// x/crypto/scrypt's messages name its limits on N, r and p, never the input.
				return false, malformed("scrypt", "%v", err)
			}
			return equal(got, sc.key), nil
		},
	}}
}

// scryptHash is a parsed passlib scrypt string; ln is log2(N), as passlib writes it.
type scryptHash struct {
	ln, r, p  int
	salt, key []byte
}

// parseScrypt reads "$scrypt$ln=..,r=..,p=..$salt$hash" (adapted base64) and applies
// the caps before any memory is allocated.
func parseScrypt(h string) (*scryptHash, error) {
	parts := strings.Split(h, "$")
	if len(parts) != 5 || parts[0] != "" || parts[1] != "scrypt" {
		return nil, malformed("scrypt", "expected $scrypt$ln=..,r=..,p=..$salt$hash (5 fields separated by $), got %d fields", len(parts))
	}
	sc := &scryptHash{}
	// Each of ln, r and p exactly once, in any order (passlib writes ln,r,p).
	seen := map[string]bool{}
	for i, kv := range strings.Split(parts[2], ",") {
		k, val, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(val)
		if !ok || err != nil || n < 1 || seen[k] {
			return nil, malformed("scrypt", "parameter %d (%s) is not key=positive-number, or repeats a key", i+1, describeValue(kv))
		}
		seen[k] = true
		switch k {
		case "ln":
			sc.ln = n
		case "r":
			sc.r = n
		case "p":
			sc.p = n
		default:
			return nil, malformed("scrypt", "parameter %d has an unknown name (%s); expected ln, r, p", i+1, describeValue(k))
		}
	}
	if !seen["ln"] || !seen["r"] || !seen["p"] {
		return nil, malformed("scrypt", "parameters need ln, r and p; %s missing", missing(seen, "ln", "r", "p"))
	}
	if err := checkScryptCost("scrypt", sc.ln, sc.r, sc.p); err != nil {
		return nil, err
	}
	var err error
	// passlib writes salt and key in adapted base64 ("." for "+"), as its pbkdf2 does.
	if sc.salt, err = ab64(parts[3]); err != nil {
		return nil, malformed("scrypt", "the salt is not base64")
	}
	if sc.key, err = ab64(parts[4]); err != nil || len(sc.key) < 4 {
		return nil, malformed("scrypt", "the hash is not base64 of at least 4 bytes")
	}
	return sc, nil
}

// checkScryptCost applies the memory (128*N*r) and parallelism caps.
func checkScryptCost(name string, ln, r, p int) error {
	// No writer uses ln above 30 or r above 64, and the memory product below would
	// overflow a 32-bit int first.
	if ln < 1 || ln > 30 || r < 1 || r > 64 {
		return malformed(name, "parameters ln=%d r=%d are out of range (ln 1..30, r 1..64)", ln, r)
	}
	if mem := 128 * (1 << ln) * r; mem > MaxScryptMemory {
		return malformed(name, "N=2^%d, r=%d needs %d MiB, above the cap of %d MiB", ln, r, mem>>20, MaxScryptMemory>>20)
	}
	if p < 1 || p > MaxScryptParallelism {
		return malformed(name, "parallelism p=%d is outside 1..%d", p, MaxScryptParallelism)
	}
	return nil
}
