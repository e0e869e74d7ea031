// Package jsonscan reads and writes the JSON of import requests without reflection. The
// mock IdP validates hundreds of thousands of records a second; encoding/json's maps and
// reflection dominated that time, so the common shapes (plain ASCII keys, small objects)
// are scanned in place here and everything unusual falls back to encoding/json, which
// stays the reference: every function here answers as encoding/json would.
package jsonscan

import (
	"bytes"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"
)

// Member is one key and raw value of a JSON object.
type Member struct {
	Key string
	Val json.RawMessage
}

// maxFastMembers bounds the quadratic duplicate check of Object's fast path.
const maxFastMembers = 24

// Object returns the members of v, which must be valid JSON, each key once (the last
// value wins, as when encoding/json fills a map), or ok false when v is not an object.
// Plain keys of small objects are scanned in place; escaped keys, many keys or repeated
// keys go through encoding/json, sorted by key. Keys found in intern (which may be nil)
// are taken from it, so scanning a known schema allocates no key strings.
func Object(v []byte, intern map[string]string) (ms []Member, ok bool) {
	i := SkipSpace(v, 0)
	if i >= len(v) || v[i] != '{' {
		return nil, false
	}
	ms = make([]Member, 0, 8)
	i = SkipSpace(v, i+1)
	if i < len(v) && v[i] == '}' {
		return ms, true
	}
	for i < len(v) {
		key, end, plain := plainKey(v, i)
		if !plain || len(ms) == maxFastMembers || hasKey(ms, key) {
			return slowMembers(v)
		}
		i = SkipSpace(v, end+1)
		if i >= len(v) || v[i] != ':' {
			return slowMembers(v)
		}
		if i = SkipSpace(v, i+1); i >= len(v) {
			return slowMembers(v)
		}
		vend := SkipValue(v, i)
		k, ok := intern[string(key)]
		if !ok {
			k = string(key)
		}
		ms = append(ms, Member{Key: k, Val: v[i:vend:vend]})
		i = SkipSpace(v, vend)
		if i < len(v) && v[i] == '}' {
			return ms, true
		}
		if i >= len(v) || v[i] != ',' {
			return slowMembers(v)
		}
		i = SkipSpace(v, i+1)
	}
	return slowMembers(v)
}

// plainKey returns the key starting at v[i] when it is a string of printable ASCII
// without escapes (the only keys the fast path may take byte for byte), and the index of
// its closing quote.
func plainKey(v []byte, i int) (key []byte, end int, plain bool) {
	if i >= len(v) || v[i] != '"' {
		return nil, 0, false
	}
	end = i + 1
	for end < len(v) && v[end] != '"' {
		if v[end] == '\\' || v[end] >= utf8.RuneSelf {
			return nil, 0, false
		}
		end++
	}
	if end == len(v) {
		return nil, 0, false
	}
	return v[i+1 : end], end, true
}

func hasKey(ms []Member, key []byte) bool {
	for _, m := range ms {
		if m.Key == string(key) {
			return true
		}
	}
	return false
}

func slowMembers(v []byte) ([]Member, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil || m == nil {
		return nil, false
	}
	ms := make([]Member, 0, len(m))
	for k, val := range m {
		ms = append(ms, Member{Key: k, Val: val})
	}
	sort.Slice(ms, func(a, b int) bool { return ms[a].Key < ms[b].Key })
	return ms, true
}

// Array returns the raw elements of v, a valid JSON array, without copying; nil when v is
// not an array.
func Array(v []byte) []json.RawMessage {
	i := SkipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return nil
	}
	out := []json.RawMessage{}
	i = SkipSpace(v, i+1)
	if i < len(v) && v[i] == ']' {
		return out
	}
	for i < len(v) {
		end := SkipValue(v, i)
		out = append(out, v[i:end:end])
		i = SkipSpace(v, end)
		if i >= len(v) || v[i] == ']' {
			return out
		}
		i = SkipSpace(v, i+1)
	}
	return out
}

// SkipSpace returns the index of the first byte at or after i that is not JSON whitespace.
func SkipSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// SkipValue returns the end of the valid JSON value starting at v[i].
func SkipValue(v []byte, i int) int {
	switch v[i] {
	case '"':
		return skipString(v, i)
	case '{', '[':
		depth := 0
		for ; i < len(v); i++ {
			switch v[i] {
			case '"':
				i = skipString(v, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(v) {
		switch v[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// skipString returns the index just past the string starting at v[i].
func skipString(v []byte, i int) int {
	for i++; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// AppendObject appends ms as a JSON object with sorted keys and compacted values, as
// json.Marshal writes a map[string]json.RawMessage. It sorts ms in place.
func AppendObject(dst []byte, ms []Member) []byte {
	slices.SortFunc(ms, func(a, b Member) int { return strings.Compare(a.Key, b.Key) })
	dst = append(dst, '{')
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = AppendString(dst, m.Key)
		dst = append(dst, ':')
		dst = AppendCompact(dst, m.Val)
	}
	return append(dst, '}')
}

// AppendString appends s as a JSON string, as json.Marshal writes it (HTML characters
// escaped, invalid UTF-8 replaced).
func AppendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// AppendCompact appends the valid JSON value v as json.Marshal writes a json.RawMessage:
// without insignificant whitespace, and with <, >, &, U+2028 and U+2029 escaped.
func AppendCompact(dst []byte, v []byte) []byte {
	in := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		// 0xE2 starts U+2028 and U+2029, which json.Marshal escapes; rare enough that
		// any multi-byte character starting with it takes the slow path.
		case c == '<' || c == '>' || c == '&' || c == 0xE2,
			!in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return appendCompactSlow(dst, v)
		}
	}
	return append(dst, v...)
}

func appendCompactSlow(dst []byte, v []byte) []byte {
	var c bytes.Buffer
	if json.Compact(&c, v) != nil {
		return append(dst, v...)
	}
	b := bytes.NewBuffer(dst)
	json.HTMLEscape(b, c.Bytes())
	return b.Bytes()
}

// String decodes v into s as json.Unmarshal does (null leaves s alone), without
// reflection for plain strings.
func String(v []byte, s *string) error {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		in := v[1 : len(v)-1]
		plain := true
		for _, c := range in {
			if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
				plain = false
				break
			}
		}
		if plain {
			*s = string(in)
			return nil
		}
	}
	return json.Unmarshal(v, s)
}

// Bool decodes v into b as json.Unmarshal does (null leaves b alone).
func Bool(v []byte, b *bool) error {
	switch string(v) {
	case "true":
		*b = true
		return nil
	case "false":
		*b = false
		return nil
	}
	return json.Unmarshal(v, b)
}
