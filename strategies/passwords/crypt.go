package passwords

import (
	"context"
	"strconv"
	"strings"

	"github.com/go-crypt/crypt/algorithm"
	"github.com/go-crypt/crypt/algorithm/md5crypt"
	"github.com/go-crypt/crypt/algorithm/shacrypt"
)

// cryptFormats: the glibc crypt(3) schemes of /etc/shadow, Dovecot and many PHP and
// Perl apps, verified with go-crypt.
func cryptFormats() []format {
	return []format{
		// md5-crypt is weak: a fixed 1000 md5 rounds, fast on any GPU. The sha-crypt
		// schemes with their 5000 or more rounds are not flagged.
		cryptFormat("md5_crypt", "$1$", "$1$salt$hash (md5-crypt); md5-based", true, 22, md5crypt.Decode),
		cryptFormat("sha256_crypt", "$5$", "$5$[rounds=N$]salt$hash (sha256-crypt)", false, 43, shacrypt.Decode),
		cryptFormat("sha512_crypt", "$6$", "$6$[rounds=N$]salt$hash (sha512-crypt)", false, 86, shacrypt.Decode),
	}
}

// cryptFormat builds one crypt(3) format. go-crypt decodes and verifies; parseCrypt
// runs first because go-crypt applies no cost cap and its messages quote the hash.
func cryptFormat(name, prefix, doc string, weak bool, keyLen int, decode func(string) (algorithm.Digest, error)) format {
	return format{
		name: name, family: "crypt", prefix: prefix, doc: doc, weak: weak,
		parse: func(_ *Verifier, s Stored) (map[string]string, error) {
			return parseCrypt(name, prefix, s.Hash, keyLen)
		},
		verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
			if _, err := parseCrypt(name, prefix, s.Hash, keyLen); err != nil {
				return false, err
			}
			d, err := decode(s.Hash)
			if err != nil {
				return false, refused(name, err)
			}
			ok, err := d.MatchAdvanced(pw)
			if err != nil {
				return false, refused(name, err)
			}
			return ok, nil
		},
	}
}

// parseCrypt checks "$id$[rounds=N$]salt$hash" and the rounds cap before go-crypt runs.
func parseCrypt(name, prefix, h string, keyLen int) (map[string]string, error) {
	parts := strings.Split(strings.TrimPrefix(h, prefix), "$")
	params := map[string]string{}
	// The counts when no rounds= is written: 5000 for sha-crypt, and md5-crypt's fixed
	// 1000 (it has no rounds parameter at all).
	rounds := 5000
	if prefix == "$1$" {
		rounds = 1000
	}
	// Three fields mean rounds=N$salt$hash; md5-crypt never has a rounds field.
	if len(parts) == 3 && prefix != "$1$" {
		r, ok := strings.CutPrefix(parts[0], "rounds=")
		n, err := strconv.Atoi(r)
		if !ok || err != nil || n < 1 {
			return nil, malformed(name, "expected %srounds=N$salt$hash", prefix)
		}
		if n > MaxCryptRounds {
			return nil, malformed(name, "rounds=%d is above the cap of %d", n, MaxCryptRounds)
		}
		rounds = max(n, 1000) // glibc raises smaller counts to 1000
		parts = parts[1:]
	}
	if len(parts) != 2 {
		return nil, malformed(name, "expected %ssalt$hash", prefix)
	}
	// The hash part has a fixed length per scheme: a shorter one is a truncated column.
	if len(parts[1]) != keyLen {
		return nil, malformed(name, "the hash part is %d characters, want %d; check the column is not truncated", len(parts[1]), keyLen)
	}
	// crypt(3) encodes with phpass's alphabet (./0-9A-Za-z); glibc would refuse anything
	// else too, so such a value cannot be a real hash.
	for _, p := range []struct{ what, s string }{{"salt", parts[0]}, {"hash part", parts[1]}} {
		for i, c := range p.s {
			if !strings.ContainsRune(phpassAlphabet, c) {
				return nil, malformed(name, "character %d of the %s is not in crypt's alphabet (./0-9A-Za-z)", i+1, p.what)
			}
		}
	}
	params["rounds"] = strconv.Itoa(rounds)
	params["salt_length"] = strconv.Itoa(len(parts[0]))
	return params, nil
}
