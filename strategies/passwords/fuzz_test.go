package passwords

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"testing"

	"github.com/cutover/cutover/strategies"
)

// FuzzDetect: detection never panics, and either names a registered format with a
// confidence in (0, 1] or returns a typed error.
func FuzzDetect(f *testing.F) {
	for _, vs := range loadVectors(f) {
		for _, vec := range vs {
			f.Add(vec.Hash, vec.Salt)
		}
	}
	for _, s := range []string{"", "$", "$2b$", "$argon2id$v=19$m=,t=,p=$$", "{SSHA}", "{CRYPT}", "md5$$", "U$S$", "$wp$", "pbkdf2_sha256$$$", "$scrypt$ln=99,r=0,p=0$$"} {
		f.Add(s, "")
	}
	names := FormatNames()
	v, _ := New(Options{Firebase: &FirebaseConfig{SignerKey: "c2lnbmVy", SaltSeparator: "Bw==", Rounds: 8, MemCost: 14}})
	f.Fuzz(func(t *testing.T, hash, salt string) {
		all, err := v.DetectAll(Stored{Hash: hash, Salt: salt})
		if err != nil {
			if strategies.CodeOf(err) == "" {
				t.Fatalf("DetectAll: got untyped error %v", err)
			}
			return
		}
		for _, d := range all {
			if !slices.Contains(names, d.Format) || d.Confidence <= 0 || d.Confidence > 1 {
				t.Fatalf("DetectAll: got %+v", d)
			}
		}
	})
}

// fuzzVerify runs Verify for every format of a family on fuzzed hashes (seeded with the
// family's real vectors). It never panics, errors are typed, and a hash that parses
// verifies without an error. Inputs whose (capped, legal) cost would make one run slow
// are skipped so the fuzzer explores parsing rather than burning CPU.
func fuzzVerify(f *testing.F, family string, extra ...string) {
	var formats []string
	for _, n := range FormatNames() {
		if info, _ := Describe(n); info.Family == family && n != "recipe" {
			formats = append(formats, n)
		}
	}
	if len(formats) == 0 {
		f.Fatalf("no formats in family %s", family)
	}
	v, _ := New(Options{Firebase: &FirebaseConfig{SignerKey: "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==", SaltSeparator: "Bw==", Rounds: 8, MemCost: 14}})
	for _, vs := range loadVectors(f) {
		for _, vec := range vs {
			if slices.Contains(formats, vec.Format) {
				f.Add(vec.Hash, vec.Salt, vec.Password)
			}
		}
	}
	for _, e := range extra {
		f.Add(e, "", "pw")
	}
	f.Fuzz(func(t *testing.T, hash, salt, password string) {
		for _, name := range formats {
			s := Stored{Hash: hash, Salt: salt, Format: name}
			ds, err := v.DetectAll(s)
			if err != nil {
				if strategies.CodeOf(err) == "" {
					t.Fatalf("%s: DetectAll: untyped error %v", name, err)
				}
				continue
			}
			if expensive(ds[0].Params) {
				continue
			}
			_, err = v.Verify(context.Background(), s, password)
			if err != nil && strategies.CodeOf(err) == "" && !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: Verify: untyped error %v", name, err)
			}
		}
	})
}

func expensive(p map[string]string) bool {
	limits := map[string]int{"cost": 6, "iterations": 20000, "memory_kib": 8192, "time": 3, "ln": 12, "r": 8, "p": 2, "log2_rounds": 12, "rounds": 20000, "mem_cost": 14}
	for k, limit := range limits {
		if n, err := strconv.Atoi(p[k]); err == nil && n > limit {
			return true
		}
	}
	return false
}

func FuzzVerifyBcrypt(f *testing.F) {
	fuzzVerify(f, "bcrypt", "$2b$04$"+"..........................................................."[:53], "$2x$05$")
}
func FuzzVerifyArgon2(f *testing.F) {
	fuzzVerify(f, "argon2", "$argon2id$v=19$m=8,t=1,p=1$c2FsdA$aGFzaA", "$argon2i$m=8,t=1,p=1$c2FsdA$aGFzaA")
}
func FuzzVerifyScrypt(f *testing.F) {
	fuzzVerify(f, "scrypt", "$scrypt$ln=1,r=1,p=1$c2FsdA$aGFzaGhhc2g")
}
func FuzzVerifyPBKDF2(f *testing.F) { fuzzVerify(f, "pbkdf2", "$pbkdf2-sha256$1$c2FsdA$aGFzaGhhc2g") }
func FuzzVerifyDjango(f *testing.F) {
	fuzzVerify(f, "django", "md5$$", "sha1$s$", "argon2$argon2i$", "bcrypt$")
}
func FuzzVerifyPhpass(f *testing.F) { fuzzVerify(f, "phpass", "$P$5", "U$S$5") }
func FuzzVerifyCrypt(f *testing.F)  { fuzzVerify(f, "crypt", "$5$rounds=1000$s$", "$1$$") }
func FuzzVerifyLDAP(f *testing.F) {
	fuzzVerify(f, "ldap", "{SSHA}", "{CRYPT}$1$", "{crypt}abcdefghijklm")
}
func FuzzVerifyDigest(f *testing.F) { fuzzVerify(f, "digest", "00", "AAAAAAAAAAAAAAAAAAAAAA==") }
func FuzzVerifyWordPress(f *testing.F) {
	fuzzVerify(f, "wordpress", "$wp$2y$04$")
}
func FuzzVerifyFirebase(f *testing.F) { fuzzVerify(f, "firebase", "AAAA") }

// FuzzRecipe: parsing never panics; what parses evaluates with bounded output or a
// typed error, and renders back to an expression that parses to the same thing.
func FuzzRecipe(f *testing.F) {
	for _, s := range []string{"sha256(salt + password)", "md5(md5(password) + salt)", "hex(hmac_sha256(key, password))",
		"base64(sha1(password + salt))", `"*" + upper(hex(sha1(unhex(sha1(password)))))`, "'a\\'b' + password", "md5(", "+", "unhex(password)"} {
		f.Add(s, "pw")
	}
	v, _ := New(Options{Key: []byte("k")})
	f.Fuzz(func(t *testing.T, expr, password string) {
		r, err := ParseRecipe(expr)
		if err != nil {
			if strategies.CodeOf(err) != strategies.CodePlan {
				t.Fatalf("ParseRecipe: got %v, want a plan error", err)
			}
			return
		}
		r2, err := ParseRecipe(r.String())
		if err != nil || r2.String() != r.String() {
			t.Fatalf("round trip of %q via %q: got %v, %v", expr, r.String(), r2, err)
		}
		if _, err := r.verify(v, Stored{Hash: "00", Salt: "s"}, password); err != nil && strategies.CodeOf(err) == "" {
			t.Fatalf("verify: untyped error %v", err)
		}
	})
}
