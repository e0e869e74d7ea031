package mapping

import (
	"reflect"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources"
)

func TestSuggest(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	rec := func(f map[string]any) sources.Record { return sources.Record{Row: 1, Fields: f} }
	tests := []struct {
		name    string
		columns []string
		samples []sources.Record
		want    strategies.Mapping
	}{
		{
			name:    "django auth_user",
			columns: []string{"id", "password", "last_login", "is_superuser", "username", "first_name", "last_name", "email", "is_staff", "is_active", "date_joined"},
			samples: []sources.Record{rec(map[string]any{"is_active": true, "email": "a@x.io"})},
			want: strategies.Mapping{
				LegacyID: col("id"), PasswordHash: col("password"), PasswordFormat: "auto", PreferredUsername: col("username"),
				GivenName: col("first_name"), FamilyName: col("last_name"), Email: col("email"), Disabled: tf("is_active", "not"),
			},
		},
		{
			name:    "wordpress wp_users",
			columns: []string{"ID", "user_login", "user_pass", "user_nicename", "user_email", "user_url", "user_registered", "display_name"},
			want: strategies.Mapping{
				LegacyID: col("ID"), PreferredUsername: col("user_login"), PasswordHash: col("user_pass"), PasswordFormat: "auto",
				Email: col("user_email"), Website: col("user_url"), Name: col("display_name"),
			},
		},
		{
			name:    "camelCase export with verification time",
			columns: []string{"localId", "emailAddress", "emailConfirmedAt", "phoneNumber", "blocked"},
			samples: []sources.Record{rec(map[string]any{"emailConfirmedAt": time.Now(), "blocked": "f"})},
			want: strategies.Mapping{
				LegacyID: col("localId"), Email: col("emailAddress"), EmailVerified: tf("emailConfirmedAt", "verified_at"),
				PhoneNumber: col("phoneNumber"), Disabled: col("blocked"),
			},
		},
		{
			name:    "verified column holding timestamps",
			columns: []string{"email", "verified"},
			samples: []sources.Record{rec(map[string]any{"verified": "2021-01-02 03:04:05"}), rec(map[string]any{"verified": nil})},
			want:    strategies.Mapping{Email: col("email"), EmailVerified: tf("verified", "verified_at")},
		},
		{
			name:    "active that is not a boolean is left alone",
			columns: []string{"email", "active"},
			samples: []sources.Record{rec(map[string]any{"active": "pending"})},
			want:    strategies.Mapping{Email: col("email")},
		},
		{
			name:    "by value: odd column names",
			columns: []string{"k", "contact", "secret"},
			samples: []sources.Record{
				rec(map[string]any{"k": "1", "contact": "a@x.io", "secret": string(hash)}),
				rec(map[string]any{"k": "2", "contact": "b@x.io", "secret": string(hash)}),
			},
			want: strategies.Mapping{Email: col("contact"), PasswordHash: col("secret"), PasswordFormat: "auto"},
		},
		{
			name: "columns from samples, nested paths",
			samples: []sources.Record{rec(map[string]any{
				"user_id": "u1", "email": "a@x.io", "password.password_hash": string(hash), "user_metadata.plan": "pro",
			})},
			want: strategies.Mapping{LegacyID: col("user_id"), Email: col("email"), PasswordHash: col("password.password_hash"), PasswordFormat: "auto"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Suggest(tt.columns, tt.samples)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got.Fields(), tt.want.Fields())
			}
			// A suggestion is a mapping New accepts.
			if _, err := New(testPlan(got), Options{}); err != nil {
				t.Errorf("New on the suggestion: got %v, want no error", err)
			}
		})
	}
}
