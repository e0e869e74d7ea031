package mapping

import (
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources"
)

// TestOptionalFieldsDropped: an invalid optional field never makes the row invalid by
// default; the user moves without it, with a warning naming the field, the value's
// shape and the fix. mapping.strict_profile makes it a row error again (issue 12).
func TestOptionalFieldsDropped(t *testing.T) {
	mp := strategies.Mapping{
		Email: col("email"), PhoneNumber: col("phone"), Birthdate: col("born"), Website: col("web"),
		Locale: col("lang"), Zoneinfo: col("tz"), Picture: col("pic"), Name: col("name"),
		Address: &strategies.AddressMapping{Locality: col("city")},
	}
	tests := []struct {
		name, field, wantShape string
		fields                 map[string]any
		gone                   func(u *strategies.User) string
	}{
		{"phone libphonenumber calls invalid", "phone_number", "+99999999999", map[string]any{"phone": "+15550000001"}, func(u *strategies.User) string { return u.PhoneNumber }},
		{"birthdate in another form", "birthdate", "99/99/9999", map[string]any{"born": "31/12/1990"}, func(u *strategies.User) string { return u.Birthdate }},
		{"website without a scheme", "website", "aaaaaaa.aaa", map[string]any{"web": "example.com"}, func(u *strategies.User) string { return u.Website }},
		{"picture that is a path", "picture", "/aaa/a.aaa", map[string]any{"pic": "/img/a.png"}, func(u *strategies.User) string { return u.Picture }},
		{"locale that is not BCP 47", "locale", "aaaaaaa", map[string]any{"lang": "english"}, func(u *strategies.User) string { return u.Locale }},
		{"zoneinfo that is not IANA", "zoneinfo", "AAA+9", map[string]any{"tz": "GMT+1"}, func(u *strategies.User) string { return u.Zoneinfo }},
		{"name over the limit", "name", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…", map[string]any{"name": strings.Repeat("n", 300)}, func(u *strategies.User) string { return u.Name }},
		{"address part not UTF-8", "address.locality", "Aaa<U+FFFD>", map[string]any{"city": "Ren\xe9"}, func(u *strategies.User) string {
			if u.Address == nil {
				return ""
			}
			return u.Address.Locality
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fields["email"] = "a@x.io"
			u, errs := newMapper(t, mp, Options{}).Map(sources.Record{Row: 3, Fields: tt.fields})
			if len(errs) > 0 {
				t.Fatalf("got row errors %v, want the row valid", errs)
			}
			if len(u.Warnings) != 1 || u.Warnings[0].Field != tt.field {
				t.Fatalf("got warnings %v, want one on %s", u.Warnings, tt.field)
			}
			w := u.Warnings[0].Message
			if !strings.Contains(w, "shaped \""+tt.wantShape+"\"") || !strings.Contains(w, "strict_profile") {
				t.Errorf("got warning %q, want the value's shape %q and the strict option", w, tt.wantShape)
			}
			if got := tt.gone(u); got != "" {
				t.Errorf("got %s = %q, want it dropped", tt.field, got)
			}
			strict := mp
			strict.StrictProfile = true
			if _, errs := newMapper(t, strict, Options{}).Map(sources.Record{Row: 3, Fields: tt.fields}); len(errs) == 0 || errs[0].Field != tt.field {
				t.Errorf("strict_profile: got %v, want a row error on %s", errs, tt.field)
			}
		})
	}
	t.Run("valid values stay", func(t *testing.T) {
		u, errs := newMapper(t, mp, Options{}).Map(sources.Record{Row: 1, Fields: map[string]any{"email": "a@x.io",
			"phone": "+447911123456", "born": "1990-05-01", "web": "https://a.example", "lang": "pt-BR", "tz": "Europe/Paris"}})
		if len(errs) > 0 || len(u.Warnings) > 0 || u.Birthdate != "1990-05-01" || u.Zoneinfo != "Europe/Paris" {
			t.Errorf("got %+v, %v, want every value kept and no warning", u, errs)
		}
	})
	t.Run("the identifier stays strict", func(t *testing.T) {
		p := testPlan(strategies.Mapping{PhoneNumber: col("phone"), Email: col("email")})
		p.Bulk.Identifier = "phone_number"
		m, err := New(p, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, errs := m.Map(sources.Record{Row: 1, Fields: map[string]any{"email": "a@x.io", "phone": "+15550000001"}})
		if len(errs) == 0 || errs[0].Code != strategies.CodeInvalidPhone {
			t.Errorf("got %v, want invalid_phone: the phone number is the identifier", errs)
		}
	})
}

// TestEmailsTheIdPRefuses: addresses the real Authgear refuses are invalid rows, and the
// reason names the rule (issue 12).
func TestEmailsTheIdPRefuses(t *testing.T) {
	tests := []struct{ name, email, want string }{
		{"zero-width space", "ali\u200bce@example.com", "U+200B"},
		{"left-to-right mark", "alice@exam\u200eple.com", "U+200E"},
		{"right-to-left override", "\u202ealice@example.com", "U+202E"},
		{"NUL", "a@x.com\x00b", "U+0000"},
		{"word joiner", "a\u2060b@example.com", "U+2060"},
		{"local part of 65 octets", strings.Repeat("a", 65) + "@example.com", "65 octets long, over the limit of 64"},
		{"local part of 33 two-octet letters", strings.Repeat("é", 33) + "@example.com", "66 octets long, over the limit of 64"},
		{"address of 255 octets", strings.Repeat("a", 60) + "@" + strings.Repeat("b", 190) + ".com", "255 octets long, over the limit of 254"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := newMapper(t, strategies.Mapping{Email: col("email")}, Options{}).Map(sources.Record{Row: 1, Fields: map[string]any{"email": tt.email}})
			if len(errs) == 0 || errs[0].Code != strategies.CodeInvalidEmail || !strings.Contains(errs[0].Message, tt.want) {
				t.Errorf("got %v, want invalid_email naming %q", errs, tt.want)
			}
		})
	}
	if _, errs := newMapper(t, strategies.Mapping{Email: col("email")}, Options{}).Map(sources.Record{Row: 1, Fields: map[string]any{"email": strings.Repeat("a", 64) + "@" + strings.Repeat("b", 185) + ".com"}}); len(errs) > 0 {
		t.Errorf("254 octets with a 64-octet local part: got %v, want valid", errs)
	}
}

// TestPasswordFormatNone: users move without passwords on purpose; the hash column is
// ignored and not counted as holding hashes.
func TestPasswordFormatNone(t *testing.T) {
	m := newMapper(t, strategies.Mapping{Email: col("e"), PasswordHash: col("p"), PasswordFormat: strategies.PasswordFormatNone}, Options{})
	u, errs := m.Map(sources.Record{Row: 1, Fields: map[string]any{"e": "a@x.io", "p": "not a hash"}})
	if len(errs) > 0 || u.PasswordHash != "" || m.Hashes() != 0 {
		t.Errorf("got %v, hash %q, %d hashes, want no error, no hash", errs, u.PasswordHash, m.Hashes())
	}
}
