package mockidp

// The echo of each record in the job's details, as Authgear writes it.

import (
	"encoding/json"
	"unicode/utf8"

	"github.com/cutover/cutover/mockidp/internal/jsonscan"
)

// redactMembers returns the record to echo as Authgear echoes it: decoded and encoded
// again by encoding/json (keys sorted at every depth), with the secrets replaced by
// "REDACTED" but their structure kept: password.password_hash, mfa.password.password_hash
// and mfa.totp.secret (a secret that is not an object is replaced whole).
func redactMembers(raw json.RawMessage, ms []jsonscan.Member, redactSalt bool) json.RawMessage {
	out := make([]jsonscan.Member, len(ms))
	copy(out, ms)
	for i := range out {
		switch out[i].Key {
		case "password":
			out[i].Val = redactKey(out[i].Val, "password_hash", redactSalt)
		case "mfa":
			out[i].Val = redactMFA(out[i].Val, redactSalt)
		default:
			out[i].Val = canonical(out[i].Val)
		}
	}
	return jsonscan.AppendObject(make([]byte, 0, len(raw)+16), out)
}

var redacted = json.RawMessage(`"REDACTED"`)

// redactKey replaces key in the object v by "REDACTED", adding it when absent as
// Authgear does; null stays null, anything else is replaced. A salt is redacted too when
// redactSalt: the permissive profile stores salts, while Authgear refuses a salt key and
// echoes its value as sent (the authgear profile does the same).
func redactKey(v json.RawMessage, key string, redactSalt bool) json.RawMessage {
	if string(v) == "null" {
		return v
	}
	ms, ok := jsonscan.Object(v, internedKeys)
	if !ok {
		return redacted
	}
	found := false
	for i := range ms {
		switch ms[i].Key {
		case key:
			ms[i].Val, found = redacted, true
		case "salt":
			if redactSalt {
				ms[i].Val = redacted
			} else {
				ms[i].Val = canonical(ms[i].Val)
			}
		default:
			ms[i].Val = canonical(ms[i].Val)
		}
	}
	if !found {
		ms = append(ms, jsonscan.Member{Key: key, Val: redacted})
	}
	return jsonscan.AppendObject(nil, ms)
}

func redactMFA(v json.RawMessage, redactSalt bool) json.RawMessage {
	if string(v) == "null" {
		return v
	}
	ms, ok := jsonscan.Object(v, internedKeys)
	if !ok {
		return redacted
	}
	for i := range ms {
		switch ms[i].Key {
		case "password":
			ms[i].Val = redactKey(ms[i].Val, "password_hash", redactSalt)
		case "totp":
			ms[i].Val = redactKey(ms[i].Val, "secret", redactSalt)
		default:
			ms[i].Val = canonical(ms[i].Val)
		}
	}
	return jsonscan.AppendObject(nil, ms)
}

// canonical returns v as encoding/json writes it after decoding it into an any, as
// Authgear does with every echoed record. Literals, small integers and plain ASCII
// strings are already in that form (jsonscan.AppendCompact escapes what it must); the
// rest takes the round trip.
func canonical(v json.RawMessage) json.RawMessage {
	if plainValue(v) {
		return v
	}
	var x any
	if json.Unmarshal(v, &x) != nil {
		return v
	}
	b, err := json.Marshal(x)
	if err != nil {
		return v
	}
	return b
}

func plainValue(v []byte) bool {
	switch s := string(v); {
	case s == "true" || s == "false" || s == "null":
		return true
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
		for _, c := range v[1 : len(v)-1] {
			if c < 0x20 || c >= utf8.RuneSelf || c == '\\' {
				return false
			}
		}
		return true
	case len(v) > 0 && len(v) <= 15:
		// An integer of up to 15 digits survives float64 unchanged.
		i := 0
		if v[0] == '-' {
			i++
		}
		if i >= len(v) || (v[i] == '0' && len(v) > i+1) {
			return false
		}
		for ; i < len(v); i++ {
			if v[i] < '0' || v[i] > '9' {
				return false
			}
		}
		return true
	}
	return false
}
