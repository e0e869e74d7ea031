package passwords

import (
	"context"
	"strings"
	"testing"
)

// Issue 13, item 15: a value that is not a hash we know, or breaks its format, is
// described by its shape, never by its content. Legacy tables do hold plaintext
// passwords where hashes should be, and the messages end up in failures.csv, outcomes
// and the bridge's logs. Each value below carries a fragment (leak) that an earlier
// message quoted.
func TestErrorsDoNotQuoteHashContent(t *testing.T) {
	v := newVerifier(t, Options{})
	a53 := strings.Repeat("a", 53)
	tests := []struct {
		name  string
		s     Stored
		leak  string // must not appear in the message
		shape string // what the message says instead
	}{
		{"unknown value with a dollar (the issue's example)", Stored{Hash: "$ecretPa55:hunter2"}, "ecretPa55", "18-character value"},
		{"unknown value in braces", Stored{Hash: "{Hunter2}zz9"}, "Hunter2", "12-character value"},
		{"unknown value, plain text", Stored{Hash: "correct horse battery"}, "horse", "21-character value"},
		{"bcrypt cost", Stored{Hash: "$2b$Q7$" + a53}, "Q7", "cost"},
		{"bcrypt variant", Stored{Hash: "$2q$10$" + a53}, "$2q", "variant"},
		{"crypt alphabet", Stored{Hash: "$6$sa!t$" + strings.Repeat("a", 86)}, "'!'", "alphabet"},
		{"pbkdf2 iterations", Stored{Hash: "pbkdf2_sha256$Sekr3t$salt$" + strings.Repeat("A", 44)}, "Sekr3t", "iteration count"},
		{"argon2 parameter value", Stored{Hash: "$argon2id$v=19$m=Sekr3t,t=2,p=1$c2FsdA$aGFzaGhhc2g"}, "Sekr3t", "parameter"},
		{"argon2 parameter name", Stored{Hash: "$argon2id$v=19$m=1024,Sekr3t=2,p=1$c2FsdA$aGFzaGhhc2g"}, "Sekr3t", "parameter"},
		{"argon2 missing parameter", Stored{Hash: "$argon2id$v=19$m=1024,t=2$c2FsdA$aGFzaGhhc2g"}, "m=1024,t=2", "m, t and p"},
		{"argon2 version", Stored{Hash: "$argon2id$v=Sekr3t$m=1024,t=2,p=1$c2FsdA$aGFzaGhhc2g"}, "Sekr3t", "version"},
		{"django argon2 variant", Stored{Hash: "argon2$Sekr3t$v=19$m=1024,t=2,p=1$c2FsdA$aGFzaGhhc2g"}, "Sekr3t", "variant"},
		{"scrypt parameter value", Stored{Hash: "$scrypt$ln=Sekr3t,r=8,p=1$c2FsdA$aGFzaGhhc2g"}, "Sekr3t", "parameter"},
		{"scrypt parameter name", Stored{Hash: "$scrypt$Sekr3t=1,r=8,p=1$c2FsdA$aGFzaGhhc2g"}, "Sekr3t", "parameter"},
		{"phpass count character", Stored{Hash: "$P$Z" + strings.Repeat("a", 30)}, "'Z'", "count character"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, derr := v.Detect(tt.s)
			_, verr := v.Verify(context.Background(), tt.s, "password")
			for _, err := range []error{derr, verr} {
				if err == nil {
					t.Fatalf("got no error, want one describing the value")
				}
				if msg := err.Error(); strings.Contains(msg, tt.leak) {
					t.Errorf("message quotes the value's content %q: %s", tt.leak, msg)
				} else if !strings.Contains(msg, tt.shape) {
					t.Errorf("message: got %q, want it to contain %q", msg, tt.shape)
				}
			}
		})
	}
}

// describeShape names a prefix only when it is a scheme marker we know, and then in
// our own spelling: the rest of the value is reduced to its length and character classes.
func TestDescribeShape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"$ecretPa55:hunter2", "an 18-character value of letters, digits and symbols"},
		{"deadbe3f", "an 8-character value of lower-case letters and digits"},
		{"$y$j9T$abc", "a 10-character value of letters, digits and symbols, starting with the scheme marker $y$ (yescrypt)"},
		{"{sha384}ABC", "an 11-character value of letters, digits and symbols, starting with the scheme marker {SHA384}"},
		{"pässwort", "an 8-character value of lower-case letters and non-ASCII characters"},
		{"two words", "a 9-character value of lower-case letters and spaces"},
	}
	for _, tt := range tests {
		if got := describeShape(tt.in); got != tt.want {
			t.Errorf("describeShape(%d characters): got %q, want %q", len(tt.in), got, tt.want)
		}
	}
}
