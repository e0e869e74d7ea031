package jsonscan

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// membersAsMap is Object's result as encoding/json would fill a map.
func membersAsMap(t *testing.T, ms []Member) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range ms {
		if _, dup := out[m.Key]; dup {
			t.Fatalf("got key %q twice, want each key once", m.Key)
		}
		out[m.Key] = string(m.Val)
	}
	return out
}

// TestObjectMembers checks the in-place object scanner against encoding/json on the
// shapes that reach it: whitespace, escaped and non-ASCII keys, repeated keys (the last
// wins), nesting, and values that are not objects.
func TestObjectMembers(t *testing.T) {
	tests := []struct {
		name, in string
		notObj   bool
	}{
		{"plain", `{"email":"a@example.com","email_verified":true,"name":"A B"}`, false},
		{"whitespace", " {\n\t\"email\" : \"a@x.io\" ,\r\n \"roles\" : [ \"a\" , \"b\" ] } ", false},
		{"empty", `{}`, false},
		{"empty with space", `{ }`, false},
		{"nested", `{"address":{"country":"HK","x":{"y":[1,{"z":"}"}]}},"mfa":{"totp":{"secret":"s\"]}"}}}`, false},
		{"escaped key", `{"em\u0061il":"a@x.io"}`, false},
		{"non-ASCII key", `{"zoë":"x","email":"a@x.io"}`, false},
		{"repeated key, last wins", `{"email":"first@x.io","name":"n","email":"last@x.io"}`, false},
		{"numbers and literals", `{"a":-1.5e3,"b":null,"c":false,"d":0}`, false},
		{"many keys", "{" + manyKeys(40) + "}", false},
		{"array", `[{"email":"a@x.io"}]`, true},
		{"string", `"x"`, true},
		{"null", `null`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !json.Valid([]byte(tt.in)) {
				t.Fatalf("test input %s is not JSON", tt.in)
			}
			ms, ok := Object([]byte(tt.in), nil)
			if ok == tt.notObj {
				t.Fatalf("got object %v, want %v", ok, !tt.notObj)
			}
			if !ok {
				return
			}
			var want map[string]json.RawMessage
			if err := json.Unmarshal([]byte(tt.in), &want); err != nil {
				t.Fatal(err)
			}
			wantS := map[string]string{}
			for k, v := range want {
				wantS[k] = string(v)
			}
			if got := membersAsMap(t, ms); !reflect.DeepEqual(got, wantS) {
				t.Errorf("got %v, want %v", got, wantS)
			}
		})
	}
}

func manyKeys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":%d`, i, i)
	}
	return b.String()
}

// TestArrayElements checks that records are split as encoding/json splits them.
func TestArrayElements(t *testing.T) {
	tests := []string{`[]`, `[ ]`, `[{"a":"]"},2, "x" ,[3,[4]],null]`, " [\n{\"email\":\"a@x.io\"}\n] "}
	for _, in := range tests {
		t.Run(in, func(t *testing.T) {
			var want []json.RawMessage
			if err := json.Unmarshal([]byte(in), &want); err != nil {
				t.Fatal(err)
			}
			got := Array([]byte(in))
			if len(got) != len(want) {
				t.Fatalf("got %d elements %q, want %d %q", len(got), got, len(want), want)
			}
			for i := range got {
				if string(got[i]) != string(want[i]) {
					t.Errorf("element %d: got %s, want %s", i, got[i], want[i])
				}
			}
		})
	}
}
