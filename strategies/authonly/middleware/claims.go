package middleware

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// ErrUntrustedClaims is returned when the IdP's claims (in the access token or from
// userinfo) name one claim more than once, in the same or another case: "Email" beside
// "email", or "Email_verified" alone. encoding/json matches keys case-insensitively
// and keeps the last duplicate, so such an answer reads one way here and another way
// elsewhere; at IdPs that serve a user-written blob at userinfo (the mock IdP, and the
// lazy-migration protocol it follows, where POST /oauth2/userinfo replaces the blob),
// it is how a user dresses their own keys up as the IdP's. The request is answered 403.
var ErrUntrustedClaims = errors.New("the IdP's claims name a claim more than once or in a non-standard case")

// identityClaims are the claims the middleware reads to identify and link a user, and
// their neighbours an app is likely to read next. Only these exact (lower-case, as
// OpenID Connect spells them) keys count: the IdP sets them itself (the mock IdP from
// the account, Authgear from the user's verified identities), while any other spelling
// can only have come from somewhere a user writes.
var identityClaims = []string{"sub", "email", "email_verified", "phone_number", "phone_number_verified", "preferred_username"}

// claimSet is the top level of a claims object: each key once, exactly as sent.
type claimSet map[string]json.RawMessage

// parseClaims reads a JSON claims object key by key (a map would silently keep the
// last of two equal keys) and refuses one that names a key twice, in any case under
// Unicode simple folding (as encoding/json compares, so "ſub" is "sub"), or that spells
// an identity claim in another case than the standard one.
func parseClaims(raw []byte) (claimSet, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("the claims are not a JSON object")
	}
	out := claimSet{}
	seen := map[string]string{} // folded key -> key as sent
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("read claims: %w", err)
		}
		key, _ := tok.(string) // an object's keys are always strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("read claims: %w", err)
		}
		folded := fold(key)
		if prev, ok := seen[folded]; ok {
			return nil, fmt.Errorf("%w: %q and %q", ErrUntrustedClaims, prev, key)
		}
		seen[folded] = key
		for _, std := range identityClaims {
			if folded == fold(std) && key != std {
				return nil, fmt.Errorf("%w: %q is not the standard %q", ErrUntrustedClaims, key, std)
			}
		}
		out[key] = v
	}
	return out, nil
}

// fold maps s to one representative of its case-insensitive class: each rune becomes
// the smallest rune of its simple-folding orbit, so fold(a) == fold(b) exactly when
// strings.EqualFold(a, b).
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		low := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			low = min(low, f)
		}
		b.WriteRune(low)
	}
	return b.String()
}

// str returns the claim as a string, or "" when it is absent or not a string.
func (c claimSet) str(key string) string {
	var s string
	if json.Unmarshal(c[key], &s) != nil {
		return ""
	}
	return s
}

// verified reports whether the claim is true: the JSON true or, as some IdPs send
// their booleans (Amazon Cognito), the string "true".
func (c claimSet) verified(key string) bool {
	var v any
	if json.Unmarshal(c[key], &v) != nil {
		return false
	}
	return isTrue(v)
}
