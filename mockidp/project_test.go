package mockidp

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestDefaultProjectLoginIDs: the authgear profile is modelled on the project `authgear
// init` makes, where email is the only login id. A phone number or username in a record
// is ignored with Authgear's warning, a username-keyed record is inserted without any
// login id (so re-importing it inserts again), and getUserByLoginID refuses the phone and
// username keys, as the recorded corpus shows.
func TestDefaultProjectLoginIDs(t *testing.T) {
	s := startServer(t, Config{})
	j := importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{
		map[string]any{"email": "a@example.com", "phone_number": "+14155550123", "preferred_username": "ann", "email_verified": false},
	}})
	want := []ImportWarning{{"phone_number is ignored because it is not an allowed login ID."},
		{"preferred_username is ignored because it is not an allowed login ID."}, {"email_verified = false has no effect in insert."}}
	if d := j.Details[0]; d.Outcome != OutcomeInserted || !reflect.DeepEqual(d.Warnings, want) {
		t.Errorf("got %s with warnings %v, want inserted with %v", d.Outcome, d.Warnings, want)
	}
	byUsername := map[string]any{"identifier": "preferred_username", "records": []any{map[string]any{"preferred_username": "bob"}}}
	for range 2 {
		if j := importAndWait(t, s, byUsername); j.Summary.Inserted != 1 {
			t.Errorf("username-keyed import: got %+v, want inserted (no login id to find the user by)", j.Summary)
		}
	}
	for _, key := range []string{"phone", "username"} {
		status, body := adminDo(t, s, http.MethodPost, PathAdminGraphQL, map[string]any{
			"query":     `query q($k: String!, $v: String!) { getUserByLoginID(loginIDKey: $k, loginIDValue: $v) { id } }`,
			"variables": map[string]any{"k": key, "v": "+14155550123"}})
		if status != 200 || !strings.Contains(string(body), `"reason":"GetUsersInvalidArgument"`) {
			t.Errorf("getUserByLoginID(%s): got HTTP %d %s, want GetUsersInvalidArgument", key, status, body)
		}
	}

	// A project that allows phone numbers keeps them, and refuses a second user's.
	s = startServer(t, Config{LoginIDKeys: []string{LoginIDEmail, LoginIDPhone}})
	j = importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{
		map[string]any{"email": "a@example.com", "phone_number": "+14155550123"},
		map[string]any{"email": "b@example.com", "phone_number": "+14155550123"},
	}})
	if j.Details[0].Outcome != OutcomeInserted || len(j.Details[0].Warnings) != 0 || j.Details[1].Outcome != OutcomeFailed {
		t.Errorf("phone allowed: got %+v, want the first inserted without warnings, the second failed", j.Details)
	}
}

// TestRolesAndGroupsMustBeDefined: Authgear refuses a record naming a role or group the
// project does not define (roles first); Config.Roles and Config.Groups define them.
func TestRolesAndGroupsMustBeDefined(t *testing.T) {
	rec := map[string]any{"email": "a@example.com", "roles": []string{"admin", "staff"}, "groups": []string{"ops"}}
	body := map[string]any{"identifier": "email", "records": []any{rec}}
	for _, tt := range []struct {
		name          string
		roles, groups []string
		reason        string
		keys          []any
	}{
		{"default project", nil, nil, "RoleUnknownKeys", []any{"admin", "staff"}},
		{"roles defined", []string{"admin", "staff"}, nil, "GroupUnknownKeys", []any{"ops"}},
		{"all defined", []string{"admin", "staff"}, []string{"ops"}, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Config{Roles: tt.roles, Groups: tt.groups})
			d := importAndWait(t, s, body).Details[0]
			if tt.reason == "" {
				if d.Outcome != OutcomeInserted {
					t.Fatalf("got %s %v, want inserted", d.Outcome, d.Errors)
				}
				return
			}
			if d.Outcome != OutcomeFailed || len(d.Errors) != 1 || d.Errors[0].Reason != tt.reason || d.Errors[0].Code != 404 ||
				!reflect.DeepEqual(d.Errors[0].Info["keys"], tt.keys) {
				t.Fatalf("got %s %+v, want failed %s with keys %v", d.Outcome, d.Errors, tt.reason, tt.keys)
			}
		})
	}
	s := startServer(t, Config{Profile: ProfilePermissive})
	if d := importAndWait(t, s, body).Details[0]; d.Outcome != OutcomeInserted {
		t.Errorf("permissive profile: got %s %v, want inserted", d.Outcome, d.Errors)
	}
}

// TestNullIdentifierFailsTheJob: Authgear's schema lets the import's identifier be null
// and its importer then fails the whole job with an unexpected error and no details.
func TestNullIdentifierFailsTheJob(t *testing.T) {
	s := startServer(t, Config{})
	j := importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{
		map[string]any{"email": "a@example.com"}, map[string]any{"email": nil}, map[string]any{"email": "c@example.com"}}})
	if j.Error == nil || j.Error.Reason != "UnexpectedError" || j.Status != StatusCompleted || len(j.Details) != 0 || *j.Summary != (ImportSummary{}) {
		t.Fatalf("got %+v (error %+v), want a completed job with UnexpectedError, zero summary, no details", j, j.Error)
	}
}
