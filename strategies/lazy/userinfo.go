package lazy

import (
	"slices"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// userInfoFields are the canonical fields a user_info blob may carry, in output order.
// Password fields and disabled never leave the bridge.
var userInfoFields = []string{
	"legacy_id", "email", "email_verified", "phone_number", "phone_number_verified", "preferred_username",
	"name", "given_name", "family_name", "middle_name", "nickname", "profile", "picture", "website",
	"gender", "birthdate", "zoneinfo", "locale", "address", "roles", "groups", "custom_attributes",
}

// knownUserInfo reports whether k may be listed in lazy.user_info: a canonical field,
// "address.<part>" or "custom_attributes.<name>".
func knownUserInfo(k string) bool {
	top, sub, nested := strings.Cut(k, ".")
	if !slices.Contains(userInfoFields, top) {
		return false
	}
	return !nested || (sub != "" && (top == "address" || top == "custom_attributes"))
}

// fullUserInfo renders every mapped, non-empty profile field of u.
func fullUserInfo(u *strategies.User) map[string]any {
	m := map[string]any{}
	str := func(k, v string) {
		if v != "" {
			m[k] = v
		}
	}
	str("legacy_id", u.LegacyID)
	str("email", u.Email)
	if u.EmailVerified != nil {
		m["email_verified"] = *u.EmailVerified
	}
	str("phone_number", u.PhoneNumber)
	if u.PhoneNumberVerified != nil {
		m["phone_number_verified"] = *u.PhoneNumberVerified
	}
	for _, f := range []struct{ k, v string }{
		{"preferred_username", u.PreferredUsername}, {"name", u.Name}, {"given_name", u.GivenName},
		{"family_name", u.FamilyName}, {"middle_name", u.MiddleName}, {"nickname", u.Nickname},
		{"profile", u.Profile}, {"picture", u.Picture}, {"website", u.Website}, {"gender", u.Gender},
		{"birthdate", u.Birthdate}, {"zoneinfo", u.Zoneinfo}, {"locale", u.Locale},
	} {
		str(f.k, f.v)
	}
	if a := u.Address; a != nil {
		addr := map[string]any{}
		for k, v := range map[string]string{"formatted": a.Formatted, "street_address": a.StreetAddress, "locality": a.Locality,
			"region": a.Region, "postal_code": a.PostalCode, "country": a.Country} {
			if v != "" {
				addr[k] = v
			}
		}
		if len(addr) > 0 {
			m["address"] = addr
		}
	}
	if len(u.Roles) > 0 {
		m["roles"] = u.Roles
	}
	if len(u.Groups) > 0 {
		m["groups"] = u.Groups
	}
	if len(u.CustomAttributes) > 0 {
		ca := make(map[string]any, len(u.CustomAttributes))
		for k, v := range u.CustomAttributes {
			ca[k] = v
		}
		m["custom_attributes"] = ca
	}
	return m
}

// userInfoOf renders the fields lazy.user_info lists (all mapped fields when it is empty).
func (b *Bridge) userInfoOf(u *strategies.User) map[string]any {
	full := fullUserInfo(u)
	if len(b.userInfo) == 0 {
		return full
	}
	out := map[string]any{}
	for _, k := range b.userInfo {
		top, sub, nested := strings.Cut(k, ".")
		v, ok := full[top]
		if !ok {
			continue
		}
		if !nested {
			out[top] = v
			continue
		}
		inner, _ := v.(map[string]any)
		if iv, ok := inner[sub]; ok {
			dst, _ := out[top].(map[string]any)
			if dst == nil {
				dst = map[string]any{}
				out[top] = dst
			}
			dst[sub] = iv
		}
	}
	return out
}
