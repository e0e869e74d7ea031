package mockidp

import (
	"encoding/json"
	"testing"

	"github.com/cutover/cutover/strategies/passwords"
)

func FuzzImportDecoder(f *testing.F) {
	for _, s := range []string{
		`{"identifier":"email","records":[{"email":"a@example.com"}]}`,
		`{"upsert":true,"identifier":"phone_number","records":[{"phone_number":"+14155550123","name":null,"address":{"country":"HK"}}]}`,
		`{"identifier":"email","records":[{"email":"a@b.c","password":{"type":"bcrypt","password_hash":"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},"mfa":{"totp":{"secret":"x"}}}]}`,
		`{"identifier":"preferred_username","records":[{"preferred_username":"x","roles":["a",""]}]}`,
		`{"identifier":"email","records":[]}`, `[]`, `null`, `{"records":[1,2]}`,
	} {
		f.Add([]byte(s))
	}
	ver, err := passwords.New(passwords.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, identifier, records, apiE := DecodeImportRequest(body)
		if apiE != nil {
			if valid := json.Valid(body); apiE.Message == "" || valid && apiE.Code != 400 || !valid && apiE.Code != 500 && apiE.Reason != "InvalidJSON" {
				t.Fatalf("top-level error: got %+v, want a 400 with a message (InvalidJSON or a 500 for a body that is not JSON)", apiE)
			}
			return
		}
		if len(records) == 0 {
			t.Fatal("got no records and no error, want at least one record")
		}
		for _, profile := range []string{ProfileAuthgear, ProfilePermissive} {
			for _, raw := range records {
				rec, echo, e := decodeImportRecord(raw, identifier, profile, ver)
				if (rec == nil) == (e == nil) {
					t.Fatalf("got record %v and error %v, want exactly one", rec, e)
				}
				if e == nil && identifierValue(rec, identifier, profile) == "" {
					t.Fatalf("accepted record %s without its %s", raw, identifier)
				}
				if !json.Valid(echo) {
					t.Fatalf("echo of %s is not JSON: %s", raw, echo)
				}
				var m map[string]json.RawMessage
				var pw map[string]json.RawMessage
				if json.Unmarshal(echo, &m) == nil && m["password"] != nil && string(m["password"]) != `"REDACTED"` &&
					string(m["password"]) != "null" && (json.Unmarshal(m["password"], &pw) != nil || string(pw["password_hash"]) != `"REDACTED"`) {
					t.Fatalf("echo of %s keeps the password: %s", raw, echo)
				}
			}
		}
	})
}
