package jsonscan

import (
	"encoding/json"
	"testing"
)

// encodeSamples are values that take every branch of the encoders: plain, escaped,
// HTML-sensitive, U+2028/U+2029, invalid UTF-8, whitespace inside and outside strings.
var encodeSamples = []string{
	``, `a`, `email`, `with space`, `quote"`, `back\slash`, "tab\there", "nl\n", "\x00nul", `<script>`, `a&b`,
	`a>b`, "zoë", "line\u2028sep", "para\u2029sep", "\xff\xfe bad utf-8", "bidi\u202e", "emoji 😀", "\u00e2\u0080",
}

// TestAppendStringMatchesMarshal holds AppendString to json.Marshal of a string.
func TestAppendStringMatchesMarshal(t *testing.T) {
	for _, s := range encodeSamples {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q): got %s, want %s", s, got, want)
		}
	}
}

// TestAppendCompactMatchesMarshal holds AppendCompact to json.Marshal of a
// json.RawMessage, which compacts it and escapes HTML characters.
func TestAppendCompactMatchesMarshal(t *testing.T) {
	values := []string{`1`, `-1.5e3`, `null`, `true`, ` [ 1 , 2 ] `, "{\n\t\"a\" : \"b c\"\r\n}", `"<b>&amp;</b>"`,
		`{"a":"x y","b":[{"c":"\u003c"}]}`, "\"\u2028\"", "\"é\"", `{"k":"\"quoted\" \\ "}`, `[ "a\\", "b" ]`}
	for _, s := range encodeSamples {
		b, _ := json.Marshal(s)
		values = append(values, string(b))
	}
	for _, v := range values {
		checkCompact(t, []byte(v))
	}
}

func checkCompact(t *testing.T, v []byte) {
	t.Helper()
	want, err := json.Marshal(json.RawMessage(v))
	if err != nil {
		t.Fatalf("json.Marshal(%s): %v", v, err)
	}
	if got := AppendCompact(nil, v); string(got) != string(want) {
		t.Errorf("AppendCompact(%s): got %s, want %s", v, got, want)
	}
}

// TestAppendObjectMatchesMarshal holds AppendObject to json.Marshal of the same members
// as a map, which sorts keys.
func TestAppendObjectMatchesMarshal(t *testing.T) {
	ms := []Member{{"zeta", json.RawMessage(`1`)}, {"alpha", json.RawMessage(` "x" `)}, {"<k>", json.RawMessage(`{"b": [true, null]}`)}}
	m := map[string]json.RawMessage{}
	for _, s := range encodeSamples {
		ms = append(ms, Member{Key: s, Val: json.RawMessage(`"` + "v" + `"`)})
	}
	for _, x := range ms {
		// json.Marshal replaces invalid UTF-8 in keys, so the map it sorts has the
		// replaced key; AppendObject sorts the raw keys. Only valid keys are compared.
		m[x.Key] = x.Val
	}
	delete(m, "\xff\xfe bad utf-8")
	delete(m, "\u00e2\u0080")
	var valid []Member
	for _, x := range ms {
		if _, ok := m[x.Key]; ok {
			valid = append(valid, x)
		}
	}
	want, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if got := AppendObject(nil, valid); string(got) != string(want) {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// FuzzAppendCompact holds AppendCompact to json.Marshal on any valid JSON value.
func FuzzAppendCompact(f *testing.F) {
	for _, s := range []string{`{"a": "<b>"}`, `[1, 2]`, "\"\u2028\"", `" "`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, v []byte) {
		if !json.Valid(v) {
			return
		}
		checkCompact(t, v)
	})
}

// FuzzAppendString holds AppendString to json.Marshal on any string.
func FuzzAppendString(f *testing.F) {
	for _, s := range encodeSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, _ := json.Marshal(s)
		if got := AppendString(nil, s); string(got) != string(want) {
			t.Errorf("AppendString(%q): got %s, want %s", s, got, want)
		}
	})
}
