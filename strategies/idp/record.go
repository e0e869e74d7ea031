package idp

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"

	"github.com/cutover/cutover/strategies"
)

// Password is the password object of an import record. Authgear takes type "bcrypt"
// only; the mock IdP's permissive profile takes any format it can verify, with Salt.
type Password struct {
	Type string
	Hash string
	Salt string
}

// AppendRecord appends u as an import record (the Authgear per-record schema; no unknown
// keys) to dst. Empty strings and unmapped booleans are left out. It is an allocation-free
// hand-written encoder because it runs once per user on the hot path.
func AppendRecord(dst []byte, u *strategies.User, pw *Password) ([]byte, error) {
	dst = append(dst, '{')
	first := true
	str := func(k, v string) {
		if v == "" {
			return
		}
		dst = appendKey(dst, k, &first)
		dst = appendString(dst, v)
	}
	boolp := func(k string, v *bool) {
		if v == nil {
			return
		}
		dst = appendKey(dst, k, &first)
		dst = strconv.AppendBool(dst, *v)
	}
	str("preferred_username", u.PreferredUsername)
	str("email", u.Email)
	str("phone_number", u.PhoneNumber)
	boolp("email_verified", u.EmailVerified)
	boolp("phone_number_verified", u.PhoneNumberVerified)
	str("name", u.Name)
	str("given_name", u.GivenName)
	str("family_name", u.FamilyName)
	str("middle_name", u.MiddleName)
	str("nickname", u.Nickname)
	str("profile", u.Profile)
	str("picture", u.Picture)
	str("website", u.Website)
	str("gender", u.Gender)
	str("birthdate", u.Birthdate)
	str("zoneinfo", u.Zoneinfo)
	str("locale", u.Locale)
	if a := u.Address; a != nil && *a != (strategies.Address{}) {
		dst = appendKey(dst, "address", &first)
		dst = append(dst, '{')
		af := true
		for _, kv := range [...][2]string{
			{"formatted", a.Formatted}, {"street_address", a.StreetAddress}, {"locality", a.Locality},
			{"region", a.Region}, {"postal_code", a.PostalCode}, {"country", a.Country},
		} {
			if kv[1] != "" {
				dst = appendKey(dst, kv[0], &af)
				dst = appendString(dst, kv[1])
			}
		}
		dst = append(dst, '}')
	}
	if len(u.CustomAttributes) > 0 {
		dst = appendKey(dst, "custom_attributes", &first)
		keys := make([]string, 0, len(u.CustomAttributes))
		for k := range u.CustomAttributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		dst = append(dst, '{')
		cf := true
		for _, k := range keys {
			dst = appendKey(dst, k, &cf)
			v, err := json.Marshal(u.CustomAttributes[k])
			if err != nil {
				return dst, fmt.Errorf("custom_attributes.%s: %w", k, err)
			}
			dst = append(dst, v...)
		}
		dst = append(dst, '}')
	}
	list := func(k string, vs []string) {
		if len(vs) == 0 {
			return
		}
		dst = appendKey(dst, k, &first)
		dst = append(dst, '[')
		for i, v := range vs {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendString(dst, v)
		}
		dst = append(dst, ']')
	}
	list("roles", u.Roles)
	list("groups", u.Groups)
	if u.Disabled {
		dst = appendKey(dst, "disabled", &first)
		dst = append(dst, "true"...)
	}
	if pw != nil && pw.Hash != "" {
		dst = appendKey(dst, "password", &first)
		dst = append(dst, `{"type":`...)
		dst = appendString(dst, pw.Type)
		dst = append(dst, `,"password_hash":`...)
		dst = appendString(dst, pw.Hash)
		if pw.Salt != "" {
			dst = append(dst, `,"salt":`...)
			dst = appendString(dst, pw.Salt)
		}
		dst = append(dst, '}')
	}
	return append(dst, '}'), nil
}

func appendKey(dst []byte, k string, first *bool) []byte {
	if !*first {
		dst = append(dst, ',')
	}
	*first = false
	dst = appendString(dst, k)
	return append(dst, ':')
}

const hexDigits = "0123456789abcdef"

// AppendJSONString appends s to dst as a JSON string (for callers writing JSON lines by hand).
func AppendJSONString(dst []byte, s string) []byte { return appendString(dst, s) }

// appendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD, as
// encoding/json does; U+2028 and U+2029 are escaped for safety in scripts.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// Batch packs encoded records into one import request body that stays within a byte
// limit. Its buffer is reused across Reset calls, so a few Batches serve a whole run.
type Batch struct {
	limit int
	buf   []byte
	n     int
	hdr   int // length of the top-level part before the first record
}

// batchSuffix closes the records array and the body.
const batchSuffix = "]}"

// NewBatch returns an empty batch whose body will never exceed limit bytes.
func NewBatch(limit int) *Batch {
	if limit <= 0 {
		limit = BodyMaxSize
	}
	return &Batch{limit: limit, buf: make([]byte, 0, limit)}
}

// Reset empties the batch and starts a body with these top-level options.
func (b *Batch) Reset(upsert bool, identifier string) {
	b.buf = append(b.buf[:0], `{"upsert":`...)
	b.buf = strconv.AppendBool(b.buf, upsert)
	b.buf = append(b.buf, `,"identifier":`...)
	b.buf = appendString(b.buf, identifier)
	b.buf = append(b.buf, `,"records":[`...)
	b.n = 0
	b.hdr = len(b.buf)
}

// Fits reports whether a record of n bytes can join the batch.
func (b *Batch) Fits(n int) bool {
	sep := 0
	if b.n > 0 {
		sep = 1
	}
	return len(b.buf)+sep+n+len(batchSuffix) <= b.limit
}

// MaxRecord is the largest record an empty batch can take.
func (b *Batch) MaxRecord() int {
	return b.limit - b.hdr - len(batchSuffix)
}

// Add appends an encoded record; it reports false (and adds nothing) when it does not fit.
func (b *Batch) Add(rec []byte) bool {
	if !b.Fits(len(rec)) {
		return false
	}
	if b.n > 0 {
		b.buf = append(b.buf, ',')
	}
	b.buf = append(b.buf, rec...)
	b.n++
	return true
}

// Size returns the body's length so far, without the closing bytes.
func (b *Batch) Size() int { return len(b.buf) }

// Len returns the number of records in the batch.
func (b *Batch) Len() int { return b.n }

// Body returns the request body. It stays valid until the next Reset or Add.
func (b *Batch) Body() []byte {
	out := append(b.buf, batchSuffix...)
	return out[:len(out):len(out)]
}
