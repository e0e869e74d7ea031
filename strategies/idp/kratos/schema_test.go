package kratos

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/cutover/cutover/strategies"
)

var update = flag.Bool("update", false, "rewrite testdata/identity.schema.json from Schema")

// testMapping is the mapping whose schema the real Kratos of the tests runs with
// (testdata/identity.schema.json), so the printed schema is proven to load and to
// validate imported traits.
func testMapping() *strategies.Mapping {
	return &strategies.Mapping{
		LegacyID:      strategies.FieldRef{Column: "id"},
		Email:         strategies.FieldRef{Column: "email"},
		EmailVerified: strategies.FieldRef{Column: "email_verified"},
		Name:          strategies.FieldRef{Column: "name"},
		GivenName:     strategies.FieldRef{Column: "first_name"},
		FamilyName:    strategies.FieldRef{Column: "last_name"},
		Roles:         strategies.FieldRef{Column: "roles"},
		Disabled:      strategies.FieldRef{Column: "is_active", Transform: "not"},
		PasswordHash:  strategies.FieldRef{Column: "password"},
	}
}

func TestSchemaGolden(t *testing.T) {
	got, err := Schema(testMapping(), "user")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	path := filepath.Join("testdata", "identity.schema.json")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Schema differs from %s (run with -update if the change is meant):\n%s", path, got)
	}
}

func TestSchemaTraits(t *testing.T) {
	for _, tc := range []struct {
		name    string
		m       *strategies.Mapping
		wantErr bool
		traits  []string
		ids     []string // password identifiers
	}{
		{name: "email and profile", m: testMapping(), traits: []string{"email", "family_name", "given_name", "name"}, ids: []string{"email"}},
		{name: "phone and username", m: &strategies.Mapping{PhoneNumber: strategies.FieldRef{Column: "p"}, PreferredUsername: strategies.FieldRef{Column: "u"}, Locale: strategies.FieldRef{Column: "l"}},
			traits: []string{"locale", "phone_number", "preferred_username"}, ids: []string{"phone_number", "preferred_username"}},
		{name: "custom attribute", m: &strategies.Mapping{Email: strategies.FieldRef{Column: "e"}, CustomAttributes: map[string]strategies.FieldRef{"plan": {Column: "plan"}}},
			traits: []string{"email", "plan"}, ids: []string{"email"}},
		{name: "custom attribute named like a trait", m: &strategies.Mapping{Email: strategies.FieldRef{Column: "e"}, CustomAttributes: map[string]strategies.FieldRef{"email": {Column: "x"}}}, wantErr: true},
		{name: "no identifier", m: &strategies.Mapping{Name: strategies.FieldRef{Column: "n"}}, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Schema(tc.m, "user")
			if (err != nil) != tc.wantErr {
				t.Fatalf("Schema: %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			var s struct {
				Properties struct {
					Traits struct {
						Properties map[string]struct {
							Kratos struct {
								Credentials struct {
									Password struct {
										Identifier bool `json:"identifier"`
									} `json:"password"`
								} `json:"credentials"`
							} `json:"ory.sh/kratos"`
						} `json:"properties"`
					} `json:"traits"`
				} `json:"properties"`
			}
			if err := json.Unmarshal(b, &s); err != nil {
				t.Fatal(err)
			}
			var traits, ids []string
			for _, k := range sortedKeys(s.Properties.Traits.Properties) {
				traits = append(traits, k)
				if s.Properties.Traits.Properties[k].Kratos.Credentials.Password.Identifier {
					ids = append(ids, k)
				}
			}
			if !reflect.DeepEqual(traits, tc.traits) || !reflect.DeepEqual(ids, tc.ids) {
				t.Errorf("traits %v, identifiers %v; want %v, %v", traits, ids, tc.traits, tc.ids)
			}
		})
	}
}

func TestNewIdentity(t *testing.T) {
	yes := true
	u := &strategies.User{LegacyID: "42", Email: "a@example.com", EmailVerified: &yes, Name: "A", Roles: []string{"admin"},
		Disabled: true, Address: &strategies.Address{Country: "FR"}, CustomAttributes: map[string]any{"plan": "pro", "email": "ignored"}}
	id := NewIdentity(u, &Password{MigrationHook: true})
	want := map[string]any{"email": "a@example.com", "name": "A", "address": map[string]any{"country": "FR"}, "plan": "pro"}
	if !reflect.DeepEqual(id.Traits, want) {
		t.Errorf("traits %v, want %v", id.Traits, want)
	}
	if !id.Inactive || id.VerifiedEmail != "a@example.com" || id.MetadataAdmin["legacy_id"] != "42" || !reflect.DeepEqual(id.MetadataAdmin["roles"], []string{"admin"}) {
		t.Errorf("identity %+v: want inactive, verified email, legacy id and roles in metadata_admin", id)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
