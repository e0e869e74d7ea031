package passwords

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// argon2Formats: PHC argon2id/argon2i (argon2-cffi, libsodium, PHP) and Django's wrapper.
func argon2Formats() []format {
	return []format{
		{
			name: "argon2id", family: "argon2",
			doc:    "$argon2id$v=19$m=..,t=..,p=..$salt$hash (PHC string)",
			prefix: "$argon2id$",
			parse:  func(_ *Verifier, s Stored) (map[string]string, error) { return parseArgon2Params("argon2id", s.Hash) },
			verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
				return verifyArgon2("argon2id", s.Hash, pw)
			},
			hash: func(pw string) (Stored, error) {
				// OWASP's minimum (19 MiB, t=2, p=1): enough for demo data, quick to rehearse.
				salt := []byte(randomSalt(8))
				key := argon2.IDKey([]byte(pw), salt, 2, 19456, 1, 32)
				return Stored{Hash: "$argon2id$v=19$m=19456,t=2,p=1$" + b64raw(salt) + "$" + b64raw(key)}, nil
			},
		},
		{
			name: "argon2i", family: "argon2",
			doc:    "$argon2i$v=19$m=..,t=..,p=..$salt$hash (PHC string)",
			prefix: "$argon2i$",
			parse:  func(_ *Verifier, s Stored) (map[string]string, error) { return parseArgon2Params("argon2i", s.Hash) },
			verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
				return verifyArgon2("argon2i", s.Hash, pw)
			},
		},
		{
			name: "django_argon2", family: "django",
			doc:    "argon2$argon2id$v=19$m=..,t=..,p=..$salt$hash (Django Argon2PasswordHasher)",
			prefix: "argon2$",
			// Django writes "argon2" before the PHC string ("argon2$argon2id$v=19$..."): without
			// the word, the plain PHC parser reads it.
			parse: func(_ *Verifier, s Stored) (map[string]string, error) {
				return parseArgon2Params("django_argon2", strings.TrimPrefix(s.Hash, "argon2"))
			},
			verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
				return verifyArgon2("django_argon2", strings.TrimPrefix(s.Hash, "argon2"), pw)
			},
		},
	}
}

// argon2Hash is a parsed PHC argon2 string. The int copies of the parameters are what
// Detect reports; the narrow ones are what x/crypto/argon2 takes.
type argon2Hash struct {
	variant          string
	memory, time     uint32
	threads          uint8
	salt, key        []byte
	memoryKiB, tInt  int
	threadsInt, vers int
}

// parseArgon2 reads "$argon2{id,i}$v=19$m=M,t=T,p=P$salt$hash" and applies the caps.
func parseArgon2(name, h string) (*argon2Hash, error) {
	parts := strings.Split(h, "$")
	// Five fields and no v=: argon2 before version 1.3 wrote no version. It is another
	// algorithm (0x10), so it is reported as unsupported, not as malformed.
	if len(parts) == 5 && parts[0] == "" && !strings.HasPrefix(parts[2], "v=") {
		return nil, unsupported(name, "no version field: this is argon2 version 1.0 (0x10), which Go's argon2 does not implement; use the lazy strategy with a password reset for these users")
	}
	if len(parts) != 6 || parts[0] != "" {
		return nil, malformed(name, "expected $argon2id$v=19$m=..,t=..,p=..$salt$hash (6 fields separated by $), got %d fields", len(parts))
	}
	a := &argon2Hash{variant: parts[1]}
	if a.variant != "argon2id" && a.variant != "argon2i" {
		// argon2d is data-dependent (side-channel prone) and no password library writes it
		// by default: it gets its own answer rather than "unknown variant".
		if a.variant == "argon2d" {
			return nil, unsupported(name, "argon2d is not used for passwords and is not supported")
		}
		return nil, malformed(name, "unknown variant (%s); expected argon2id or argon2i", describeValue(a.variant))
	}
	v, ok := strings.CutPrefix(parts[2], "v=")
	if !ok {
		return nil, unsupported(name, "no version field: this is argon2 version 1.0 (0x10), which Go's argon2 does not implement; use the lazy strategy with a password reset for these users")
	}
	if v != "19" {
		if n, ok := smallNumber(v); ok {
			return nil, unsupported(name, "argon2 version %s is not supported (only 19, i.e. 1.3)", n)
		}
		return nil, malformed(name, "the version field v= holds %s, not a number", describeValue(v))
	}
	a.vers = 19
	// Parameters may come in any order, but each once: with a repeated key the cost
	// would depend on which one a verifier reads.
	seen := map[string]bool{}
	for i, kv := range strings.Split(parts[3], ",") {
		k, val, ok := strings.Cut(kv, "=")
		n, err := strconv.Atoi(val)
		if !ok || err != nil || n < 1 || seen[k] {
			return nil, malformed(name, "parameter %d (%s) is not key=positive-number, or repeats a key", i+1, describeValue(kv))
		}
		seen[k] = true
		switch k {
		case "m":
			a.memoryKiB = n
		case "t":
			a.tInt = n
		case "p":
			a.threadsInt = n
		default:
			return nil, malformed(name, "parameter %d has an unknown name (%s); expected m, t, p", i+1, describeValue(k))
		}
	}
	if !seen["m"] || !seen["t"] || !seen["p"] {
		return nil, malformed(name, "parameters need m, t and p; %s missing", missing(seen, "m", "t", "p"))
	}
	// The caps apply before any work, so one hostile row cannot take gigabytes or
	// minutes. m >= 8p is argon2's own rule: x/crypto would silently raise m, and the
	// hash would then never match.
	switch {
	case a.memoryKiB > MaxArgon2MemoryKiB:
		return nil, malformed(name, "memory m=%d KiB is above the cap of %d KiB", a.memoryKiB, MaxArgon2MemoryKiB)
	case a.tInt > MaxArgon2Time:
		return nil, malformed(name, "time t=%d is above the cap of %d", a.tInt, MaxArgon2Time)
	case a.threadsInt > MaxArgon2Threads:
		return nil, malformed(name, "parallelism p=%d is above the cap of %d", a.threadsInt, MaxArgon2Threads)
	case a.memoryKiB < 8*a.threadsInt:
		return nil, malformed(name, "memory m=%d KiB is below 8 x p=%d", a.memoryKiB, a.threadsInt)
	}
	a.memory, a.time, a.threads = uint32(a.memoryKiB), uint32(a.tInt), uint8(a.threadsInt)
	var err error
	// PHC strings use unpadded base64, but some writers pad: b64any accepts both.
	if a.salt, err = b64any(parts[4]); err != nil || len(a.salt) < 1 {
		return nil, malformed(name, "the salt is not base64")
	}
	if a.key, err = b64any(parts[5]); err != nil || len(a.key) < 4 {
		return nil, malformed(name, "the hash is not base64 of at least 4 bytes")
	}
	return a, nil
}

// parseArgon2Params is parseArgon2 for Detect: the parameters, and the lengths of the
// salt and key rather than their bytes.
func parseArgon2Params(name, h string) (map[string]string, error) {
	a, err := parseArgon2(name, h)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"variant": a.variant, "version": strconv.Itoa(a.vers), "memory_kib": strconv.Itoa(a.memoryKiB),
		"time": strconv.Itoa(a.tInt), "parallelism": strconv.Itoa(a.threadsInt),
		"salt_length": strconv.Itoa(len(a.salt)), "key_length": strconv.Itoa(len(a.key)),
	}, nil
}

// verifyArgon2 recomputes the key with the hash's own parameters and key length and
// compares in constant time.
func verifyArgon2(name, h, pw string) (bool, error) {
	a, err := parseArgon2(name, h)
	if err != nil {
		return false, err
	}
	var got []byte
	// argon2.Key is argon2i; IDKey adds argon2id's data-dependent passes.
	if a.variant == "argon2id" {
		got = argon2.IDKey([]byte(pw), a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
	} else {
		got = argon2.Key([]byte(pw), a.salt, a.time, a.memory, a.threads, uint32(len(a.key)))
	}
	return equal(got, a.key), nil
}

// b64raw encodes without padding, as PHC strings do.
func b64raw(b []byte) string { return base64.RawStdEncoding.EncodeToString(b) }

// b64any decodes standard base64 with or without padding.
func b64any(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// ab64 decodes passlib's "adapted base64": standard alphabet with "." for "+", no padding.
func ab64(s string) ([]byte, error) {
	return base64.RawStdEncoding.DecodeString(strings.ReplaceAll(strings.TrimRight(s, "="), ".", "+"))
}
