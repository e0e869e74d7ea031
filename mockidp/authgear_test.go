package mockidp

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// Differences from the real Authgear observed in issue 15 (shared/reference/real-idps.md),
// each now answered as the real server answers.

// TestMixedCaseEmailOfExistingUserFails: Authgear looks an email up as sent and stores
// it lower-cased, so a record whose email has upper-case letters never finds its user:
// it fails as a duplicate identity, with upsert false or true, even when it is the very
// record imported before (difference 9).
func TestMixedCaseEmailOfExistingUserFails(t *testing.T) {
	s := startServer(t, Config{})
	first := importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{
		map[string]any{"email": "alice@example.com"}, map[string]any{"email": "Bob@Example.com"}}})
	if first.Summary.Inserted != 2 {
		t.Fatalf("first import: got %+v, want 2 inserted", first.Summary)
	}
	for _, upsert := range []bool{false, true} {
		j := importAndWait(t, s, map[string]any{"identifier": "email", "upsert": upsert, "records": []any{
			map[string]any{"email": "Alice@Example.com"}, map[string]any{"email": "Bob@Example.com"}, map[string]any{"email": "alice@example.com"}}})
		for i, d := range j.Details[:2] {
			raw, _ := json.Marshal(d.Errors)
			if d.Outcome != OutcomeFailed || !strings.Contains(string(raw), `"name":"Invalid","reason":"InvariantViolated","message":"identity already exists","code":400,"info":{"IdentityTypeExisting":"login_id","IdentityTypeIncoming":"login_id","LoginIDTypeExisting":"email","LoginIDTypeIncoming":"email","cause":{"kind":"DuplicatedIdentity"}}`) {
				t.Errorf("upsert %v, record %d: got %s %s, want failed with DuplicatedIdentity", upsert, i, d.Outcome, raw)
			}
		}
		if want := map[bool]string{false: OutcomeSkipped, true: OutcomeUpdated}[upsert]; j.Details[2].Outcome != want {
			t.Errorf("upsert %v, the lower-case email: got %s, want %s", upsert, j.Details[2].Outcome, want)
		}
	}
}

// TestBcryptHashChecks: Authgear's checks of a bcrypt hash when it stores one
// (difference 8).
func TestBcryptHashChecks(t *testing.T) {
	s := startServer(t, Config{})
	good := bcryptHash(t, "pw")
	rec := func(email, hash string) map[string]any {
		return map[string]any{"email": email, "password": map[string]any{"type": "bcrypt", "password_hash": hash}}
	}
	importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{map[string]any{"email": "exists@example.com"}}})
	j := importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{
		rec("a@example.com", "not-a-hash"),
		rec("b@example.com", "$2a$10$short"),
		rec("c@example.com", good+"x"),
		rec("d@example.com", "$bcrypt-sha512$"+good),
		rec("exists@example.com", "not-a-hash"),
	}})
	want := []struct{ outcome, errJSON string }{
		{OutcomeFailed, `"name":"InternalError","reason":"UnexpectedError","message":"unexpected error occurred","code":500`},
		{OutcomeFailed, `"name":"Invalid","reason":"InvalidBcryptHash","message":"crypto/bcrypt: hashedSecret too short to be a bcrypted password"`},
		{OutcomeInserted, ""},
		{OutcomeInserted, ""},
		{OutcomeSkipped, ""},
	}
	for i, w := range want {
		d := j.Details[i]
		raw, _ := json.Marshal(d.Errors)
		if d.Outcome != w.outcome || w.errJSON != "" && !strings.Contains(string(raw), w.errJSON) {
			t.Errorf("record %d: got %s %s, want %s %s", i, d.Outcome, raw, w.outcome, w.errJSON)
		}
	}
}

// TestAuthgearEnvelopes checks the top-level answers field by field (differences 2, 3,
// 4, 5, 6, 7, 11 and 12).
func TestAuthgearEnvelopes(t *testing.T) {
	s := startServer(t, Config{})
	tok := adminToken(t, s)
	do := func(method, path, ct, body string) (int, http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(method, s.Config().Issuer+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header, string(b)
	}
	ok := `{"identifier":"email","records":[{"email":"a@example.com"}]}`
	trackingID := regexp.MustCompile(`"tracking_id":"[0-9a-f]{32}-[0-9a-f]{16}"`)
	tests := []struct {
		name, ct, body string
		status         int
		want           []string // fragments of the body, in order of appearance not required
	}{
		{"charset accepted", "application/json; charset=utf-8", ok, 200, []string{`"status":"pending"`}},
		{"no content type", "", ok, 415, []string{"invalid content type: \n"}},
		{"text/plain", "text/plain", ok, 415, []string{"invalid content type: text/plain\n"}},
		{"latin1", "application/json; charset=latin1", ok, 415, []string{"invalid content type: application/json\n"}},
		{"graphql type to the import", "application/graphql", ok, 400, []string{`"reason":"BadRequest","message":"request content type is invalid"`}},
		{"malformed JSON", "application/json", `{"identifier":`, 500, []string{`"name":"InternalError","reason":"UnexpectedError","message":"unexpected error occurred","code":500`}},
		{"non-object record", "application/json", `{"identifier":"email","records":[{"email":"a@example.com"},7]}`, 400,
			[]string{`"name":"Invalid","reason":"ValidationFailed","message":"invalid request body","code":400`,
				`"info":{"causes":[{"details":{"actual":["integer","number"],"expected":["object"]},"kind":"type","location":"/records/1"}]}`}},
		{"every top-level cause", "application/json", `{"Records":[],"identifier":"login","upsert":"yes"}`, 400,
			[]string{`{"details":{"actual":["Records","identifier","upsert"],"expected":["identifier","records"],"missing":["records"]},"kind":"required","location":""}`,
				`{"kind":"","location":"/Records"}`,
				`{"details":{"actual":"login","expected":["preferred_username","email","phone_number"]},"kind":"enum","location":"/identifier"}`,
				`{"details":{"actual":["string"],"expected":["boolean"]},"kind":"type","location":"/upsert"}`}},
		{"too large", "application/json", `{"identifier":"email","records":[{"email":"` + strings.Repeat("a", BodyMaxSize) + `"}]}`, 413,
			[]string{`"name":"RequestEntityTooLarge","reason":"JSONTooLarge","message":"request body too large","code":413`, `"info":{"limit":500000}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, h, body := do(http.MethodPost, PathImport, tc.ct, tc.body)
			if status != tc.status {
				t.Fatalf("got HTTP %d %s, want %d", status, body, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("got %s, want it to hold %s", body, w)
				}
			}
			if status >= 400 && status != 415 && !trackingID.MatchString(body) {
				t.Errorf("got %s, want a tracking_id", body)
			}
			if status == 415 && !strings.HasPrefix(h.Get("Content-Type"), "text/plain") {
				t.Errorf("got Content-Type %q, want plain text", h.Get("Content-Type"))
			}
			if status == 200 && !regexp.MustCompile(`"id":"userimport_[A-Z2-7]{32}"`).MatchString(body) {
				t.Errorf("got %s, want an id of userimport_ and 32 base32 characters", body)
			}
		})
	}
	t.Run("unknown job", func(t *testing.T) {
		status, _, body := do(http.MethodGet, PathImport+"/userimport_NOPE", "", "")
		if status != 404 || !strings.Contains(body, `"name":"NotFound","reason":"TaskNotFound","message":"task not found","code":404`) {
			t.Errorf("got HTTP %d %s, want 404 TaskNotFound", status, body)
		}
	})
}

// TestRecordCausesAsAuthgear checks per-record causes against the shapes of Authgear's
// JSON-schema validator (difference 5): every violation, at the right location.
func TestRecordCausesAsAuthgear(t *testing.T) {
	tests := []struct{ record, causes string }{
		{`{"email":"a@x.io","mfa":{"password":{"type":"bcrypt"},"totp":"x"}}`, `[{"details":{"actual":["type"],"expected":["type","password_hash"],"missing":["password_hash"]},"kind":"required","location":"/mfa/password"},{"details":{"actual":["string"],"expected":["object"]},"kind":"type","location":"/mfa/totp"}]`},
		{`{"email":5}`, `[{"details":{"actual":["integer","number"],"expected":["string"]},"kind":"type","location":"/email"}]`},
		{`{"email":"a@x.io","foo":1,"bar":2}`, `[{"kind":"","location":"/bar"},{"kind":"","location":"/foo"}]`},
		{`{"name":"N","foo":1}`, `[{"details":{"actual":["foo","name"],"expected":["email"],"missing":["email"]},"kind":"required","location":""},{"kind":"","location":"/foo"}]`},
		{`{"email":"a@x.io","roles":[5]}`, `[{"details":{"actual":["integer","number"],"expected":["string"]},"kind":"type","location":"/roles/0"}]`},
		{`{"email":"a@x.io","account_valid_from":null}`, `[{"details":{"actual":["null"],"expected":["string"]},"kind":"type","location":"/account_valid_from"}]`},
		{`{"email":"a@x.io","website":"example"}`, `[{"details":{"format":"uri"},"kind":"format","location":"/website"}]`},
		{`{"email":"a@x.io","zoneinfo":"Mars/Olympus"}`, `[{"details":{"format":"timezone"},"kind":"format","location":"/zoneinfo"}]`},
		{`{"email":"a@x.io","password":{}}`, `[{"details":{"actual":[],"expected":["type","password_hash"],"missing":["type","password_hash"]},"kind":"required","location":"/password"}]`},
		{`{"email":"a@x.io","password":{"type":"bcrypt","password_hash":""}}`, `[{"details":{"actual":0,"expected":1},"kind":"minLength","location":"/password/password_hash"}]`},
		{`{"email":"a@x.io","mfa":{"totp":{}}}`, `[{"details":{"actual":[],"expected":["secret"],"missing":["secret"]},"kind":"required","location":"/mfa/totp"}]`},
	}
	for _, tt := range tests {
		_, _, e := decodeImportRecord(json.RawMessage(tt.record), IdentifierEmail, ProfileAuthgear, nil)
		if e == nil {
			t.Errorf("%s: got no error, want causes %s", tt.record, tt.causes)
			continue
		}
		got, _ := json.Marshal(e.Info["causes"])
		if string(got) != tt.causes || e.Message != "invalid value" {
			t.Errorf("%s: got %q %s, want \"invalid value\" %s", tt.record, e.Message, got, tt.causes)
		}
	}
}
