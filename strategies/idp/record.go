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
	e := recordEncoder{dst: append(dst, '{'), first: true}
	e.str("preferred_username", u.PreferredUsername)
	e.str("email", u.Email)
	e.str("phone_number", u.PhoneNumber)
	e.boolp("email_verified", u.EmailVerified)
	e.boolp("phone_number_verified", u.PhoneNumberVerified)
	for _, kv := range [...][2]string{
		{"name", u.Name}, {"given_name", u.GivenName}, {"family_name", u.FamilyName},
		{"middle_name", u.MiddleName}, {"nickname", u.Nickname}, {"profile", u.Profile},
		{"picture", u.Picture}, {"website", u.Website}, {"gender", u.Gender},
		{"birthdate", u.Birthdate}, {"zoneinfo", u.Zoneinfo}, {"locale", u.Locale},
	} {
		e.str(kv[0], kv[1])
	}
	e.address(u.Address)
	if err := e.custom(u.CustomAttributes); err != nil {
		return e.dst, err
	}
	e.list("roles", u.Roles)
	e.list("groups", u.Groups)
	if u.Disabled {
		e.key("disabled")
		e.dst = append(e.dst, "true"...)
	}
	e.password(pw)
	return append(e.dst, '}'), nil
}

// recordEncoder appends one record's members; first says no member was written yet.
type recordEncoder struct {
	dst   []byte
	first bool
}

func (e *recordEncoder) key(k string) { e.dst = appendKey(e.dst, k, &e.first) }

func (e *recordEncoder) str(k, v string) {
	if v == "" {
		return
	}
	e.key(k)
	e.dst = appendString(e.dst, v)
}

func (e *recordEncoder) boolp(k string, v *bool) {
	if v == nil {
		return
	}
	e.key(k)
	e.dst = strconv.AppendBool(e.dst, *v)
}

// address writes the address claim's non-empty parts; an empty address is left out
// (Authgear would store an empty object).
func (e *recordEncoder) address(a *strategies.Address) {
	if a == nil || *a == (strategies.Address{}) {
		return
	}
	e.key("address")
	e.dst = append(e.dst, '{')
	af := true
	for _, kv := range [...][2]string{
		{"formatted", a.Formatted}, {"street_address", a.StreetAddress}, {"locality", a.Locality},
		{"region", a.Region}, {"postal_code", a.PostalCode}, {"country", a.Country},
	} {
		if kv[1] != "" {
			e.dst = appendKey(e.dst, kv[0], &af)
			e.dst = appendString(e.dst, kv[1])
		}
	}
	e.dst = append(e.dst, '}')
}

// custom writes custom attributes in sorted order, so the same user always encodes to
// the same bytes (run fingerprints and tests compare them). Values keep their JSON types.
func (e *recordEncoder) custom(attrs map[string]any) error {
	if len(attrs) == 0 {
		return nil
	}
	e.key("custom_attributes")
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	e.dst = append(e.dst, '{')
	cf := true
	for _, k := range keys {
		e.dst = appendKey(e.dst, k, &cf)
		v, err := json.Marshal(attrs[k])
		if err != nil {
			return fmt.Errorf("custom_attributes.%s: %w", k, err)
		}
		e.dst = append(e.dst, v...)
	}
	e.dst = append(e.dst, '}')
	return nil
}

func (e *recordEncoder) list(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	e.key(k)
	e.dst = append(e.dst, '[')
	for i, v := range vs {
		if i > 0 {
			e.dst = append(e.dst, ',')
		}
		e.dst = appendString(e.dst, v)
	}
	e.dst = append(e.dst, ']')
}

// password writes the password object; the salt only goes to targets that take one
// apart from the hash (the permissive mock IdP).
func (e *recordEncoder) password(pw *Password) {
	if pw == nil || pw.Hash == "" {
		return
	}
	e.key("password")
	e.dst = append(e.dst, `{"type":`...)
	e.dst = appendString(e.dst, pw.Type)
	e.dst = append(e.dst, `,"password_hash":`...)
	e.dst = appendString(e.dst, pw.Hash)
	if pw.Salt != "" {
		e.dst = append(e.dst, `,"salt":`...)
		e.dst = appendString(e.dst, pw.Salt)
	}
	e.dst = append(e.dst, '}')
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
