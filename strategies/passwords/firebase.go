package passwords

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"fmt"
	"strconv"

	"golang.org/x/crypto/scrypt"

	"github.com/cutover/cutover/strategies"
)

// firebaseFormats: Firebase Auth's modified scrypt. The hash and salt come from
// `firebase auth:export` (base64); the project's hash config from the console.
func firebaseFormats() []format {
	return []format{{
		name: "firebase_scrypt", family: "firebase",
		doc: "base64 hash + base64 salt column, verified with the project's hash config (signer key, salt separator, rounds, mem cost)",
		// No prefix: Firebase exports are bare base64, so the format is guessed only when
		// the plan configured a Firebase project and the row has a salt.
		sniff_: func(v *Verifier, s Stored) float64 {
			if v.opts.Firebase == nil || s.Salt == "" {
				return 0
			}
			cfg, err := v.opts.Firebase.decode()
			if err != nil {
				return 0
			}
			// The hash is the signer key encrypted, so it has the signer key's length: with a
			// salt and a configured project, as sure as a shape gets.
			if h, err := base64.StdEncoding.DecodeString(s.Hash); err == nil && len(h) == len(cfg.signer) {
				return 0.95 // beats a salted base64 sha512 of the same length: the project said it uses Firebase
			}
			return 0
		},
		parse: func(v *Verifier, s Stored) (map[string]string, error) {
			cfg, hash, salt, err := parseFirebase(v, s)
			if err != nil {
				return nil, err
			}
			return map[string]string{"rounds": strconv.Itoa(cfg.rounds), "mem_cost": strconv.Itoa(cfg.memCost),
				"salt_length": strconv.Itoa(len(salt)), "key_length": strconv.Itoa(len(hash))}, nil
		},
		verify: func(ctx context.Context, v *Verifier, s Stored, pw string) (bool, error) {
			cfg, hash, salt, err := parseFirebase(v, s)
			if err != nil {
				return false, err
			}
			got, err := firebaseHash(cfg, salt, pw)
			if err != nil {
				return false, err
			}
			return equal(got, hash), nil
		},
	}}
}

// firebaseParams is a checked FirebaseConfig, with the key and separator decoded.
type firebaseParams struct {
	signer, sep     []byte
	rounds, memCost int
}

// decode checks a project's hash config; the error names the bad field.
func (c *FirebaseConfig) decode() (*firebaseParams, error) {
	bad := func(field, msg string) error {
		return &strategies.Error{Code: strategies.CodePlan, Field: "firebase." + field, Message: msg + "; copy it from the Firebase console (Authentication > Users > Password hash parameters)"}
	}
	p := &firebaseParams{rounds: c.Rounds, memCost: c.MemCost}
	var err error
	// The signer key is required and must decode; the separator may be empty (some
	// projects have none) but must still be valid base64.
	if p.signer, err = base64.StdEncoding.DecodeString(c.SignerKey); err != nil || len(p.signer) == 0 {
		return nil, bad("base64_signer_key", "the signer key is missing or not base64")
	}
	if p.sep, err = base64.StdEncoding.DecodeString(c.SaltSeparator); err != nil {
		return nil, bad("base64_salt_separator", "the salt separator is not base64")
	}
	// The console only offers these ranges: anything else is a copying mistake, and the
	// bounds also cap one verification's work (mem_cost 14 is N = 2^14).
	if c.Rounds < 1 || c.Rounds > 8 {
		return nil, bad("rounds", fmt.Sprintf("rounds %d is outside Firebase's 1..8", c.Rounds))
	}
	if c.MemCost < 1 || c.MemCost > 14 {
		return nil, bad("mem_cost", fmt.Sprintf("mem_cost %d is outside Firebase's 1..14", c.MemCost))
	}
	return p, nil
}

// parseFirebase decodes a row. The export writes hash and salt as standard base64;
// URL-safe or unpadded forms come from another tool and are refused.
func parseFirebase(v *Verifier, s Stored) (*firebaseParams, []byte, []byte, error) {
	if v.opts.Firebase == nil {
		return nil, nil, nil, unsupported("firebase_scrypt", "no Firebase hash config: add the project's signer key, salt separator, rounds and mem cost to the plan")
	}
	cfg, err := v.opts.Firebase.decode()
	if err != nil {
		return nil, nil, nil, err
	}
	hash, err := base64.StdEncoding.DecodeString(s.Hash)
	if err != nil || len(hash) == 0 {
		return nil, nil, nil, malformed("firebase_scrypt", "the hash is not standard base64 (as written by firebase auth:export)")
	}
	if s.Salt == "" {
		return nil, nil, nil, malformed("firebase_scrypt", "the salt is empty; map the export's salt column")
	}
	salt, err := base64.StdEncoding.DecodeString(s.Salt)
	if err != nil {
		return nil, nil, nil, malformed("firebase_scrypt", "the salt is not standard base64")
	}
	return cfg, hash, salt, nil
}

// firebaseHash is Firebase's algorithm: scrypt(password, salt+separator, N=2^memCost,
// r=rounds, p=1, 32 bytes) keys AES-256-CTR (zero IV), which encrypts the signer key.
func firebaseHash(cfg *firebaseParams, salt []byte, pw string) ([]byte, error) {
	s := make([]byte, 0, len(salt)+len(cfg.sep))
	// The separator goes after the row's salt, as Firebase's scrypt fork does.
	s = append(append(s, salt...), cfg.sep...)
	key, err := scrypt.Key([]byte(pw), s, 1<<cfg.memCost, cfg.rounds, 1, 32)
	if err != nil {
		return nil, fmt.Errorf("firebase scrypt: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("firebase scrypt: %w", err)
	}
	out := make([]byte, len(cfg.signer))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(out, cfg.signer)
	return out, nil
}
