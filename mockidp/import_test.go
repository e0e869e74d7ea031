package mockidp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"golang.org/x/oauth2"
)

// seedRecords are the two records of the bulk-migration guide, with bcrypt hashes of known
// passwords (the guide's own hash matches no known password).
func seedRecords(t testing.TB) []map[string]any {
	return []map[string]any{
		{"email": "user1@example.com", "email_verified": true,
			"password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "correct horse 1")}},
		{"email": "user2@example.com", "email_verified": false, "name": "John Doe", "given_name": "John", "family_name": "Doe",
			"password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "battery staple 2")}},
	}
}

func passwordGrant(ctx context.Context, s *Server, login, password string) (*oauth2.Token, error) {
	iss := s.Config().Issuer
	conf := oauth2.Config{ClientID: ClientID, Endpoint: oauth2.Endpoint{TokenURL: iss + PathToken, AuthStyle: oauth2.AuthStyleInParams},
		Scopes: []string{"openid", "email", "profile"}}
	return conf.PasswordCredentialsToken(ctx, login, password)
}

func isInvalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}

func TestImportSeedThenSkipThenSignIn(t *testing.T) {
	s := startServer(t, Config{})
	recs := seedRecords(t)
	first := importAndWait(t, s, map[string]any{"identifier": "email", "records": recs})
	if got, want := *first.Summary, (ImportSummary{Total: 2, Inserted: 2}); got != want {
		t.Fatalf("first import summary: got %+v, want %+v", got, want)
	}
	ids := make([]string, 2)
	for i, d := range first.Details {
		if d.Outcome != OutcomeInserted || d.UserID == "" || d.Index != i {
			t.Fatalf("detail %d: got outcome %q user_id %q index %d, want inserted with an id", i, d.Outcome, d.UserID, d.Index)
		}
		ids[i] = d.UserID
	}
	if first.CompletedAt == nil || first.CreatedAt == nil {
		t.Errorf("completed job: got created_at %v completed_at %v, want both set", first.CreatedAt, first.CompletedAt)
	}

	second := importAndWait(t, s, map[string]any{"upsert": false, "identifier": "email", "records": recs})
	if got, want := *second.Summary, (ImportSummary{Total: 2, Skipped: 2}); got != want {
		t.Fatalf("second import summary: got %+v, want %+v", got, want)
	}
	for i, d := range second.Details {
		if d.Outcome != OutcomeSkipped || d.UserID != ids[i] {
			t.Errorf("second detail %d: got %q %q, want skipped with id %q", i, d.Outcome, d.UserID, ids[i])
		}
		if len(d.Warnings) != 1 || !strings.Contains(d.Warnings[0].Message, "upsert = false") {
			t.Errorf("second detail %d: got warnings %+v, want the upsert = false warning", i, d.Warnings)
		}
	}

	ctx := context.Background()
	for _, tc := range []struct {
		name, login, password string
		ok                    bool
	}{
		{"user1 right password", "user1@example.com", "correct horse 1", true},
		{"user2 right password, other case", "User2@Example.com", "battery staple 2", true},
		{"user1 wrong password", "user1@example.com", "battery staple 2", false},
		{"unknown user", "nobody@example.com", "correct horse 1", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := passwordGrant(ctx, s, tc.login, tc.password)
			switch {
			case tc.ok && err != nil:
				t.Fatalf("got error %v, want tokens", err)
			case tc.ok && tok.Extra("id_token") == nil:
				t.Fatalf("got no id_token, want one")
			case !tc.ok && !isInvalidGrant(err):
				t.Fatalf("got %v, want invalid_grant", err)
			}
		})
	}
}

func TestImportRecordValidation(t *testing.T) {
	s := startServer(t, Config{LoginIDKeys: []string{LoginIDEmail, LoginIDPhone, LoginIDUsername}, Roles: []string{"role_a"}, Groups: []string{"group_a"}})
	good := func(email string) map[string]any { return map[string]any{"email": email} }
	tests := []struct {
		name    string
		record  any
		outcome string
		reason  string
		message string
	}{
		{"minimal", good("a@example.com"), OutcomeInserted, "", ""},
		{"full documented record", map[string]any{"preferred_username": "jdoe", "email": "johndoe@example.com", "phone_number": "+85223456789",
			"email_verified": true, "phone_number_verified": true, "name": "John Doe", "given_name": "John", "family_name": "Doe",
			"middle_name": "", "nickname": "JD", "profile": "https://example.com", "picture": "https://example.com",
			"website": "https://example.com", "gender": "male", "birthdate": "1990-01-01", "zoneinfo": "Asia/Hong_Kong",
			"locale": "zh-Hant-HK", "address": map[string]any{"formatted": "1 Unnamed Road", "street_address": "1 Unnamed Road",
				"locality": "Central", "region": "Hong Kong", "postal_code": "N/A", "country": "HK"},
			"custom_attributes": map[string]any{"member_id": "123456789"}, "roles": []string{"role_a"}, "groups": []string{"group_a"},
			"disabled": false, "password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "x")},
			"mfa": map[string]any{"email": "johndoe@example.com", "phone_number": "+85223456789",
				"password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "y")}, "totp": map[string]any{"secret": "secret"}}},
			OutcomeInserted, "", ""},
		{"unknown key", map[string]any{"email": "b@example.com", "favourite_colour": "blue"}, OutcomeFailed, "ValidationFailed", `"kind":"","location":"/favourite_colour"`},
		{"unknown address key (Authgear takes it)", map[string]any{"email": "c@example.com", "address": map[string]any{"city": "x"}}, OutcomeInserted, "", ""},
		{"missing identifier", map[string]any{"name": "No Email"}, OutcomeFailed, "ValidationFailed", `{"details":{"actual":["name"],"expected":["email"],"missing":["email"]},"kind":"required","location":""}`},
		{"bad email", good("not-an-email"), OutcomeFailed, "ValidationFailed", `"kind":"format","location":"/email"`},
		{"bad phone", map[string]any{"email": "d@example.com", "phone_number": "0123"}, OutcomeFailed, "ValidationFailed", `"kind":"format","location":"/phone_number"`},
		{"md5 in authgear profile", map[string]any{"email": "e@example.com", "password": map[string]any{"type": "md5", "password_hash": "5f4dcc3b5aa765d61d8327deb882cf99"}},
			OutcomeFailed, "ValidationFailed", `{"details":{"actual":"md5","expected":["bcrypt"]},"kind":"enum","location":"/password/type"}`},
		{"broken bcrypt hash", map[string]any{"email": "f@example.com", "password": map[string]any{"type": "bcrypt", "password_hash": "$2a$10$tooshort"}},
			OutcomeFailed, "InvalidBcryptHash", `"message":"crypto/bcrypt: hashedSecret too short to be a bcrypted password"`},
		{"salt refused in authgear profile", map[string]any{"email": "g@example.com", "password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "z"), "salt": "x"}},
			OutcomeFailed, "ValidationFailed", `"kind":"","location":"/password/salt"`},
		{"wrong type", map[string]any{"email": "h@example.com", "email_verified": "yes"}, OutcomeFailed, "ValidationFailed", `{"details":{"actual":["string"],"expected":["boolean"]},"kind":"type","location":"/email_verified"}`},
		{"duplicate phone of another user", map[string]any{"email": "i@example.com", "phone_number": "+85223456789"}, OutcomeFailed, "InvariantViolated", `"message":"identity already exists","code":400,"info":{"IdentityTypeExisting":"login_id","IdentityTypeIncoming":"login_id","LoginIDTypeExisting":"phone","LoginIDTypeIncoming":"phone","cause":{"kind":"DuplicatedIdentity"}}`},
	}
	records := make([]any, len(tests))
	for i, tc := range tests {
		records[i] = tc.record
	}
	job := importAndWait(t, s, map[string]any{"identifier": "email", "records": records})
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := job.Details[i]
			if d.Outcome != tc.outcome {
				t.Fatalf("got outcome %q (errors %+v), want %q", d.Outcome, d.Errors, tc.outcome)
			}
			if tc.outcome == OutcomeFailed {
				raw, _ := json.Marshal(d.Errors)
				if len(d.Errors) != 1 || d.Errors[0].Reason != tc.reason || !strings.Contains(string(raw), tc.message) {
					t.Fatalf("got errors %s, want reason %q with %s", raw, tc.reason, tc.message)
				}
				if d.Errors[0].Reason == "ValidationFailed" && d.Errors[0].Message != "invalid value" {
					t.Errorf("got message %q, want Authgear's \"invalid value\"", d.Errors[0].Message)
				}
				if d.UserID != "" {
					t.Errorf("got user_id %q on a failed record, want none", d.UserID)
				}
			}
		})
	}
	t.Run("echo is redacted", func(t *testing.T) {
		raw, _ := json.Marshal(job.Details[1].Record)
		if strings.Contains(string(raw), "$2a$") || strings.Contains(string(raw), `"secret":"secret"`) {
			t.Fatalf("got echoed record %s, want secrets REDACTED", raw)
		}
		var rec map[string]any
		_ = json.Unmarshal(job.Details[1].Record, &rec)
		pw, _ := rec["password"].(map[string]any)
		totp, _ := rec["mfa"].(map[string]any)["totp"].(map[string]any)
		if pw["password_hash"] != "REDACTED" || pw["type"] != "bcrypt" || totp["secret"] != "REDACTED" {
			t.Fatalf("got echoed record %s, want password.password_hash and mfa.totp.secret REDACTED, structure kept", raw)
		}
		if rec["email"] != "johndoe@example.com" {
			t.Errorf("got echoed email %v, want johndoe@example.com", rec["email"])
		}
	})
}

func TestImportUpsert(t *testing.T) {
	s := startServer(t, Config{})
	first := importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{
		map[string]any{"email": "u@example.com", "name": "Old Name", "nickname": "nick",
			"password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "first password")}},
	}})
	id := first.Details[0].UserID
	up := importAndWait(t, s, map[string]any{"upsert": true, "identifier": "email", "records": []any{
		map[string]any{"email": "u@example.com", "name": "New Name", "nickname": nil,
			"password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "second password")}},
	}})
	if d := up.Details[0]; d.Outcome != OutcomeUpdated || d.UserID != id || len(d.Warnings) != 0 {
		t.Fatalf("upsert: got %q %q %+v, want updated %q without warnings (as Authgear)", d.Outcome, d.UserID, d.Warnings, id)
	}
	ctx := context.Background()
	if _, err := passwordGrant(ctx, s, "u@example.com", "second password"); !isInvalidGrant(err) {
		t.Errorf("sign in with the upserted password: got %v, want invalid_grant (password ignored on upsert)", err)
	}
	tok, err := passwordGrant(ctx, s, "u@example.com", "first password")
	if err != nil {
		t.Fatalf("sign in with the first password: %v", err)
	}
	claims := idTokenClaims(t, tok)
	if claims["name"] != "New Name" {
		t.Errorf("name claim: got %v, want New Name", claims["name"])
	}
	if _, ok := claims["nickname"]; ok {
		t.Errorf("nickname claim: got %v, want it removed by null", claims["nickname"])
	}
}

// idTokenClaims decodes the ID token payload without verification (oidc_test verifies).
func idTokenClaims(t testing.TB, tok *oauth2.Token) map[string]any {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token %q is not a JWS", raw)
	}
	var c map[string]any
	data, err := base64URLDecode(parts[1])
	if err != nil || json.Unmarshal(data, &c) != nil {
		t.Fatalf("id_token payload is not JSON: %v", err)
	}
	return c
}

func TestImportRequestErrors(t *testing.T) {
	s := startServer(t, Config{})
	big := `{"identifier":"email","records":[{"email":"a@example.com","name":"` + strings.Repeat("x", BodyMaxSize) + `"}]}`
	tests := []struct {
		name   string
		body   string
		status int
		reason string
	}{
		{"over 500,000 bytes", big, http.StatusRequestEntityTooLarge, "JSONTooLarge"},
		{"unknown top-level key", `{"identifier":"email","records":[{"email":"a@example.com"}],"dry_run":true}`, http.StatusBadRequest, "ValidationFailed"},
		{"no identifier", `{"records":[{"email":"a@example.com"}]}`, http.StatusBadRequest, "ValidationFailed"},
		{"bad identifier", `{"identifier":"login","records":[{"email":"a@example.com"}]}`, http.StatusBadRequest, "ValidationFailed"},
		{"no records", `{"identifier":"email","records":[]}`, http.StatusBadRequest, "ValidationFailed"},
		{"not JSON: a 400 InvalidJSON at Authgear", `identifier=email`, http.StatusBadRequest, "InvalidJSON"},
		{"truncated JSON: a 500 at Authgear", `{"identifier":"email","records":[`, http.StatusInternalServerError, "UnexpectedError"},
		{"a record that is not an object fails the request", `{"identifier":"email","records":[{"email":"a@example.com"},[1]]}`, http.StatusBadRequest, "ValidationFailed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, data := adminDo(t, s, http.MethodPost, PathImport, tc.body)
			e := decodeEnvelope[ImportJob](t, data)
			if code != tc.status || e.Error == nil || e.Error.Reason != tc.reason || e.Error.Code != tc.status {
				t.Fatalf("got HTTP %d %s, want %d with reason %s", code, data, tc.status, tc.reason)
			}
		})
	}
	t.Run("exactly 500,000 bytes is accepted", func(t *testing.T) {
		prefix := `{"identifier":"email","records":[{"email":"a@example.com","name":"`
		suffix := `"}]}`
		body := prefix + strings.Repeat("x", BodyMaxSize-len(prefix)-len(suffix)) + suffix
		code, data := adminDo(t, s, http.MethodPost, PathImport, body)
		if code != http.StatusOK {
			t.Fatalf("got HTTP %d %.200s, want 200", code, data)
		}
	})
	t.Run("unknown job", func(t *testing.T) {
		code, data := adminDo(t, s, http.MethodGet, PathImport+"/userimport_NOPE", nil)
		if code != http.StatusNotFound {
			t.Fatalf("got HTTP %d %s, want 404", code, data)
		}
	})
}

func TestImportConcurrent(t *testing.T) {
	s := startServer(t, Config{})
	const workers, per = 8, 50
	var wg sync.WaitGroup
	jobs := make([]ImportJob, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs := make([]any, per)
			for i := range recs {
				// Every worker also imports the shared user: exactly one insert must win.
				email := fmt.Sprintf("w%d-%d@example.com", w, i)
				if i == 0 {
					email = "shared@example.com"
				}
				recs[i] = map[string]any{"email": email}
			}
			j, err := tryImport(s, map[string]any{"identifier": "email", "records": recs})
			if err != nil {
				t.Error(err)
			}
			jobs[w] = j
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var inserted, skipped int
	for _, j := range jobs {
		inserted += j.Summary.Inserted
		skipped += j.Summary.Skipped
	}
	if want := workers*(per-1) + 1; inserted != want || skipped != workers-1 {
		t.Fatalf("got inserted %d skipped %d, want %d and %d", inserted, skipped, want, workers-1)
	}
	code, data := adminDo(t, s, http.MethodGet, PathMockUsers+"?limit=0", nil)
	list := decodeEnvelope[MockUserList](t, data)
	if code != http.StatusOK || list.Result.Total != inserted || list.Result.BySource[SourceImport] != inserted {
		t.Fatalf("mock listing: got HTTP %d %s, want total %d from import", code, data, inserted)
	}
}

func TestImportPermissiveProfile(t *testing.T) {
	s := startServer(t, Config{Profile: ProfilePermissive})
	job := importAndWait(t, s, map[string]any{"identifier": "preferred_username", "records": []any{
		map[string]any{"preferred_username": "alice", "password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "alice pw"), "salt": ""}},
		map[string]any{"preferred_username": "bob", "password": map[string]any{"type": "nonsense", "password_hash": "zzz"}},
	}})
	if job.Details[0].Outcome != OutcomeInserted {
		t.Errorf("bcrypt with salt key: got %q %+v, want inserted", job.Details[0].Outcome, job.Details[0].Errors)
	}
	if job.Details[1].Outcome != OutcomeFailed {
		t.Errorf("unknown format: got %q, want failed", job.Details[1].Outcome)
	}
	if _, err := passwordGrant(context.Background(), s, "alice", "alice pw"); err != nil {
		t.Errorf("sign in by username: got %v, want tokens", err)
	}
}
