package demo

import (
	"context"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources"
)

// TestDemoDatabase reads the embedded database through the sources package as a
// rehearsal would and checks it holds what the demo promises.
func TestDemoDatabase(t *testing.T) {
	ctx := context.Background()
	dbPath, err := Write(t.TempDir())
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	p := Plan(dbPath)
	if err := p.Validate(); err != nil {
		t.Fatalf("Plan does not validate: %v", err)
	}
	src, err := sources.Open(ctx, p)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer src.Close()

	byEmail := map[string]map[string]any{}
	folded := map[string]int{}
	formats := map[string]int{}
	var rows, disabled, unverified, empty, invalid, dups int
	v, _ := passwords.New(passwords.Options{})
	err = src.Read(ctx, "", func(r sources.Record) error {
		rows++
		f := r.Fields
		email, _ := f["email"].(string)
		if f["is_active"] == int64(0) {
			disabled++
		}
		if f["email_verified"] == int64(0) {
			unverified++
		}
		switch {
		case email == "":
			empty++
		case !strings.Contains(email, "@") || strings.HasPrefix(email, "@") || strings.HasSuffix(email, "@") || strings.Contains(email, " "):
			invalid++
		}
		if email != "" {
			folded[strings.ToLower(email)]++
			if folded[strings.ToLower(email)] == 2 {
				dups++
			}
			byEmail[email] = f
		}
		salt, _ := f["salt"].(string)
		if d, err := v.Detect(passwords.Stored{Hash: f["password"].(string), Salt: salt}); err == nil {
			formats[d.Format]++
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	checks := []struct {
		name     string
		got, min int
	}{
		{"rows", rows, 1000}, {"disabled", disabled, 10}, {"unverified", unverified, 50},
		{"empty emails", empty, 2}, {"invalid emails", invalid, 3}, {"case-only duplicate emails", dups, 3},
		{"bcrypt", formats["bcrypt"], 100}, {"django_pbkdf2_sha256", formats["django_pbkdf2_sha256"], 100},
		{"phpass", formats["phpass"], 100}, {"sha256_salt_password", formats["sha256_salt_password"], 50},
	}
	for _, c := range checks {
		if c.got < c.min {
			t.Errorf("%s: got %d, want at least %d", c.name, c.got, c.min)
		}
	}

	t.Run("known passwords verify", func(t *testing.T) {
		known := KnownPasswords()
		if len(known) < 40 {
			t.Fatalf("got %d known passwords, want about 50", len(known))
		}
		seen := map[string]bool{}
		for _, c := range known {
			f, ok := byEmail[c.Email]
			if !ok {
				t.Errorf("%s: not in the database", c.Email)
				continue
			}
			salt, _ := f["salt"].(string)
			s := passwords.Stored{Hash: f["password"].(string), Salt: salt, Format: "auto"}
			d, err := v.Detect(s)
			if err != nil {
				t.Errorf("%s: detect: %v", c.Email, err)
				continue
			}
			s.Format = d.Format
			ok, err = v.Verify(ctx, s, c.Password)
			if err != nil || !ok {
				t.Errorf("%s (%s): got %v, %v; want the documented password to verify", c.Email, d.Format, ok, err)
			}
			if !seen[d.Format] { // once per format: bcrypt is slow under -race
				if ok, _ := v.Verify(ctx, s, c.Password+"x"); ok {
					t.Errorf("%s: a wrong password verified", c.Email)
				}
			}
			seen[d.Format] = true
		}
		for _, f := range []string{"bcrypt", "django_pbkdf2_sha256", "phpass", "sha256_salt_password"} {
			if !seen[f] {
				t.Errorf("no known password for format %s", f)
			}
		}
	})

	t.Run("find by email ignores case", func(t *testing.T) {
		c := KnownPasswords()[0]
		got, err := src.(sources.Finder).Find(ctx, "email", strings.ToUpper(c.Email))
		if err != nil || len(got) != 1 || got[0].Fields["email"] != c.Email {
			t.Errorf("Find(%s): got %v, %v; want one row", strings.ToUpper(c.Email), got, err)
		}
	})
	if p.Strategy != strategies.StrategyBulk || p.Target.Kind != strategies.TargetMockIDP {
		t.Errorf("Plan: got strategy %q target %q, want bulk into the mock IdP", p.Strategy, p.Target.Kind)
	}
}
