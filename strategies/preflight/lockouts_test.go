package preflight

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources/demo"
)

// TestLockoutsPerTarget checks each target's rules against a source whose users are
// known one by one: which hashes keep their password at Authgear (bcrypt only) and at
// Kratos (translated), who is disabled, whose email is unverified, and that the rules
// only a sign-in can tell are reported as the bridge's.
func TestLockoutsPerTarget(t *testing.T) {
	hash := func(format string) string {
		s, err := passwords.Hash(format, "pw of "+format)
		if err != nil {
			t.Fatal(err)
		}
		return s.Hash
	}
	// id, email, verified, active, hash
	rows := [][]string{
		{"1", "a@example.com", "true", "true", hash("bcrypt")},               // keeps everywhere
		{"2", "b@example.com", "true", "true", hash("django_pbkdf2_sha256")}, // Kratos only
		{"3", "c@example.com", "false", "true", hash("phpass")},              // nowhere; unverified
		{"4", "d@example.com", "true", "false", hash("django_bcrypt")},       // keeps everywhere; disabled
		{"5", "e@example.com", "false", "true", hash("argon2id")},            // Kratos only; unverified
		{"6", "f@example.com", "true", "true", ""},                           // no password: not a hash rule
	}
	var b strings.Builder
	b.WriteString("id,email,verified,active,password\n")
	for _, r := range rows {
		r[4] = `"` + r[4] + `"` // argon2's parameters hold commas
		b.WriteString(strings.Join(r, ",") + "\n")
	}
	m := basicMapping
	m.Name = strategies.FieldRef{}
	m.EmailVerified = strategies.FieldRef{Column: "verified"}
	m.Disabled = strategies.FieldRef{Column: "active", Transform: "not"}
	want := map[string]struct {
		keep  int64
		rules map[string]int64
	}{
		strategies.TargetAuthgear: {2, map[string]int64{"hash_not_importable": 3, "disabled": 1, "bcrypt_72_bytes": -1}},
		strategies.TargetKratos: {4, map[string]int64{"hash_not_importable": 1, "disabled": 1, "bcrypt_72_bytes": -1,
			"password_over_72_bytes": -1, "unverified_email": 2}},
	}
	for _, own := range []string{strategies.TargetMockIDP, strategies.TargetKratos} {
		t.Run("plan target "+own, func(t *testing.T) {
			p := csvPlan(t, b.String(), m)
			p.Target = strategies.Target{Kind: own}
			if own == strategies.TargetKratos {
				p.Target.URL = "http://127.0.0.1:4434"
			}
			r, err := Run(context.Background(), p, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Lockouts) != 2 || !r.Lockouts[0].Plan || r.Lockouts[0].Target != own {
				t.Fatalf("lockouts: got %d targets, first %q (plan %v); want 2, the plan's %q first", len(r.Lockouts), r.Lockouts[0].Target, r.Lockouts[0].Plan, own)
			}
			for _, tl := range r.Lockouts {
				kind := tl.Target
				if kind == strategies.TargetMockIDP {
					kind = strategies.TargetAuthgear // the mock imitates Authgear's rules
				}
				w := want[kind]
				if tl.Keep != w.keep {
					t.Errorf("%s: keep their password: got %d, want %d", tl.Target, tl.Keep, w.keep)
				}
				got := map[string]int64{}
				for _, l := range tl.Lockouts {
					got[l.Rule] = l.Users
				}
				if fmt.Sprint(got) != fmt.Sprint(w.rules) {
					t.Errorf("%s: rule counts: got %v, want %v", tl.Target, got, w.rules)
				}
			}
			if s := Summary(r); !strings.Contains(s, "Lockouts by target") || !strings.Contains(s, "(this plan's target)") {
				t.Errorf("summary lacks the lockouts:\n%s", s)
			}
			lines := lockoutLines(r)
			wantKratos := "Ory Kratos: 4 of 6 keep their password; locked out: unverified_email 2, hash_not_importable 1, disabled 1; at sign-in (the bridge resets): password_over_72_bytes, bcrypt_72_bytes"
			if own == strategies.TargetKratos {
				wantKratos = strings.Replace(wantKratos, "Ory Kratos:", "Ory Kratos (this plan's target):", 1)
			}
			if !slices.Contains(lines, wantKratos) {
				t.Errorf("preview lines: got %q, want one %q", lines, wantKratos)
			}
		})
	}
}

// TestLockoutsDemo is plan check's lockouts on the bundled demo database (fixed
// content): per target, who keeps their password and whom each rule locks out.
func TestLockoutsDemo(t *testing.T) {
	dbPath, err := demo.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), demo.Plan(dbPath), Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := lockoutLines(r)
	want := []string{
		"the mock IdP (this plan's target): 379 of 985 keep their password; locked out: hash_not_importable 606, disabled 51; at sign-in (the bridge resets): bcrypt_72_bytes",
		"Ory Kratos: 783 of 985 keep their password; locked out: unverified_email 159, hash_not_importable 202, disabled 51; at sign-in (the bridge resets): password_over_72_bytes, bcrypt_72_bytes",
	}
	if !slices.Equal(got, want) {
		t.Errorf("demo lockouts:\ngot  %q\nwant %q", got, want)
	}
}
