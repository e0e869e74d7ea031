package lazy

import (
	"context"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
)

// TestTargetRulesAtTheBridge is issue 19's lockout, reproduced without the IdP: a user
// whose legacy bcrypt hash was made from a 100-byte password (bcrypt read its first 72
// bytes). The legacy hash accepts both the full password and its 72-byte prefix; the
// bridge must answer neither "verified" (Kratos refuses over 72 bytes, and a prefix
// must never become the stored password), must not record them as migrated, and must
// say why. A long password under a format that reads it whole is the target's
// business: fine at the mock IdP, refused for Kratos.
func TestTargetRulesAtTheBridge(t *testing.T) {
	long := strings.Repeat("correct horse battery staple ", 4)[:100]
	prefix := long[:72]
	h, err := bcrypt.GenerateFromPassword([]byte(prefix), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	ph, err := passwords.Hash("phpass", long)
	if err != nil {
		t.Fatal(err)
	}
	longBcrypt := legacyUser{id: 7, email: "long.bcrypt@example.com", name: "Long", active: true, password: long, hash: string(h)}
	longPhpass := legacyUser{id: 8, email: "long.phpass@example.com", name: "Long P", active: true, password: long, hash: ph.Hash, format: "phpass"}
	type try struct {
		user     legacyUser
		password string
		rule     string // "" = verified
	}
	for _, tc := range []struct {
		target strategies.Target
		tries  []try
	}{
		{strategies.Target{Kind: strategies.TargetKratos, URL: "http://127.0.0.1:4434"}, []try{
			{alice, alice.password, ""},
			{longBcrypt, long, "password_over_72_bytes"},
			{longBcrypt, prefix, "bcrypt_72_bytes"},
			{longPhpass, long, "password_over_72_bytes"},
		}},
		{strategies.Target{Kind: strategies.TargetMockIDP, Profile: strategies.ProfileAuthgear}, []try{
			{alice, alice.password, ""},
			{longBcrypt, long, "bcrypt_72_bytes"},
			{longBcrypt, prefix, "bcrypt_72_bytes"},
			{longPhpass, long, ""},
		}},
	} {
		t.Run(tc.target.Kind, func(t *testing.T) {
			p := sqlitePlan(t, []legacyUser{alice, longBcrypt, longPhpass}, bcrypt.MinCost)
			p.Target = tc.target
			tb := startBridge(t, p, Config{})
			want := 0
			for _, tr := range tc.tries {
				res, err := tb.Verify(context.Background(), tr.user.email, tr.password)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case tr.rule == "" && !res.OK:
					t.Errorf("%s (%d bytes): got %s, want verified", tr.user.email, len(tr.password), res.Reason)
				case tr.rule != "" && (res.OK || res.Reason != ReasonTargetRule || res.Rule != tr.rule || res.Why == ""):
					t.Errorf("%s (%d bytes): got OK %v, reason %q, rule %q; want refused by %s with a reason", tr.user.email, len(tr.password), res.OK, res.Reason, res.Rule, tr.rule)
				}
				if tr.rule == "" {
					want++
				}
			}
			m, err := tb.Store().Migrated(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if m.Users != want {
				t.Errorf("migrated in the store: got %d, want %d (only the verified)", m.Users, want)
			}
			if got := tb.Stats().TargetRefused; got != int64(len(tc.tries)-want) {
				t.Errorf("target_refused: got %d, want %d", got, len(tc.tries)-want)
			}
			if strings.Contains(tb.Log.String(), long[:20]) {
				t.Errorf("the bridge logged the password")
			}
		})
	}
}
