package preflight

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
)

// TestDirectoryWithoutHashes: an Active Directory export has no password hashes, so
// preflight says so and recommends lazy migration by bind; an OpenLDAP export with
// userPassword gets the usual hash-based advice.
func TestDirectoryWithoutHashes(t *testing.T) {
	const ad = `dn: CN=Ada,OU=Staff,DC=corp,DC=example
sAMAccountName: ada
userPrincipalName: ada@corp.example
mail: ada@corp.example
userAccountControl: 512

dn: CN=Bob,OU=Staff,DC=corp,DC=example
sAMAccountName: bob
mail: bob@corp.example
userAccountControl: 514
`
	const openldap = `dn: uid=ada,ou=people,dc=example,dc=org
uid: ada
mail: ada@example.org
userPassword: {SSHA}H7dAAQMg0UdhYfDQ+RFX8AdPL7LjrXju
`
	tests := []struct {
		name, ldif string
		mapping    strategies.Mapping
		strategy   string
		reasonHas  string
	}{
		{"active directory", ad, strategies.Mapping{Email: strategies.FieldRef{Column: "mail"}, Disabled: strategies.FieldRef{Column: "userAccountControl", Transform: "ad_disabled"}},
			strategies.StrategyLazy, "Active Directory has no readable password hashes"},
		{"openldap with hashes", openldap, strategies.Mapping{Email: strategies.FieldRef{Column: "mail"}, PasswordHash: strategies.FieldRef{Column: "userPassword"}},
			strategies.StrategyBulk, "can be imported"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "export.ldif")
			if err := os.WriteFile(path, []byte(tt.ldif), 0o600); err != nil {
				t.Fatal(err)
			}
			p := &strategies.Plan{Version: 1, Strategy: strategies.StrategyBulk,
				Source: strategies.SourceSpec{Kind: strategies.SourceLDIF, Path: path}, Mapping: tt.mapping,
				Target: strategies.Target{Kind: strategies.TargetMockIDP, Profile: strategies.ProfilePermissive}}
			r, err := Run(context.Background(), p, Options{})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if r.Recommendation.Strategy != tt.strategy || !strings.Contains(r.Recommendation.Reason, tt.reasonHas) {
				t.Errorf("got %+v, want %s because %q", r.Recommendation, tt.strategy, tt.reasonHas)
			}
		})
	}
}
