package passwords

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/strategies"
)

func newVerifier(t testing.TB, opts Options) *Verifier {
	t.Helper()
	v, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

func TestDetect(t *testing.T) {
	v := newVerifier(t, Options{})
	tests := []struct {
		name       string
		s          Stored
		want       string
		confidence float64
		params     map[string]string
		weak       bool
	}{
		{name: "bcrypt 2y", s: Stored{Hash: "$2y$10$owQAzz8KWyWMV1vAX.7VT.KJ4fHp5CRDH5m4S2KlfKoarZR8AdMcy"}, want: "bcrypt", confidence: 1, params: map[string]string{"cost": "10", "variant": "2y"}},
		{name: "django bcrypt", s: Stored{Hash: "bcrypt$$2b$12$" + strings.Repeat("a", 53)}, want: "django_bcrypt", confidence: 1, params: map[string]string{"cost": "12"}},
		{name: "django bcrypt_sha256", s: Stored{Hash: "bcrypt_sha256$$2b$12$" + strings.Repeat("a", 53)}, want: "django_bcrypt_sha256", confidence: 1},
		{name: "django unsalted md5 prefix beats salted md5", s: Stored{Hash: "md5$$" + strings.Repeat("a", 32)}, want: "django_unsalted_md5", confidence: 1, weak: true},
		{name: "django salted md5", s: Stored{Hash: "md5$salt$" + strings.Repeat("a", 32)}, want: "django_md5", confidence: 1, weak: true, params: map[string]string{"salt_length": "4"}},
		{name: "ldap lower case", s: Stored{Hash: "{ssha}Of8EmOKAE2e01wVxloB0EinmOUeaU4qx"}, want: "ldap_ssha", confidence: 1, weak: true, params: map[string]string{"salt_length": "4"}},
		{name: "sha512-crypt default rounds", s: Stored{Hash: "$6$6l7hf0wggOAw6yPT$" + strings.Repeat("a", 86)}, want: "sha512_crypt", confidence: 1, params: map[string]string{"rounds": "5000", "salt_length": "16"}},
		{name: "phpass H", s: Stored{Hash: "$H$9lwir2VVGZ8uQALqaOJygP7PjynREc/"}, want: "phpass", confidence: 1, weak: true, params: map[string]string{"iterations": "2048"}},
		{name: "bare md5", s: Stored{Hash: "9cc2ae8a1ba7a93da39b46fc1019c481"}, want: "md5", confidence: 0.9, weak: true, params: map[string]string{"encoding": "hex", "alternatives": ""}},
		{name: "md5 with a salt column", s: Stored{Hash: "9cc2ae8a1ba7a93da39b46fc1019c481", Salt: "x"}, want: "md5_salt_password", confidence: 0.5, weak: true, params: map[string]string{"alternatives": "md5_password_salt"}},
		{name: "base64 sha256", s: Stored{Hash: "nYQokrXIbFhSCJqhTshhJiu/qDjqunSwNUBz8weUJgk="}, want: "sha256", confidence: 0.9, weak: true, params: map[string]string{"encoding": "base64"}},
		{name: "explicit format", s: Stored{Hash: "9cc2ae8a1ba7a93da39b46fc1019c481", Format: "django_unsalted_md5"}, want: "django_unsalted_md5", confidence: 1, weak: true},
		{name: "recipe", s: Stored{Hash: "x", Format: "recipe:sha256(salt+password)"}, want: "recipe", confidence: 1, weak: true, params: map[string]string{"expression": "sha256(salt + password)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := v.Detect(tt.s)
			if err != nil {
				t.Fatalf("Detect: got error %v, want %s", err, tt.want)
			}
			if d.Format != tt.want || d.Confidence != tt.confidence || d.Weak != tt.weak {
				t.Errorf("got %s (confidence %.2f, weak %v), want %s (%.2f, %v)", d.Format, d.Confidence, d.Weak, tt.want, tt.confidence, tt.weak)
			}
			for k, want := range tt.params {
				if got := d.Params[k]; got != want {
					t.Errorf("param %s: got %q, want %q", k, got, want)
				}
			}
		})
	}
}

// TestErrors checks what a user sees for hashes that cannot be verified: the right code,
// the sentinel, and a message that says why, quickly (caps apply before any work).
func TestErrors(t *testing.T) {
	v := newVerifier(t, Options{})
	tests := []struct {
		name    string
		s       Stored
		code    strategies.Code
		is      error
		message string
	}{
		{name: "empty", s: Stored{}, code: strategies.CodeUnknownHash, is: ErrUnknownFormat, message: "empty"},
		{name: "garbage", s: Stored{Hash: "hello world"}, code: strategies.CodeUnknownHash, is: ErrUnknownFormat, message: "11-character value"},
		{name: "unknown format name", s: Stored{Hash: "x", Format: "md6"}, code: strategies.CodeUnknownHash, is: ErrUnknownFormat, message: `"md6" is not a known format`},
		{name: "truncated bcrypt", s: Stored{Hash: "$2b$10$" + strings.Repeat("a", 43)}, code: strategies.CodeMalformedHash, is: ErrMalformedHash, message: "truncated"},
		{name: "bcrypt cost cap", s: Stored{Hash: "$2b$20$" + strings.Repeat("a", 53)}, code: strategies.CodeMalformedHash, is: ErrMalformedHash, message: "cost 20 is outside the accepted 4..15"},
		{name: "bcrypt 2x", s: Stored{Hash: "$2x$10$" + strings.Repeat("a", 53)}, code: strategies.CodeUnsupportedHash, is: ErrUnsupported, message: "bug-compatible"},
		{name: "pbkdf2 iterations cap", s: Stored{Hash: "pbkdf2_sha256$99999999$salt$" + strings.Repeat("A", 44)}, code: strategies.CodeMalformedHash, is: ErrMalformedHash, message: "above the cap of 10000000"},
		{name: "passlib pbkdf2 bad base64", s: Stored{Hash: "$pbkdf2-sha256$1000$salt$!!!"}, code: strategies.CodeMalformedHash, is: ErrMalformedHash, message: "not (adapted) base64"},
		{name: "argon2 memory cap", s: Stored{Hash: "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdA$aGFzaGhhc2g"}, code: strategies.CodeMalformedHash, is: ErrMalformedHash, message: "above the cap of 1048576 KiB"},
		{name: "argon2 time cap", s: Stored{Hash: "$argon2id$v=19$m=1024,t=500,p=1$c2FsdA$aGFzaGhhc2g"}, code: strategies.CodeMalformedHash, is: ErrMalformedHash, message: "time t=500"},
		{name: "argon2 version 16", s: Stored{Hash: "$argon2i$m=1024,t=1,p=1$c2FsdA$aGFzaGhhc2g"}, code: strategies.CodeUnsupportedHash, is: ErrUnsupported, message: "version 1.0"},
		{name: "scrypt memory cap", s: Stored{Hash: "$scrypt$ln=24,r=8,p=1$c2FsdA$aGFzaGhhc2g"}, code: strategies.CodeMalformedHash, is: ErrMalformedHash, message: "above the cap of 512 MiB"},
		{name: "sha512-crypt rounds cap", s: Stored{Hash: "$6$rounds=999999999$salt$" + strings.Repeat("a", 86)}, code: strategies.CodeMalformedHash, is: ErrMalformedHash, message: "rounds=999999999 is above the cap"},
		{name: "phpass rounds cap", s: Stored{Hash: "$P$R" + strings.Repeat("a", 30)}, code: strategies.CodeMalformedHash, is: ErrMalformedHash, message: "2^29 rounds is above the cap of 2^24"},
		{name: "des crypt", s: Stored{Hash: "{CRYPT}ab01FAX.bQRSU"}, code: strategies.CodeUnsupportedHash, is: ErrUnsupported, message: "DES crypt"},
		{name: "firebase without config", s: Stored{Hash: "aGFzaA==", Salt: "c2FsdA==", Format: "firebase_scrypt"}, code: strategies.CodeUnsupportedHash, is: ErrUnsupported, message: "no Firebase hash config"},
		{name: "salted digest without salt", s: Stored{Hash: strings.Repeat("a", 64), Format: "sha256_password_salt"}, code: strategies.CodeMalformedHash, is: ErrMalformedHash, message: "needs a salt"},
		{name: "huge hash", s: Stored{Hash: strings.Repeat("a", MaxHashLength+1)}, code: strategies.CodeMalformedHash, is: ErrMalformedHash, message: "longest accepted"},
		{name: "recipe syntax", s: Stored{Hash: "x", Format: "recipe:sha256(salt + )"}, code: strategies.CodePlan, message: "column 15: expected a value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			ok, err := v.Verify(context.Background(), tt.s, "password")
			if ok || err == nil {
				t.Fatalf("got %v, %v; want false and an error", ok, err)
			}
			if got := strategies.CodeOf(err); got != tt.code {
				t.Errorf("code: got %q, want %q (%v)", got, tt.code, err)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("errors.Is(%v, %v) = false, want true", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.message) {
				t.Errorf("message: got %q, want it to contain %q", err, tt.message)
			}
			if strings.Contains(err.Error(), "password\"") || (len(tt.s.Hash) > 12 && strings.Contains(err.Error(), tt.s.Hash)) {
				t.Errorf("message echoes a secret: %q", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("rejecting took %v, want it rejected before any expensive work", d)
			}
		})
	}
}

func TestRecipes(t *testing.T) {
	// Expected values computed with Python's hashlib/hmac (see the README examples).
	v := newVerifier(t, Options{Key: []byte("k3y")})
	tests := []struct {
		expr, hash string
	}{
		{"sha256(salt + password)", "e0b7208c8793f0a384122cf958b54c3799c6ed638627c4cf322e41f773aa01a3"},
		{"md5(md5(password) + salt)", "c6616c8ffd4f1364d242ece2cd55bfed"},
		{"hex(hmac_sha256(key, password))", "c38e7e551fb0afae180e3ef829e4d3dd4776061f343b003da89b1a7a60d2e89d"},
		{"hmac_sha256(key, password)", "c38e7e551fb0afae180e3ef829e4d3dd4776061f343b003da89b1a7a60d2e89d"},
		{"base64(sha1(password + salt))", "MnzcQAOKnV8CfbutwOLBdPgRDrU="},
		{"sha1(password + salt)", "MnzcQAOKnV8CfbutwOLBdPgRDrU="},
		{"sha1(salt + sha1(salt + sha1(password)))", "4217d748bcff0957f981f653b7b4ded5be21d441"},
		{"md5(password)", "6E6FDF956D04289354DCF1619E28FE77"},
		{"upper(hex(md5(password)))", "6E6FDF956D04289354DCF1619E28FE77"},
		{`sha512('NaCl' + password)`, "3XXZfaFLcB/OFH6IF45ibVx6mDDUUPmraMmVWn/vIzrVO5FRT6yZrPDHGobCUqy6AbcTDDre696V/A+iS66+pw=="},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			s := Stored{Hash: tt.hash, Salt: "NaCl", Format: "recipe:" + tt.expr}
			if ok, err := v.Verify(context.Background(), s, "pw1"); err != nil || !ok {
				t.Errorf("right password: got %v, %v; want true, nil", ok, err)
			}
			if ok, err := v.Verify(context.Background(), s, "pw2"); err != nil || ok {
				t.Errorf("wrong password: got %v, %v; want false, nil", ok, err)
			}
		})
	}
	t.Run("mysql PASSWORD()", func(t *testing.T) {
		s := Stored{Hash: "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19", Format: `recipe:"*" + upper(hex(sha1(unhex(sha1(password)))))`}
		if ok, err := v.Verify(context.Background(), s, "password"); err != nil || !ok {
			t.Errorf("got %v, %v; want true, nil", ok, err)
		}
	})
	t.Run("lower-case hex string compares exactly", func(t *testing.T) {
		s := Stored{Hash: "6E6FDF956D04289354DCF1619E28FE77", Format: "recipe:hex(md5(password))"}
		if ok, err := v.Verify(context.Background(), s, "pw1"); err != nil || ok {
			t.Errorf("got %v, %v; want false, nil (a string result is compared exactly)", ok, err)
		}
	})
	bad := []struct{ expr, msg string }{
		{"", "ends where a value was expected"},
		{"sha256(password", "expected ) to close sha256("},
		{"sha256(password))", `unexpected ")"`},
		{"md4(password)", `unknown function "md4"`},
		{"sha256(pepper)", `unknown name "pepper"`},
		{"hmac_sha256(password)", "takes 2 argument(s), got 1"},
		{"sha256 + password", "sha256 is a function"},
		{"'open", "no closing '"},
		{"password; rm -rf /", `unexpected character ';'`},
		{strings.Repeat("md5(", 17) + "password" + strings.Repeat(")", 17), "nested more than 16 deep"},
		{strings.Repeat("salt+", 70) + "salt", "more than 64 parts"},
		{strings.Repeat("x", 600), "the limit is 512"},
	}
	for _, tt := range bad {
		t.Run("invalid/"+tt.msg, func(t *testing.T) {
			_, err := ParseRecipe(tt.expr)
			if err == nil || !strings.Contains(err.Error(), tt.msg) || strategies.CodeOf(err) != strategies.CodePlan {
				t.Errorf("ParseRecipe(%.40q): got %v, want a plan error containing %q", tt.expr, err, tt.msg)
			}
		})
	}
	t.Run("values are bounded", func(t *testing.T) {
		expr := strings.Repeat("hex(", 16) + "password" + strings.Repeat(")", 16)
		_, err := v.Verify(context.Background(), Stored{Hash: "x", Format: "recipe:" + expr}, strings.Repeat("p", 100))
		if !errors.Is(err, ErrMalformedHash) || !strings.Contains(err.Error(), "grows beyond") {
			t.Errorf("got %v, want an error about a value growing beyond the limit", err)
		}
	})
}

func TestConvertAndImportable(t *testing.T) {
	v := newVerifier(t, Options{})
	for _, vecs := range loadVectors(t) {
		for _, vec := range vecs {
			if vec.Firebase != nil {
				continue
			}
			s := Stored{Hash: vec.Hash, Salt: vec.Salt, Format: vec.Format}
			h, typ, ok := v.Convert(s, "authgear")
			if ok != Importable(vec.Format, "authgear") {
				t.Errorf("%s: Convert ok %v, Importable %v; want them equal", vec.Format, ok, !ok)
			}
			if ok {
				// What travels must verify as plain bcrypt, as Authgear will.
				got, err := v.Verify(context.Background(), Stored{Hash: h, Format: "bcrypt"}, vec.Password)
				if typ != "bcrypt" || err != nil || !got {
					t.Errorf("%s: converted to %s %q which verifies %v, %v; want bcrypt that matches", vec.Format, typ, h, got, err)
				}
			}
			if h, typ, ok := v.Convert(s, "permissive"); !ok || h != vec.Hash || typ != vec.Format {
				t.Errorf("%s: permissive Convert got %q %q %v, want the hash as stored, typ %s", vec.Format, h, typ, ok, vec.Format)
			}
		}
	}
	for _, tt := range []struct {
		format string
		want   bool
	}{{"bcrypt", true}, {"django_bcrypt", true}, {"django_bcrypt_sha256", false}, {"wordpress_bcrypt", false}, {"phpass", false}, {"argon2id", false}, {"nope", false}} {
		if got := Importable(tt.format, "authgear"); got != tt.want {
			t.Errorf("Importable(%s, authgear): got %v, want %v", tt.format, got, tt.want)
		}
		if info, ok := Describe(tt.format); ok && info.Authgear != tt.want {
			t.Errorf("Describe(%s).Authgear: got %v, want %v", tt.format, info.Authgear, tt.want)
		}
	}
	if _, _, ok := v.Convert(Stored{Hash: "bcrypt$$2b$05$" + strings.Repeat("a", 53)}, "authgear"); !ok {
		t.Errorf("Convert(django bcrypt, authgear): got not ok, want the inner bcrypt")
	}
}

func TestHashRoundTrip(t *testing.T) {
	v := newVerifier(t, Options{})
	for _, name := range []string{"bcrypt", "django_pbkdf2_sha256", "phpass", "sha256_salt_password", "argon2id", "django_bcrypt"} {
		t.Run(name, func(t *testing.T) {
			s, err := Hash(name, "Tr0ub4dor&3")
			if err != nil {
				t.Fatalf("Hash: %v", err)
			}
			if s.Format != name {
				t.Errorf("Format: got %q, want %q", s.Format, name)
			}
			auto := Stored{Hash: s.Hash, Salt: s.Salt}
			if d, err := v.Detect(auto); err != nil || (d.Format != name && d.Params["alternatives"] == "") {
				t.Errorf("Detect: got %+v, %v; want %s", d, err, name)
			}
			if ok, err := v.Verify(context.Background(), auto, "Tr0ub4dor&3"); err != nil || !ok {
				t.Errorf("right password: got %v, %v; want true, nil", ok, err)
			}
			if ok, err := v.Verify(context.Background(), s, "tr0ub4dor&3"); err != nil || ok {
				t.Errorf("wrong password: got %v, %v; want false, nil", ok, err)
			}
		})
	}
	if _, err := Hash("ldap_sha", "x"); err == nil || !strings.Contains(err.Error(), "choose one of") {
		t.Errorf("Hash(ldap_sha): got %v, want an error listing what can be produced", err)
	}
}

func TestRegistry(t *testing.T) {
	names := FormatNames()
	for _, want := range []string{"bcrypt", "argon2id", "argon2i", "scrypt", "pbkdf2_sha256", "pbkdf2_sha512", "pbkdf2_sha1",
		"django_pbkdf2_sha256", "django_pbkdf2_sha1", "django_argon2", "django_bcrypt_sha256", "django_bcrypt", "django_md5",
		"django_unsalted_md5", "django_unsalted_sha1", "phpass", "drupal7", "wordpress_bcrypt", "md5_crypt", "sha256_crypt",
		"sha512_crypt", "ldap_ssha", "ldap_sha", "ldap_ssha256", "ldap_ssha512", "ldap_md5", "ldap_smd5", "ldap_crypt",
		"firebase_scrypt", "md5", "sha1", "sha256", "sha512", "sha256_salt_password", "sha256_password_salt", "recipe"} {
		if _, ok := Describe(want); !ok {
			t.Errorf("Describe(%q): not found; FormatNames = %v", want, names)
		}
	}
	for _, n := range names {
		if info, _ := Describe(n); info.Doc == "" || info.Family == "" {
			t.Errorf("Describe(%q) = %+v, want a family and a doc line", n, info)
		}
	}
	mustPanic := func(name string, groups ...[]format) {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("newRegistry: got no panic, want one")
				}
			}()
			newRegistry(groups...)
		})
	}
	mustPanic("duplicate name", bcryptFormats(), bcryptFormats()[:1])
	dupPrefix := bcryptFormats()[:1]
	dupPrefix[0].name = "other"
	mustPanic("duplicate prefix", bcryptFormats(), dupPrefix)
}

func TestVerifyContext(t *testing.T) {
	v := newVerifier(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s, _ := Hash("bcrypt", "x")
	if ok, err := v.Verify(ctx, s, "x"); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v, %v; want false, context.Canceled", ok, err)
	}
	// phpass checks the context inside its loop, too.
	h := "$P$" + string(phpassAlphabet[MaxPhpassLog2]) + "12345678" + strings.Repeat("a", 22)
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := v.Verify(ctx, Stored{Hash: h}, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("phpass 2^24 with a 20ms deadline: got %v, want context.DeadlineExceeded", err)
	}
	// Running all 2^24 rounds takes many seconds (more under -race); stopping
	// at the deadline takes milliseconds. 5s leaves room for a loaded machine.
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("phpass stopped after %v, want soon after the deadline", d)
	}
}

func TestVerifyUnknown(t *testing.T) {
	v := newVerifier(t, Options{DecoyCost: 4})
	v.VerifyUnknown(context.Background(), "anything")
	if v.decoy.Format != "bcrypt" || !strings.HasPrefix(v.decoy.Hash, "$2a$04$") {
		t.Errorf("decoy: got %q, want a bcrypt hash of cost 4", v.decoy.Hash)
	}
	s, _ := Hash("phpass", "pw")
	v = newVerifier(t, Options{DecoyHash: s.Hash})
	v.VerifyUnknown(context.Background(), "pw")
	if v.decoy.Hash != s.Hash {
		t.Errorf("decoy: got %q, want the configured hash", v.decoy.Hash)
	}
	if _, err := New(Options{DecoyCost: 40}); err == nil {
		t.Errorf("New(DecoyCost 40): got nil error, want one")
	}
}

func TestLongPasswords(t *testing.T) {
	v := newVerifier(t, Options{})
	s, _ := Hash("sha256_salt_password", "x")
	long := strings.Repeat("x", MaxPasswordLength+1)
	if ok, err := v.Verify(context.Background(), s, long); ok || err != nil {
		t.Errorf("password over %d bytes: got %v, %v; want false, nil", MaxPasswordLength, ok, err)
	}
}

func TestUnusable(t *testing.T) {
	tests := []struct {
		hash string
		want bool
	}{
		{"!vD2l3kVxqGkz1VhT0CzYf5mXo8tQ4Wn2rBs9PeLa", true}, // Django make_password(None)
		{"!", true},
		{"!!", true},
		{"*", true},
		{"*LK*", true},
		{"!$6$rounds=5000$salt$hash", true}, // a locked shadow entry
		{"$2b$12$AAAAAAAAAAAAAAAAAAAAAOTBUaEwmy1Jb.2Z7mCRFzT1mCKXFnlHi", false},
		{"pbkdf2_sha256$260000$salt$hash", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := Unusable(tt.hash); got != tt.want {
			t.Errorf("Unusable(%q): got %v, want %v", tt.hash, got, tt.want)
		}
	}
}
