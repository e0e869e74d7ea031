package idp

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
)

func TestAppendRecord(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		u    strategies.User
		pw   *Password
		want map[string]any
	}{
		{name: "identifier only", u: strategies.User{Email: "a@example.com"}, want: map[string]any{"email": "a@example.com"}},
		{name: "full", u: strategies.User{
			Email: "a@example.com", EmailVerified: &yes, PhoneNumber: "+85223456789", PreferredUsername: "ann",
			Name: "Ann \"Q\" <Lee>\n", Address: &strategies.Address{Country: "HK"}, Roles: []string{"a", "b"}, Disabled: true,
			CustomAttributes: map[string]any{"member_id": "123", "level": 3},
		}, pw: &Password{Type: "bcrypt", Hash: "$2a$10$abc"}, want: map[string]any{
			"email": "a@example.com", "email_verified": true, "phone_number": "+85223456789", "preferred_username": "ann",
			"name": "Ann \"Q\" <Lee>\n", "address": map[string]any{"country": "HK"}, "roles": []any{"a", "b"}, "disabled": true,
			"custom_attributes": map[string]any{"member_id": "123", "level": 3.0},
			"password":          map[string]any{"type": "bcrypt", "password_hash": "$2a$10$abc"},
		}},
		{name: "permissive password with salt", u: strategies.User{Email: "b@example.com"},
			pw:   &Password{Type: "django_pbkdf2_sha256", Hash: "pbkdf2_sha256$1$s$h", Salt: "s"},
			want: map[string]any{"email": "b@example.com", "password": map[string]any{"type": "django_pbkdf2_sha256", "password_hash": "pbkdf2_sha256$1$s$h", "salt": "s"}}},
		{name: "odd bytes", u: strategies.User{Email: "c@example.com", Name: "\x01\xff\u2028é"},
			want: map[string]any{"email": "c@example.com", "name": "\x01\ufffd\u2028é"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := AppendRecord(nil, &tt.u, tt.pw)
			if err != nil {
				t.Fatal(err)
			}
			var got map[string]any
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("not JSON: %v: %s", err, b)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBatchStaysUnderLimit(t *testing.T) {
	const limit = 10_000
	b := NewBatch(limit)
	b.Reset(true, "email")
	var bodies [][]byte
	total := 0
	for i := range 1000 {
		rec, _ := AppendRecord(nil, &strategies.User{Email: fmt.Sprintf("user%d@example.com", i), Name: strings.Repeat("x", i%50)}, nil)
		if !b.Add(rec) {
			bodies = append(bodies, append([]byte(nil), b.Body()...))
			total += b.Len()
			b.Reset(true, "email")
			if !b.Add(rec) {
				t.Fatalf("record %d does not fit an empty batch", i)
			}
		}
	}
	bodies = append(bodies, append([]byte(nil), b.Body()...))
	total += b.Len()
	if total != 1000 {
		t.Errorf("records packed: got %d, want 1000", total)
	}
	for i, body := range bodies {
		if len(body) > limit {
			t.Errorf("body %d: got %d bytes, want at most %d", i, len(body), limit)
		}
		var req struct {
			Upsert     bool              `json:"upsert"`
			Identifier string            `json:"identifier"`
			Records    []json.RawMessage `json:"records"`
		}
		if err := json.Unmarshal(body, &req); err != nil || !req.Upsert || req.Identifier != "email" || len(req.Records) == 0 {
			t.Fatalf("body %d: got %v (%d records), want a valid request", i, err, len(req.Records))
		}
		// Packed tight: the next body's first record would not have fitted.
		if i+1 < len(bodies) && len(body) < limit-200 {
			t.Errorf("body %d: got %d bytes, want it packed close to %d", i, len(body), limit)
		}
	}
}

func BenchmarkAppendRecord(b *testing.B) {
	yes := true
	u := &strategies.User{Email: "someone.long@example.com", EmailVerified: &yes, Name: "Some One", GivenName: "Some", FamilyName: "One"}
	pw := &Password{Type: "bcrypt", Hash: "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = AppendRecord(buf[:0], u, pw)
	}
}
