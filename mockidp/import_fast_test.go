package mockidp

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestRedactedEchoes checks echoes of records with secrets: valid JSON, sorted keys,
// secrets replaced, everything else as sent.
func TestRedactedEchoes(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"no secrets: keys sorted", `{"name":"B", "email":"a@x.io"}`, `{"email":"a@x.io","name":"B"}`},
		{"password: structure kept", `{"password":{"type":"bcrypt","password_hash":"$2a$..."},"email":"a@x.io", "roles": ["a", "b"]}`,
			`{"email":"a@x.io","password":{"password_hash":"REDACTED","type":"bcrypt"},"roles":["a","b"]}`},
		{"mfa secrets", `{"email":"a@x.io","mfa":{"totp":{"secret":"s"},"email":"a@x.io","password":{"type":"bcrypt"}}}`,
			`{"email":"a@x.io","mfa":{"email":"a@x.io","password":{"password_hash":"REDACTED","type":"bcrypt"},"totp":{"secret":"REDACTED"}}}`},
		{"mfa with a null", `{"email":"a@x.io","mfa":{"email":null}}`, `{"email":"a@x.io","mfa":{"email":null}}`},
		{"mfa not an object", `{"email":"a@x.io","mfa":"oops"}`, `{"email":"a@x.io","mfa":"REDACTED"}`},
		{"password not an object", `{"email":"a@x.io","password":"hunter2"}`, `{"email":"a@x.io","password":"REDACTED"}`},
		{"nested keys sorted, numbers canonical", `{"email":"a@x.io","custom_attributes":{"b":1.0,"a":"\u0041<"}}`,
			`{"custom_attributes":{"a":"A\u003c","b":1},"email":"a@x.io"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, echo, _ := decodeImportRecord(json.RawMessage(tt.in), IdentifierEmail, ProfileAuthgear, nil)
			if string(echo) != tt.want {
				t.Errorf("got %s, want %s", echo, tt.want)
			}
		})
	}
}

// TestIDGen checks imported users' ids: version 7 UUIDs in the canonical form, unique,
// and ordered by their millisecond.
func TestIDGen(t *testing.T) {
	g := newIDGen()
	seen := map[string]bool{}
	t0 := time.UnixMilli(1_700_000_000_000)
	var prev string
	for i := range 3000 {
		now := t0.Add(time.Duration(i/100) * time.Millisecond)
		id := g.next(now)
		if len(id) != 36 || id[14] != '7' || !strings.ContainsRune("89ab", rune(id[19])) || strings.Count(id, "-") != 4 {
			t.Fatalf("id %d: got %q, want a version 7 UUID", i, id)
		}
		if seen[id] {
			t.Fatalf("id %d: got %q twice", i, id)
		}
		seen[id] = true
		if i%100 == 0 && prev != "" && id[:13] <= prev[:13] {
			t.Errorf("id %d: got %q after %q, want a later time prefix", i, id, prev)
		}
		prev = id
	}
}

// TestImportFileDatabaseReopen imports into a database file, reopens it, and checks
// the users, the unique identifiers and skips survive.
func TestImportFileDatabaseReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idp.db")
	body := map[string]any{"identifier": "email", "records": []any{
		map[string]any{"email": "a@example.com", "phone_number": "+14155550123"},
		map[string]any{"email": "b@example.com"},
	}}
	s := startServer(t, Config{DBPath: path, LoginIDKeys: []string{LoginIDEmail, LoginIDPhone}})
	if j := importAndWait(t, s, body); j.Summary.Inserted != 2 {
		t.Fatalf("first import: got %+v, want 2 inserted", j.Summary)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, Config{DBPath: path, LoginIDKeys: []string{LoginIDEmail, LoginIDPhone}})
	j := importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{
		map[string]any{"email": "a@example.com"},
		map[string]any{"email": "c@example.com", "phone_number": "+14155550123"},
		map[string]any{"email": "d@example.com"},
	}})
	got := []string{j.Details[0].Outcome, j.Details[1].Outcome, j.Details[2].Outcome}
	want := []string{OutcomeSkipped, OutcomeFailed, OutcomeInserted}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopening: got outcomes %v, want %v", got, want)
	}
	if e := j.Details[1].Errors; len(e) != 1 || e[0].Reason != "InvariantViolated" {
		t.Errorf("phone clash: got errors %+v, want InvariantViolated (DuplicatedIdentity)", e)
	}
}

// BenchmarkDecodeImport measures the request and record decoding of a 1,000-record body.
func BenchmarkDecodeImport(b *testing.B) {
	body, _ := json.Marshal(benchBatch("u", "$2a$04$abcdefghijklmnopqrstuu5Kx5YH3Q6Nn6Rn6b9fsg2qz8c3pj6a."))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		_, identifier, raws, e := DecodeImportRequest(body)
		if e != nil {
			b.Fatal(e)
		}
		for _, raw := range raws {
			decodeImportRecord(raw, identifier, ProfileAuthgear, nil)
		}
	}
}
