package mapping

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// lookup finds a column in a record. Sources flatten nested JSON to dotted paths; a
// source that keeps nested objects is walked as a fallback.
func lookup(fields map[string]any, col string) (any, bool) {
	if v, ok := fields[col]; ok {
		return v, true
	}
	if !strings.Contains(col, ".") {
		return nil, false
	}
	var cur any = fields
	for part := range strings.SplitSeq(col, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// text renders a source value as text. ok is false for NULL. Binary values that are
// not UTF-8 (a salt in a BLOB column) are rendered as lower-case hex.
func text(v any) (s string, ok bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case []byte:
		if utf8.Valid(x) {
			return string(x), true
		}
		return hex.EncodeToString(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case int:
		return strconv.Itoa(x), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return timeText(x), true
	case json.Number:
		return x.String(), true
	case []any:
		parts := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := text(e); ok {
				parts = append(parts, s)
			}
		}
		return strings.Join(parts, ","), true
	default:
		return fmt.Sprint(x), true
	}
}

// timeText writes a date without a clock as a date (birthdate columns), else RFC 3339.
func timeText(t time.Time) string {
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(time.DateOnly)
	}
	return t.Format(time.RFC3339)
}

// isNullText reports the spellings of NULL that database exports write into text files.
func isNullText(s string) bool {
	return s == "" || s == `\N` || strings.EqualFold(s, "null")
}

// parseBool reads the booleans legacy schemas use: true/false, t/f, 1/0, yes/no, y/n,
// on/off, and MySQL BIT(1) bytes. known is false for NULL or an empty value.
func parseBool(v any) (b, known bool, err error) {
	switch x := v.(type) {
	case nil:
		return false, false, nil
	case bool:
		return x, true, nil
	case int64:
		return intBool(float64(x))
	case int:
		return intBool(float64(x))
	case int32:
		return intBool(float64(x))
	case float64:
		return intBool(x)
	case []byte:
		if len(x) == 1 && x[0] <= 1 {
			return x[0] == 1, true, nil
		}
		return parseBool(string(x))
	case string:
		s := strings.TrimSpace(x)
		if isNullText(s) {
			return false, false, nil
		}
		switch strings.ToLower(s) {
		case "1", "t", "true", "y", "yes", "on":
			return true, true, nil
		case "0", "f", "false", "n", "no", "off":
			return false, true, nil
		}
		return false, false, fmt.Errorf("%q is not a boolean", clip(s, 20))
	}
	return false, false, fmt.Errorf("a %T is not a boolean", v)
}

func intBool(f float64) (bool, bool, error) {
	switch f {
	case 0:
		return false, true, nil
	case 1:
		return true, true, nil
	}
	return false, false, fmt.Errorf("%v is not a boolean (want 0 or 1)", f)
}

// verifiedAt reads a "verified at" column: any timestamp or non-empty value means
// verified; NULL, empty, 0 and MySQL's zero date mean not verified.
func verifiedAt(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case time.Time:
		return !x.IsZero()
	case bool:
		return x
	case int64:
		return x != 0
	case int:
		return x != 0
	case float64:
		return x != 0
	}
	s, _ := text(v)
	s = strings.TrimSpace(s)
	return !isNullText(s) && s != "0" && !strings.HasPrefix(s, "0000-00-00")
}

// looksLikeTime reports a timestamp value: a time.Time or text starting with a date.
func looksLikeTime(v any) bool {
	switch x := v.(type) {
	case time.Time:
		return !x.IsZero()
	case string:
		s := strings.TrimSpace(x)
		if len(s) < 10 {
			return false
		}
		_, err := time.Parse(time.DateOnly, s[:10])
		return err == nil
	}
	return false
}

// list reads a list column: a JSON array, a Postgres array literal {a,b}, an array
// value, or comma-separated text. Empty elements are dropped.
func list(v any) []string {
	var parts []string
	switch x := v.(type) {
	case nil:
		return nil
	case []any:
		for _, e := range x {
			if s, ok := text(e); ok {
				parts = append(parts, s)
			}
		}
	default:
		s, _ := text(v)
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "["):
			if err := json.Unmarshal([]byte(s), &parts); err == nil {
				break
			}
			parts = strings.Split(strings.Trim(s, "[]"), ",")
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
			parts = strings.Split(s[1:len(s)-1], ",")
		default:
			parts = strings.Split(s, ",")
		}
	}
	out := parts[:0]
	for _, p := range parts {
		if p = strings.Trim(strings.TrimSpace(p), `"`); p != "" {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// clip shortens s for a message.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}
