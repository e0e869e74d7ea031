package kratos

import (
	"encoding/json"

	"github.com/cutover/cutover/strategies"
)

// The identity schema cutover imports into (print one that fits a plan with Schema):
//
//   - traits carry the profile under the canonical field names (email, phone_number,
//     preferred_username, name, given_name, ..., address as an object), and custom
//     attributes under their own names;
//   - email, phone_number and preferred_username, when mapped, are password
//     identifiers; email is also the verification and recovery address, phone_number
//     a code-by-SMS address;
//   - legacy_id, roles and groups go to metadata_admin (visible to admins only, never
//     editable by the user), with the run marker (RunMarkerKey);
//   - disabled users become inactive identities.
//
// Kratos validates traits against the schema on import; an identity whose traits do
// not fit fails alone, with Kratos's message, in its batch result.

// profileTraits are the canonical string fields that become traits as they are.
var profileTraits = []struct{ key, title string }{
	{"name", "Name"}, {"given_name", "Given name"}, {"family_name", "Family name"},
	{"middle_name", "Middle name"}, {"nickname", "Nickname"}, {"profile", "Profile URL"},
	{"picture", "Picture URL"}, {"website", "Website"}, {"gender", "Gender"},
	{"birthdate", "Birthdate"}, {"zoneinfo", "Time zone"}, {"locale", "Locale"},
}

// Schema returns an identity schema (JSON Schema draft-07 with Kratos's extensions)
// fitting the plan's mapping: one trait per mapped profile field, the mapped
// identifiers marked as password identifiers. Load it into Kratos's
// identity.schemas and use its id as the target's schema id.
func Schema(m *strategies.Mapping, id string) ([]byte, error) {
	props := map[string]any{}
	mapped := map[string]bool{}
	for _, f := range m.Fields() {
		mapped[f.Key] = true
	}
	if mapped["email"] {
		props["email"] = map[string]any{
			"type": "string", "format": "email", "title": "E-mail", "maxLength": 320,
			"ory.sh/kratos": map[string]any{
				"credentials":  map[string]any{"password": map[string]any{"identifier": true}},
				"verification": map[string]any{"via": "email"},
				"recovery":     map[string]any{"via": "email"},
			},
		}
	}
	if mapped["phone_number"] {
		props["phone_number"] = map[string]any{
			"type": "string", "format": "tel", "title": "Phone number",
			"ory.sh/kratos": map[string]any{
				"credentials":  map[string]any{"password": map[string]any{"identifier": true}},
				"verification": map[string]any{"via": "sms"},
			},
		}
	}
	if mapped["preferred_username"] {
		props["preferred_username"] = map[string]any{
			"type": "string", "title": "Username", "minLength": 1, "maxLength": 256,
			"ory.sh/kratos": map[string]any{
				"credentials": map[string]any{"password": map[string]any{"identifier": true}},
			},
		}
	}
	if len(props) == 0 {
		return nil, &strategies.Error{Code: strategies.CodePlan, Field: "mapping",
			Message: "map email, phone_number or preferred_username: Kratos needs an identifier to sign in with"}
	}
	for _, p := range profileTraits {
		if mapped[p.key] {
			props[p.key] = map[string]any{"type": "string", "title": p.title}
		}
	}
	if m.Address != nil {
		parts := map[string]any{}
		for _, k := range []string{"formatted", "street_address", "locality", "region", "postal_code", "country"} {
			if mapped["address."+k] {
				parts[k] = map[string]any{"type": "string"}
			}
		}
		props["address"] = map[string]any{"type": "object", "title": "Address", "properties": parts, "additionalProperties": false}
	}
	for name := range m.CustomAttributes {
		if _, taken := props[name]; taken {
			return nil, &strategies.Error{Code: strategies.CodePlan, Field: "mapping.custom_attributes." + name,
				Message: "this custom attribute has the name of a canonical trait; rename it"}
		}
		props[name] = map[string]any{"title": name} // any JSON value, as the source had it
	}
	// Every identity needs one of the mapped identifiers; which one depends on the row.
	var anyOf []any
	for _, k := range []string{"email", "phone_number", "preferred_username"} {
		if mapped[k] {
			anyOf = append(anyOf, map[string]any{"required": []string{k}})
		}
	}
	schema := map[string]any{
		"$id":     "https://cutover.dev/schemas/" + id + ".schema.json",
		"$schema": "http://json-schema.org/draft-07/schema#",
		"title":   "Users moved by cutover",
		"type":    "object",
		"properties": map[string]any{
			"traits": map[string]any{
				"type": "object", "properties": props, "anyOf": anyOf, "additionalProperties": false,
			},
		},
	}
	return json.MarshalIndent(schema, "", "  ")
}

// Traits returns u's traits under the schema Schema prints: non-empty canonical
// fields under their names, custom attributes under theirs.
func Traits(u *strategies.User) map[string]any {
	t := map[string]any{}
	set := func(k, v string) {
		if v != "" {
			t[k] = v
		}
	}
	set("email", u.Email)
	set("phone_number", u.PhoneNumber)
	set("preferred_username", u.PreferredUsername)
	for _, p := range []struct{ k, v string }{
		{"name", u.Name}, {"given_name", u.GivenName}, {"family_name", u.FamilyName},
		{"middle_name", u.MiddleName}, {"nickname", u.Nickname}, {"profile", u.Profile},
		{"picture", u.Picture}, {"website", u.Website}, {"gender", u.Gender},
		{"birthdate", u.Birthdate}, {"zoneinfo", u.Zoneinfo}, {"locale", u.Locale},
	} {
		set(p.k, p.v)
	}
	if a := u.Address; a != nil && *a != (strategies.Address{}) {
		addr := map[string]any{}
		for _, p := range []struct{ k, v string }{
			{"formatted", a.Formatted}, {"street_address", a.StreetAddress}, {"locality", a.Locality},
			{"region", a.Region}, {"postal_code", a.PostalCode}, {"country", a.Country},
		} {
			if p.v != "" {
				addr[p.k] = p.v
			}
		}
		t["address"] = addr
	}
	for k, v := range u.CustomAttributes {
		if _, taken := t[k]; !taken && v != nil {
			t[k] = v
		}
	}
	return t
}

// NewIdentity builds the identity for a canonical user: traits, the verified email,
// inactive when disabled, legacy id, roles and groups in metadata_admin. pw is the
// password credential (nil for none: authonly, or a user whose hash cannot travel).
func NewIdentity(u *strategies.User, pw *Password) Identity {
	id := Identity{Traits: Traits(u), Password: pw, Inactive: u.Disabled}
	if u.EmailVerified != nil && *u.EmailVerified && u.Email != "" {
		id.VerifiedEmail = u.Email
	}
	md := map[string]any{}
	if u.LegacyID != "" {
		md["legacy_id"] = u.LegacyID
	}
	if len(u.Roles) > 0 {
		md["roles"] = u.Roles
	}
	if len(u.Groups) > 0 {
		md["groups"] = u.Groups
	}
	if len(md) > 0 {
		id.MetadataAdmin = md
	}
	return id
}
