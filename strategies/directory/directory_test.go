package directory

import (
	"context"
	"errors"
	"testing"

	"github.com/go-ldap/ldap/v3"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources/sourcetest"
)

// TestTLS connects to a real slapd with a certificate from a test CA: StartTLS on
// ldap://, and ldaps://, trusting the CA file; the system roots do not know the CA, so
// without ca_file the connection is refused rather than made in the clear.
func TestTLS(t *testing.T) {
	d := sourcetest.Slapd(t, sourcetest.SlapdOptions{TLS: true, Seed: people})
	ctx := context.Background()
	tests := []struct {
		name  string
		cfg   Config
		field string // the failing plan key; "" when the dial must work
	}{
		{"starttls", Config{URL: d.URL, StartTLS: true, CAFile: d.CAFile}, ""},
		{"ldaps", Config{URL: d.LDAPSURL, CAFile: d.CAFile}, ""},
		{"ldaps, CA not trusted", Config{URL: d.LDAPSURL}, "source.ldap.url"},
		{"starttls, CA not trusted", Config{URL: d.URL, StartTLS: true}, "source.ldap.start_tls"},
		{"ldaps and starttls", Config{URL: d.LDAPSURL, StartTLS: true, CAFile: d.CAFile}, "source.ldap.start_tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.BindDN, tt.cfg.BindPassword = d.ReaderDN, d.ReaderPassword
			c, err := Dial(ctx, tt.cfg)
			if tt.field != "" {
				var se *strategies.Error
				if !errors.As(err, &se) || se.Field != tt.field {
					t.Fatalf("got %v, want an error about %s", err, tt.field)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dial: %v", err)
			}
			defer c.Close()
			if _, ok := c.c.TLSConnectionState(); !ok {
				t.Errorf("the connection is not TLS")
			}
			n := 0
			if err := c.Each(ctx, Search{BaseDN: "ou=people," + d.BaseDN}, func(*ldap.Entry) error { n++; return nil }); err != nil || n == 0 {
				t.Errorf("search over TLS: %d entries, %v", n, err)
			}
		})
	}
	v, err := NewBindVerifier(Config{URL: d.LDAPSURL, CAFile: d.CAFile}, "uid={login},ou=people,dc=example,dc=org")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := v.Verify(ctx, "ada", "secret"); !ok || err != nil {
		t.Errorf("bind over ldaps: got %v, %v; want true", ok, err)
	}
}
