package mapping

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources"
)

// TestSuggestDirectory proposes mappings for the attributes OpenLDAP and Active
// Directory entries carry, as the ldif and ldap sources name them.
func TestSuggestDirectory(t *testing.T) {
	rec := func(f map[string]any) sources.Record { return sources.Record{Row: 1, Fields: f} }
	tests := []struct {
		name    string
		samples []sources.Record
		want    strategies.Mapping
	}{
		{
			name: "openldap inetOrgPerson",
			samples: []sources.Record{rec(map[string]any{
				"dn": "uid=ada,ou=people,dc=example,dc=org", "objectClass": []any{"inetOrgPerson"}, "entryUUID": "b4ba3d80-825a-1041-8c0a-2742455d6b3d",
				"uid": "ada", "mail": "ada@example.org", "cn": "Ada Lovelace", "givenName": "Ada", "sn": "Lovelace",
				"telephoneNumber": "+44 20 7946 0001", "userPassword": "{SSHA}H7dAAQMg0UdhYfDQ+RFX8AdPL7LjrXju",
				"memberOf": []any{"cn=staff,ou=groups,dc=example,dc=org"},
			})},
			want: strategies.Mapping{
				LegacyID: col("entryUUID"), Email: col("mail"), PreferredUsername: col("uid"), Name: col("cn"),
				GivenName: col("givenName"), FamilyName: col("sn"), PhoneNumber: col("telephoneNumber"),
				PasswordHash: col("userPassword"), PasswordFormat: "auto", Groups: tf("memberOf", "rdn"),
			},
		},
		{
			name: "active directory user",
			samples: []sources.Record{rec(map[string]any{
				"dn": "CN=Ada,OU=Staff,DC=corp,DC=example", "objectGUID": []byte{1, 2, 3}, "sAMAccountName": "ada",
				"userPrincipalName": "ada@corp.example", "displayName": "Ada Lovelace", "givenName": "Ada", "sn": "Lovelace",
				"userAccountControl": "514", "memberOf": []any{"CN=Staff,OU=Groups,DC=corp,DC=example"},
			})},
			want: strategies.Mapping{
				LegacyID: col("objectGUID"), Email: col("userPrincipalName"), PreferredUsername: col("sAMAccountName"),
				Name: col("displayName"), GivenName: col("givenName"), FamilyName: col("sn"),
				Disabled: tf("userAccountControl", "ad_disabled"), Groups: tf("memberOf", "rdn"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Suggest(nil, tt.samples)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestDirectoryTransforms maps AD's userAccountControl to disabled and memberOf DNs to
// group names.
func TestDirectoryTransforms(t *testing.T) {
	m := newMapper(t, strategies.Mapping{Email: col("mail"), Disabled: tf("userAccountControl", "ad_disabled"), Groups: tf("memberOf", "rdn")}, Options{})
	tests := []struct {
		uac      any
		disabled bool
		bad      bool
	}{
		{"512", false, false},
		{"514", true, false},
		{"66050", true, false},
		{"66048", false, false},
		{int64(2), true, false},
		{"normal", false, true},
	}
	for i, tt := range tests {
		u, errs := m.Map(sources.Record{Row: i + 1, Fields: map[string]any{
			"mail": fmt.Sprintf("user%d@example.org", i), "userAccountControl": tt.uac,
			"memberOf": []any{`CN=Staff\, London,OU=Groups,DC=corp,DC=example`, "cn=admins,ou=groups,dc=example,dc=org"},
		}})
		if (len(errs) > 0) != tt.bad || u.Disabled != tt.disabled {
			t.Errorf("userAccountControl %v: got disabled %v, errors %v; want disabled %v, bad %v", tt.uac, u.Disabled, errs, tt.disabled, tt.bad)
		}
		if want := []string{"Staff, London", "admins"}; !reflect.DeepEqual(u.Groups, want) {
			t.Errorf("groups: got %q, want %q", u.Groups, want)
		}
	}
}

// TestRDNFromText: a DN in a text column (a CSV export) is one group, not one per comma.
func TestRDNFromText(t *testing.T) {
	m := newMapper(t, strategies.Mapping{Email: col("mail"), Groups: tf("memberOf", "rdn")}, Options{})
	u, errs := m.Map(sources.Record{Row: 1, Fields: map[string]any{
		"mail": "ada@example.org", "memberOf": "CN=Staff,OU=Groups,DC=corp,DC=example;CN=Admins,OU=Groups,DC=corp,DC=example",
	}})
	if want := []string{"Staff", "Admins"}; len(errs) > 0 || !reflect.DeepEqual(u.Groups, want) {
		t.Errorf("got %q, %v; want %q", u.Groups, errs, want)
	}
}
