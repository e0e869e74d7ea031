package passwords

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"
)

// ldapFormats: RFC 2307 userPassword values of OpenLDAP, 389-ds and friends.
func ldapFormats() []format {
	return []format{
		// Salted schemes put the salt after the digest inside the base64; unsalted ones
		// are the digest alone. All are fast hashes, hence weak.
		ldapDigest("ldap_ssha", "{SSHA}", sha1.New, true),
		ldapDigest("ldap_sha", "{SHA}", sha1.New, false),
		ldapDigest("ldap_ssha256", "{SSHA256}", sha256.New, true),
		ldapDigest("ldap_ssha512", "{SSHA512}", sha512.New, true),
		ldapDigest("ldap_md5", "{MD5}", md5.New, false),
		ldapDigest("ldap_smd5", "{SMD5}", md5.New, true),
		{
			// {CRYPT} wraps a crypt(3) string: OpenLDAP hands it to the system's crypt, so the
			// inner value is verified exactly as /etc/shadow's would be.
			name: "ldap_crypt", family: "ldap", prefix: "{CRYPT}", prefixFoldCase: true,
			doc: "{CRYPT} + a crypt(3) string ($1$, $5$, $6$, $2b$...); verified as the inner format",
			parse: func(v *Verifier, s Stored) (map[string]string, error) {
				inner, err := ldapInner(v, s)
				if err != nil {
					return nil, err
				}
				// s.Hash[7:] is everything after "{CRYPT}", whatever its case.
				params, err := inner.parse(v, Stored{Hash: s.Hash[7:]})
				if err == nil {
					params["inner"] = inner.name
				}
				return params, err
			},
			verify: func(ctx context.Context, v *Verifier, s Stored, pw string) (bool, error) {
				inner, err := ldapInner(v, s)
				if err != nil {
					return false, err
				}
				return inner.verify(ctx, v, Stored{Hash: s.Hash[7:]}, pw)
			},
		},
	}
}

// ldapInner finds the crypt(3) format inside "{CRYPT}...".
func ldapInner(v *Verifier, s Stored) (*format, error) {
	if !hasPrefix(s.Hash, "{CRYPT}", true) {
		return nil, malformed("ldap_crypt", "expected {CRYPT} followed by a crypt(3) string")
	}
	inner := Stored{Hash: s.Hash[7:]}
	// Only schemes the registry verifies; their prefixes cannot overlap, so the order
	// does not matter.
	for _, name := range []string{"md5_crypt", "sha256_crypt", "sha512_crypt", "bcrypt"} {
		if f := registry.byName[name]; f.sniff(v, inner) == 1 {
			return f, nil
		}
	}
	// Thirteen characters and no $ is traditional DES crypt: Go has no implementation,
	// and it reads only 8 characters of a password, so it is refused by name.
	if len(inner.Hash) == 13 {
		return nil, unsupported("ldap_crypt", "traditional DES crypt is not supported (and only the first 8 characters of a password ever counted); use the lazy strategy with a password reset for these users")
	}
	return nil, unsupported("ldap_crypt", "the crypt(3) scheme inside {CRYPT} is not one of $1$, $5$, $6$, $2a$/$2b$/$2y$")
}

// ldapDigest builds one RFC 2307 digest scheme, {SCHEME}base64(digest [+ salt]).
// Scheme names are case-insensitive in LDAP ({ssha} is {SSHA}).
func ldapDigest(name, prefix string, newHash func() hash.Hash, salted bool) format {
	size := newHash().Size()
	parse := func(s Stored) (sum, salt []byte, err error) {
		if !hasPrefix(s.Hash, prefix, true) {
			return nil, nil, malformed(name, "expected it to start with %s", prefix)
		}
		raw, err := base64.StdEncoding.DecodeString(s.Hash[len(prefix):])
		if err != nil {
			return nil, nil, malformed(name, "the value after %s is not standard base64", prefix)
		}
		switch {
		case !salted && len(raw) != size:
			return nil, nil, malformed(name, "the digest is %d bytes, want %d", len(raw), size)
		// A salted value needs at least one salt byte (OpenLDAP writes 4, others 8 or more).
		case salted && len(raw) <= size:
			return nil, nil, malformed(name, "the value is %d bytes; want a %d-byte digest followed by a salt", len(raw), size)
		}
		return raw[:size], raw[size:], nil
	}
	doc := prefix + "base64(" + strings.TrimPrefix(name, "ldap_") + "(password))"
	if salted {
		doc = prefix + "base64(digest(password + salt) + salt)"
	}
	return format{
		name: name, family: "ldap", prefix: prefix, prefixFoldCase: true, weak: true, doc: doc,
		parse: func(_ *Verifier, s Stored) (map[string]string, error) {
			_, salt, err := parse(s)
			if err != nil {
				return nil, err
			}
			return map[string]string{"salt_length": strconv.Itoa(len(salt))}, nil
		},
		verify: func(ctx context.Context, _ *Verifier, s Stored, pw string) (bool, error) {
			sum, salt, err := parse(s)
			if err != nil {
				return false, err
			}
			// RFC 2307 salted digests are H(password + salt): the salt comes last.
			d := newHash()
			d.Write([]byte(pw))
			d.Write(salt)
			return equal(d.Sum(nil), sum), nil
		},
	}
}
