package mapping

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources"
)

// testPlan returns a valid plan around a mapping.
func testPlan(m strategies.Mapping) *strategies.Plan {
	return &strategies.Plan{
		Version:  strategies.PlanVersion,
		Strategy: strategies.StrategyBulk,
		Source:   strategies.SourceSpec{Kind: strategies.SourceCSV, Path: "users.csv"},
		Mapping:  m,
		Target:   strategies.Target{Kind: strategies.TargetMockIDP},
	}
}

func col(c string) strategies.FieldRef { return strategies.FieldRef{Column: c} }
func tf(c, t string) strategies.FieldRef {
	return strategies.FieldRef{Column: c, Transform: t}
}

func newMapper(t testing.TB, m strategies.Mapping, opts Options) *Mapper {
	t.Helper()
	mp, err := New(testPlan(m), opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return mp
}

func ptr[T any](v T) *T { return &v }

func TestMapNormalises(t *testing.T) {
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte("hunter2"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	birth := time.Date(1990, 5, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		mapping strategies.Mapping
		region  string
		fields  map[string]any
		check   func(u *strategies.User) (got, want any)
	}{
		{"email trimmed, case kept (bulk lower-cases what it sends)", strategies.Mapping{Email: col("email")}, "",
			map[string]any{"email": "  Alice@Example.COM \t"},
			func(u *strategies.User) (any, any) { return u.Email, "Alice@Example.COM" }},
		{"django unusable password moves without a password", strategies.Mapping{Email: col("e"), PasswordHash: col("p")}, "",
			map[string]any{"e": "a@x.io", "p": "!vD2l3kVxqGkz1VhT0CzYf5mXo8tQ4Wn2rBs9PeLa"},
			func(u *strategies.User) (any, any) { return u.PasswordHash + "|" + u.PasswordFormat, "|" }},
		{"email lower transform", strategies.Mapping{Email: tf("email", "lower")}, "",
			map[string]any{"email": "Alice@Example.COM"},
			func(u *strategies.User) (any, any) { return u.Email, "alice@example.com" }},
		{"bool t", strategies.Mapping{Email: col("e"), EmailVerified: col("v")}, "",
			map[string]any{"e": "a@x.io", "v": "t"},
			func(u *strategies.User) (any, any) { return u.EmailVerified, ptr(true) }},
		{"bool NO", strategies.Mapping{Email: col("e"), EmailVerified: col("v")}, "",
			map[string]any{"e": "a@x.io", "v": " NO "},
			func(u *strategies.User) (any, any) { return u.EmailVerified, ptr(false) }},
		{"bool int64 1", strategies.Mapping{Email: col("e"), EmailVerified: col("v")}, "",
			map[string]any{"e": "a@x.io", "v": int64(1)},
			func(u *strategies.User) (any, any) { return u.EmailVerified, ptr(true) }},
		{"bool mysql bit", strategies.Mapping{Email: col("e"), EmailVerified: col("v")}, "",
			map[string]any{"e": "a@x.io", "v": []byte{0}},
			func(u *strategies.User) (any, any) { return u.EmailVerified, ptr(false) }},
		{"bool empty is unknown", strategies.Mapping{Email: col("e"), EmailVerified: col("v")}, "",
			map[string]any{"e": "a@x.io", "v": ""},
			func(u *strategies.User) (any, any) { return u.EmailVerified, (*bool)(nil) }},
		{"verified column holding a timestamp", strategies.Mapping{Email: col("e"), EmailVerified: col("v")}, "",
			map[string]any{"e": "a@x.io", "v": "2021-03-04 10:11:12"},
			func(u *strategies.User) (any, any) { return u.EmailVerified, ptr(true) }},
		{"verified_at with a time", strategies.Mapping{Email: col("e"), EmailVerified: tf("v", "verified_at")}, "",
			map[string]any{"e": "a@x.io", "v": time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)},
			func(u *strategies.User) (any, any) { return u.EmailVerified, ptr(true) }},
		{"verified_at NULL", strategies.Mapping{Email: col("e"), EmailVerified: tf("v", "verified_at")}, "",
			map[string]any{"e": "a@x.io", "v": nil},
			func(u *strategies.User) (any, any) { return u.EmailVerified, ptr(false) }},
		{"verified_at mysql zero date", strategies.Mapping{Email: col("e"), EmailVerified: tf("v", "verified_at")}, "",
			map[string]any{"e": "a@x.io", "v": "0000-00-00 00:00:00"},
			func(u *strategies.User) (any, any) { return u.EmailVerified, ptr(false) }},
		{"is_active 0 -> disabled", strategies.Mapping{Email: col("e"), Disabled: tf("is_active", "not")}, "",
			map[string]any{"e": "a@x.io", "is_active": "0"},
			func(u *strategies.User) (any, any) { return u.Disabled, true }},
		{"is_active true -> enabled", strategies.Mapping{Email: col("e"), Disabled: tf("is_active", "not")}, "",
			map[string]any{"e": "a@x.io", "is_active": true},
			func(u *strategies.User) (any, any) { return u.Disabled, false }},
		{"phone with country code", strategies.Mapping{PhoneNumber: col("p")}, "",
			map[string]any{"p": "+44 7911 123456"},
			func(u *strategies.User) (any, any) { return u.PhoneNumber, "+447911123456" }},
		{"national phone with a region", strategies.Mapping{PhoneNumber: col("p")}, "gb",
			map[string]any{"p": "07911 123456"},
			func(u *strategies.User) (any, any) { return u.PhoneNumber, "+447911123456" }},
		{"roles comma separated", strategies.Mapping{Email: col("e"), Roles: col("r")}, "",
			map[string]any{"e": "a@x.io", "r": "admin, editor,,"},
			func(u *strategies.User) (any, any) { return u.Roles, []string{"admin", "editor"} }},
		{"roles postgres array literal", strategies.Mapping{Email: col("e"), Roles: col("r")}, "",
			map[string]any{"e": "a@x.io", "r": "{admin,editor}"},
			func(u *strategies.User) (any, any) { return u.Roles, []string{"admin", "editor"} }},
		{"groups json array", strategies.Mapping{Email: col("e"), Groups: tf("g", "upper")}, "",
			map[string]any{"e": "a@x.io", "g": `["staff","ops"]`},
			func(u *strategies.User) (any, any) { return u.Groups, []string{"STAFF", "OPS"} }},
		{"custom attribute keeps its type", strategies.Mapping{Email: col("e"), CustomAttributes: map[string]strategies.FieldRef{"member_id": col("member_no")}}, "",
			map[string]any{"e": "a@x.io", "member_no": int64(42)},
			func(u *strategies.User) (any, any) { return u.CustomAttributes, map[string]any{"member_id": int64(42)} }},
		{"custom attribute as string", strategies.Mapping{Email: col("e"), CustomAttributes: map[string]strategies.FieldRef{"member_id": tf("member_no", "string")}}, "",
			map[string]any{"e": "a@x.io", "member_no": int64(42)},
			func(u *strategies.User) (any, any) { return u.CustomAttributes, map[string]any{"member_id": "42"} }},
		{"dotted path into a nested record", strategies.Mapping{Email: col("e"), PasswordHash: col("password.password_hash")}, "",
			map[string]any{"e": "a@x.io", "password": map[string]any{"password_hash": string(bcryptHash)}},
			func(u *strategies.User) (any, any) { return u.PasswordFormat, "bcrypt" }},
		{"flattened dotted path", strategies.Mapping{Email: col("e"), PasswordHash: col("password.password_hash")}, "",
			map[string]any{"e": "a@x.io", "password.password_hash": string(bcryptHash)},
			func(u *strategies.User) (any, any) { return u.PasswordHash, string(bcryptHash) }},
		{"no hash means no password", strategies.Mapping{Email: col("e"), PasswordHash: col("pw")}, "",
			map[string]any{"e": "a@x.io", "pw": nil},
			func(u *strategies.User) (any, any) { return u.PasswordFormat, "" }},
		{"birthdate from a DATE column", strategies.Mapping{Email: col("e"), Birthdate: col("dob")}, "",
			map[string]any{"e": "a@x.io", "dob": birth},
			func(u *strategies.User) (any, any) { return u.Birthdate, "1990-05-01" }},
		{"legacy id from a number", strategies.Mapping{Email: col("e"), LegacyID: col("id")}, "",
			map[string]any{"e": "a@x.io", "id": float64(1234567)},
			func(u *strategies.User) (any, any) { return u.LegacyID, "1234567" }},
		{"address parts", strategies.Mapping{Email: col("e"), Address: &strategies.AddressMapping{Locality: col("city"), Country: col("cc")}}, "",
			map[string]any{"e": "a@x.io", "city": " Lyon ", "cc": "FR"},
			func(u *strategies.User) (any, any) {
				return u.Address, &strategies.Address{Locality: "Lyon", Country: "FR"}
			}},
		{"unicode email", strategies.Mapping{Email: col("e")}, "",
			map[string]any{"e": "josé@exämple.com"},
			func(u *strategies.User) (any, any) { return u.Email, "josé@exämple.com" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.mapping.PhoneRegion = tt.region
			m := newMapper(t, tt.mapping, Options{})
			u, errs := m.Map(sources.Record{Row: 1, Line: 2, Fields: tt.fields})
			if len(errs) > 0 {
				t.Fatalf("got errors %v, want none", errs)
			}
			if got, want := tt.check(u); !reflect.DeepEqual(got, want) {
				t.Errorf("got %s, want %s", show(got), show(want))
			}
		})
	}
}

func show(v any) string {
	if b, ok := v.(*bool); ok {
		if b == nil {
			return "nil"
		}
		return fmt.Sprintf("&%v", *b)
	}
	return fmt.Sprintf("%#v", v)
}

func TestMapErrors(t *testing.T) {
	base := strategies.Mapping{
		Email:        col("email"),
		PhoneNumber:  col("phone"),
		Name:         col("name"),
		PasswordHash: col("pw"),
		Disabled:     tf("active", "not"),
		// Strict: optional fields' problems are row errors here (TestOptionalFieldsDropped
		// covers the default).
		StrictProfile: true,
	}
	tests := []struct {
		name      string
		fields    map[string]any
		wantCode  strategies.Code
		wantField string
		wantMsg   string
	}{
		{"no @", map[string]any{"email": "alice.example.com"}, strategies.CodeInvalidEmail, "email", "has no @"},
		{"two @", map[string]any{"email": "a@b@example.com"}, strategies.CodeInvalidEmail, "email", "more than one @"},
		{"space", map[string]any{"email": "ali ce@example.com"}, strategies.CodeInvalidEmail, "email", "contains spaces"},
		{"dotless domain", map[string]any{"email": "alice@localhost"}, strategies.CodeInvalidEmail, "email", "domain has no dot"},
		{"display name form", map[string]any{"email": "<alice@example.com>"}, strategies.CodeInvalidEmail, "email", "not a bare address"},
		{"empty email", map[string]any{"email": "  "}, strategies.CodeMissingIdentifier, "email", "no other email, phone number or username"},
		{"empty email with a phone", map[string]any{"email": "", "phone": "+447911123456"}, strategies.CodeMissingIdentifier, "email", "users are identified by email"},
		{"email column absent", map[string]any{"name": "x"}, strategies.CodeMissingIdentifier, "email", "fill one in"},
		{"10,000-character name", map[string]any{"email": "a@x.io", "name": strings.Repeat("n", 10_000)}, strategies.CodeTooLong, "name", "is 10000 characters long, over the limit of 255"},
		{"over-long email", map[string]any{"email": strings.Repeat("a", 60) + "@" + strings.Repeat("b", 300) + ".com"}, strategies.CodeTooLong, "email", "over the limit of 320"},
		{"bad boolean", map[string]any{"email": "a@x.io", "active": "maybe"}, strategies.CodeInvalidValue, "disabled", `"maybe" is not a boolean`},
		{"not UTF-8", map[string]any{"email": "a@x.io", "name": "Ren\xe9"}, strategies.CodeInvalidValue, "name", "not valid UTF-8"},
		{"phone without country code", map[string]any{"email": "a@x.io", "phone": "07911 123456"}, strategies.CodeInvalidPhone, "phone_number", "has no +country code"},
		{"not a phone number", map[string]any{"email": "a@x.io", "phone": "+44 12"}, strategies.CodeInvalidPhone, "phone_number", "not a valid number"},
		{"unknown hash", map[string]any{"email": "a@x.io", "pw": "not a hash at all!"}, strategies.CodeUnknownHash, "password_hash", ""},
		{"bad email and long name: email first", map[string]any{"email": "nope", "name": strings.Repeat("n", 300)}, strategies.CodeInvalidEmail, "email", "has no @"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMapper(t, base, Options{ShowValues: true})
			_, errs := m.Map(sources.Record{Row: 7, Line: 9, Fields: tt.fields})
			if len(errs) == 0 {
				t.Fatalf("got no errors, want %s", tt.wantCode)
			}
			e := errs[0]
			if e.Code != tt.wantCode || e.Field != tt.wantField {
				t.Fatalf("got %s on %q (%v), want %s on %q", e.Code, e.Field, e, tt.wantCode, tt.wantField)
			}
			if e.Row != 7 || e.Line != 9 {
				t.Errorf("got row %d line %d, want row 7 line 9", e.Row, e.Line)
			}
			if !strings.Contains(e.Message, tt.wantMsg) {
				t.Errorf("got message %q, want it to contain %q", e.Message, tt.wantMsg)
			}
		})
	}
}

func TestMessagesHideValuesByDefault(t *testing.T) {
	m := newMapper(t, strategies.Mapping{Email: col("email")}, Options{})
	_, errs := m.Map(sources.Record{Row: 1, Fields: map[string]any{"email": "secret-person.example.com"}})
	if len(errs) != 1 {
		t.Fatalf("got %d errors, want 1", len(errs))
	}
	if strings.Contains(errs[0].Error(), "secret-person") {
		t.Errorf("got %q, want the value left out without ShowValues", errs[0].Error())
	}
}

func TestDuplicates(t *testing.T) {
	m := newMapper(t, strategies.Mapping{Email: col("email"), PreferredUsername: col("login"), StrictProfile: true}, Options{ShowValues: true})
	rows := []map[string]any{
		{"email": "Alice@X.com", "login": "alice"},  // 1: wins
		{"email": "bob@x.com", "login": "bob"},      // 2
		{"email": "alice@x.COM", "login": "alice2"}, // 3: duplicate email of 1
		{"email": "carol@x.com", "login": "BOB"},    // 4: duplicate username of 2
		{"email": "ALICE@x.com", "login": "alice3"}, // 5: duplicate email of 1 again
		{"email": "Zoë@x.com", "login": "zoe"},      // 6
		{"email": "ZOË@X.COM", "login": "zoe2"},     // 7: duplicate (non-ASCII case folding) of 6
		{"email": "not-an-email", "login": "dave"},  // 8: invalid, not tracked
		{"email": "not-an-email", "login": "erin"},  // 9: invalid, not a duplicate
	}
	want := map[int]string{3: "email: duplicate of row 1", 4: "preferred_username: duplicate of row 2", 5: "email: duplicate of row 1", 7: "email: duplicate of row 6"}
	for i, f := range rows {
		row := i + 1
		_, errs := m.Map(sources.Record{Row: row, Fields: f})
		var dup string
		for _, e := range errs {
			if e.Code == strategies.CodeDuplicate {
				dup = e.Field + ": " + e.Message
			}
		}
		if w, ok := want[row]; ok {
			if !strings.HasPrefix(dup, w) {
				t.Errorf("row %d: got %q, want it to start with %q", row, dup, w)
			}
		} else if dup != "" {
			t.Errorf("row %d: got %q, want no duplicate", row, dup)
		}
	}
	if got := m.DuplicateGroups(); got != 3 {
		t.Errorf("got %d duplicate groups, want 3", got)
	}
}

func TestNewRejectsBadMappings(t *testing.T) {
	tests := []struct {
		name      string
		mapping   strategies.Mapping
		bulkID    string
		wantField string
	}{
		{"not on email", strategies.Mapping{Email: tf("email", "not")}, "", "mapping.email"},
		{"split on name", strategies.Mapping{Email: col("e"), Name: tf("n", "split")}, "", "mapping.name"},
		{"lower on a boolean", strategies.Mapping{Email: col("e"), Disabled: tf("d", "lower")}, "", "mapping.disabled"},
		{"e164 on email", strategies.Mapping{Email: tf("e", "e164")}, "", "mapping.email"},
		{"unknown region", strategies.Mapping{Email: col("e"), PhoneRegion: "XX"}, "", "mapping.phone_region"},
		{"identifier not mapped", strategies.Mapping{Email: col("e")}, "phone_number", "bulk.identifier"},
		{"unknown password format", strategies.Mapping{Email: col("e"), PasswordHash: col("pw"), PasswordFormat: "rot13"}, "", "mapping.password_format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := testPlan(tt.mapping)
			p.Bulk.Identifier = tt.bulkID
			_, err := New(p, Options{})
			if err == nil {
				t.Fatalf("got no error, want one on %s", tt.wantField)
			}
			var e *strategies.Error
			if !asError(err, &e) || e.Code != strategies.CodePlan || e.Field != tt.wantField {
				t.Errorf("got %v, want a plan error on %s", err, tt.wantField)
			}
		})
	}
}

func asError(err error, target **strategies.Error) bool {
	e, ok := err.(*strategies.Error)
	*target = e
	return ok
}

func TestAbsentColumns(t *testing.T) {
	m := newMapper(t, strategies.Mapping{Email: col("email"), Name: col("full_name")}, Options{})
	for i := 1; i <= 3; i++ {
		m.Map(sources.Record{Row: i, Fields: map[string]any{"email": fmt.Sprintf("u%d@x.io", i), "name": "U"}})
	}
	if got, want := m.Absent(), map[string]int64{"name": 3}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestFoldHash(t *testing.T) {
	tests := []struct{ a, b string }{
		{"Alice@Example.com", "alice@example.com"},
		{"ZOË@x.com", "zoë@x.com"},
		{"ÅSA", "åsa"},
	}
	for _, tt := range tests {
		t.Run(tt.a, func(t *testing.T) {
			if foldHash(tt.a) != foldHash(tt.b) {
				t.Errorf("got different hashes for %q and %q, want equal", tt.a, tt.b)
			}
		})
	}
	if foldHash("a@x.io") == foldHash("b@x.io") {
		t.Error("got equal hashes for different identifiers, want different")
	}
}

// BenchmarkMap measures rows/s through mapping and validation of a typical row.
func BenchmarkMap(b *testing.B) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	m := newMapper(b, strategies.Mapping{
		LegacyID: col("id"), Email: col("email"), EmailVerified: col("verified"),
		Name: col("name"), Disabled: tf("active", "not"), PasswordHash: col("pw"),
	}, Options{})
	fields := map[string]any{"id": "1", "verified": "t", "name": "Alice Example", "active": "1", "pw": string(hash)}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		fields["email"] = fmt.Sprintf("user%d@example.com", i)
		if _, errs := m.Map(sources.Record{Row: i + 1, Fields: fields}); len(errs) > 0 {
			b.Fatal(errs[0])
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
