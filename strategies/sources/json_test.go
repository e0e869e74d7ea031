package sources

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
)

func TestJSONArrayAndNDJSON(t *testing.T) {
	want := []map[string]any{
		{"id": int64(1), "email": "ann@example.com", "password.password_hash": "$2a$10$x", "score": 1.5, "roles": []any{"admin", int64(2)}, "deleted_at": nil},
		{"id": int64(9007199254740993), "email": "bob@example.com", "meta": map[string]any{}},
	}
	tests := []struct {
		name, kind, content string
		lines               []int
	}{
		{"array", "json", "[\n  {\"id\": 1, \"email\": \"ann@example.com\", \"password\": {\"password_hash\": \"$2a$10$x\"}, \"score\": 1.5, \"roles\": [\"admin\", 2], \"deleted_at\": null},\n  {\"id\": 9007199254740993, \"email\": \"bob@example.com\", \"meta\": {}}\n]\n", []int{2, 3}},
		{"wrapped array", "json", "{\"exported\": \"today\", \"users\": [{\"id\": 1, \"email\": \"ann@example.com\", \"password\": {\"password_hash\": \"$2a$10$x\"}, \"score\": 1.5, \"roles\": [\"admin\", 2], \"deleted_at\": null},\n{\"id\": 9007199254740993, \"email\": \"bob@example.com\", \"meta\": {}}]}", []int{1, 2}},
		{"ndjson", "ndjson", "{\"id\": 1, \"email\": \"ann@example.com\", \"password\": {\"password_hash\": \"$2a$10$x\"}, \"score\": 1.5, \"roles\": [\"admin\", 2], \"deleted_at\": null}\r\n\n{\"id\": 9007199254740993, \"email\": \"bob@example.com\", \"meta\": {}}", []int{1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := openPlan(t, filePlan(tt.kind, writeFile(t, "u.json", tt.content)))
			recs := readAll(t, src, "")
			if len(recs) != 2 {
				t.Fatalf("got %d records, want 2", len(recs))
			}
			for i, r := range recs {
				if !reflect.DeepEqual(r.Fields, want[i]) {
					t.Errorf("record %d: got %#v, want %#v", i+1, r.Fields, want[i])
				}
				if r.Line != tt.lines[i] || r.Row != i+1 || r.Err != nil {
					t.Errorf("record %d: got row %d line %d err %v, want row %d line %d", i+1, r.Row, r.Line, r.Err, i+1, tt.lines[i])
				}
			}
			rest := readAll(t, src, recs[0].Pos)
			if len(rest) != 1 || !reflect.DeepEqual(rest[0], recs[1]) {
				t.Errorf("resume after row 1: got %+v, want %+v", rest, recs[1:])
			}
			if rest := readAll(t, src, recs[1].Pos); len(rest) != 0 {
				t.Errorf("resume after the last row: got %d records, want 0", len(rest))
			}
			found, err := src.(Finder).Find(context.Background(), "email", "BOB@example.com")
			if err != nil || len(found) != 1 || found[0].Row != 2 {
				t.Errorf("Find: got %+v, %v; want row 2", found, err)
			}
		})
	}
}

func TestNDJSONBadLineContinues(t *testing.T) {
	content := "{\"email\": \"a@x.io\"}\n{\"email\": \"b@x.io\"\n[1, 2]\n{\"email\": \"c@x.io\"}\n"
	recs := readAll(t, openPlan(t, filePlan("ndjson", writeFile(t, "u.ndjson", content))), "")
	var codes []strategies.Code
	for _, r := range recs {
		codes = append(codes, strategies.CodeOf(r.Err))
	}
	want := []strategies.Code{"", strategies.CodeMalformedRecord, strategies.CodeMalformedRecord, ""}
	if !reflect.DeepEqual(codes, want) {
		t.Fatalf("got codes %q, want %q", codes, want)
	}
	if recs[3].Row != 4 || recs[3].Line != 4 || recs[3].Fields["email"] != "c@x.io" {
		t.Errorf("after the bad lines: got %+v, want row 4 line 4 c@x.io", recs[3])
	}
}

func TestVendorExports(t *testing.T) {
	auth0 := `{"user_id":"auth0|1","email":"Ann@Example.com","email_verified":true,"custom_password_hash":{"algorithm":"md5","hash":{"value":"5f4d","encoding":"hex"}},"app_metadata":{"plan":"pro"},"blocked":false}
{"user_id":"auth0|2","email":"bob@example.com","email_verified":false,"password_hash":"$2b$10$abc"}
`
	firebase := `{"users": [
{"localId": "u1", "email": "ann@example.com", "emailVerified": true, "passwordHash": "bG9s", "salt": "c2FsdA==", "createdAt": "1700000000000", "customAttributes": "{\"member_id\": 42}", "providerUserInfo": [{"providerId": "password"}]}
]}`
	dir := t.TempDir()
	t.Run("auth0", func(t *testing.T) {
		recs := readAll(t, openPlan(t, filePlan("auth0", writeFile(t, "auth0.ndjson", auth0))), "")
		if len(recs) != 2 {
			t.Fatalf("got %d records, want 2", len(recs))
		}
		m := DefaultMapping("auth0")
		for _, f := range []strategies.FieldRef{m.LegacyID, m.Email, m.EmailVerified} {
			if _, ok := recs[0].Fields[f.Column]; !ok {
				t.Errorf("default mapping column %q: not in the record %v", f.Column, recs[0].Fields)
			}
		}
		if got := recs[0].Fields["custom_password_hash.hash.value"]; got != "5f4d" {
			t.Errorf("custom_password_hash.hash.value: got %v, want 5f4d", got)
		}
		if got := recs[1].Fields[m.PasswordHash.Column]; got != "$2b$10$abc" {
			t.Errorf("password_hash: got %v, want the bcrypt hash", got)
		}
	})
	t.Run("firebase", func(t *testing.T) {
		p := filePlan("firebase", writeFile(t, "users.json", firebase))
		p.Source.HashConfig = filepath.Join(dir, "hash.txt")
		writeTo(t, p.Source.HashConfig, "hash_config {\n  algorithm: SCRYPT,\n  base64_signer_key: c2lnbmVy,\n  base64_salt_separator: Bw==,\n  rounds: 8,\n  mem_cost: 14,\n}\n")
		src := openPlan(t, p)
		recs := readAll(t, src, "")
		if len(recs) != 1 {
			t.Fatalf("got %d records, want 1", len(recs))
		}
		f := recs[0].Fields
		if f["customAttributes.member_id"] != int64(42) {
			t.Errorf("customAttributes.member_id: got %#v, want 42", f["customAttributes.member_id"])
		}
		if got, want := f["createdAt"], time.UnixMilli(1700000000000).UTC(); got != want {
			t.Errorf("createdAt: got %v, want %v", got, want)
		}
		cfg, err := src.(HashConfiger).HashConfig(context.Background())
		if err != nil {
			t.Fatalf("HashConfig: %v", err)
		}
		want := &passwords.FirebaseConfig{SignerKey: "c2lnbmVy", SaltSeparator: "Bw==", Rounds: 8, MemCost: 14}
		if !reflect.DeepEqual(cfg, want) {
			t.Errorf("HashConfig: got %+v, want %+v", cfg, want)
		}
		writeTo(t, p.Source.HashConfig, `{"algorithm": "SCRYPT", "base64_signer_key": "c2lnbmVy", "base64_salt_separator": "Bw==", "rounds": 8, "mem_cost": 14}`)
		if cfg, err := src.(HashConfiger).HashConfig(context.Background()); err != nil || !reflect.DeepEqual(cfg, want) {
			t.Errorf("HashConfig from JSON: got %+v, %v; want %+v", cfg, err, want)
		}
		writeTo(t, p.Source.HashConfig, `{"algorithm": "SCRYPT", "rounds": 8, "mem_cost": 14}`)
		if _, err := src.(HashConfiger).HashConfig(context.Background()); err == nil {
			t.Errorf("HashConfig without a signer key: got no error, want one")
		}
	})
}

func writeTo(t *testing.T, path, content string) {
	t.Helper()
	if err := writeFileAt(path, content); err != nil {
		t.Fatal(err)
	}
}
