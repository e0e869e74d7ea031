package sources

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
)

// Vendor exports. Their records are read like any JSON source; these are the keys
// (Record.Fields) a mapping should use.
//
// Auth0 user export (NDJSON from the export job or a support export; a JSON array works too):
//
//	user_id, email, email_verified, username, phone_number, phone_verified, name,
//	given_name, family_name, nickname, picture, blocked, created_at, last_login,
//	password_hash (bcrypt, support exports),
//	custom_password_hash.algorithm, custom_password_hash.hash.value,
//	custom_password_hash.hash.encoding, custom_password_hash.salt.value, ...
//	app_metadata.<key>, user_metadata.<key>
//
// Firebase Auth export (firebase auth:export users.json --format=json):
//
//	localId, email, emailVerified, phoneNumber, displayName, photoUrl, disabled,
//	passwordHash, salt (both standard base64, as exported), createdAt, lastSignedInAt
//	(time.Time, from the export's milliseconds), customAttributes (the raw JSON string)
//	and customAttributes.<key> (its parsed values), providerUserInfo ([]any)
//
// The Firebase hash parameters come from source.hash_config through HashConfiger.

// HashConfiger is a source that carries the password hash parameters its hashes need
// (Firebase exports).
type HashConfiger interface {
	HashConfig(ctx context.Context) (*passwords.FirebaseConfig, error)
}

// DefaultMapping returns the mapping that suits a vendor export (auth0, firebase),
// for the wizard to suggest; other kinds get an empty mapping (see the mapping
// package's suggestions, which work from column names and values). A plan of such a
// source with no mapping: uses it (strategies.VendorMapping).
func DefaultMapping(kind string) strategies.Mapping {
	m, _ := strategies.VendorMapping(kind)
	return m
}

// auth0Fields fills password_hash from custom_password_hash, row by row: Auth0 keeps a
// user's hash in one place or the other (bcrypt users of a support export in
// password_hash, users imported into Auth0 with another algorithm in
// custom_password_hash), so the vendor mapping's one column sees both. Self-describing
// hashes (argon2, bcrypt, PHC pbkdf2, {SSHA}...) are taken as they are; an unsalted hex
// or base64 digest (md5, sha1, sha256, sha512) becomes lower-case hex, which detection
// reads as a plain digest. A salted digest is passed on with its salt in password_salt.
func auth0Fields(f map[string]any) {
	if s, _ := f["password_hash"].(string); s != "" {
		return
	}
	v, _ := f["custom_password_hash.hash.value"].(string)
	if v == "" {
		return
	}
	enc, _ := f["custom_password_hash.hash.encoding"].(string)
	switch enc {
	case "hex":
		v = strings.ToLower(v)
	case "base64":
		if b, err := base64.StdEncoding.DecodeString(v); err == nil {
			v = hex.EncodeToString(b)
		}
	}
	f["password_hash"] = v
	if salt, _ := f["custom_password_hash.salt.value"].(string); salt != "" {
		if _, ok := f["password_salt"]; !ok {
			f["password_salt"] = salt
		}
	}
}

// firebaseFields turns a Firebase record's conventions into plain values: the
// millisecond timestamps become time.Time and customAttributes (a JSON string) is
// also parsed into customAttributes.<key>.
func firebaseFields(f map[string]any) {
	for _, k := range []string{"createdAt", "lastSignedInAt", "lastRefreshAt"} {
		var ms int64
		switch v := f[k].(type) {
		case string:
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				continue
			}
			ms = n
		case int64:
			ms = v
		default:
			continue
		}
		f[k] = time.UnixMilli(ms).UTC()
	}
	if s, ok := f["customAttributes"].(string); ok && s != "" {
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if dec.Decode(&m) == nil {
			flatten(f, "customAttributes.", m)
		}
	}
}

// HashConfig implements HashConfiger for Firebase exports. The file may be JSON
// ({"algorithm": "SCRYPT", "base64_signer_key": ..., "base64_salt_separator": ...,
// "rounds": 8, "mem_cost": 14}) or the text the Firebase console shows
// (hash_config { algorithm: SCRYPT, base64_signer_key: ..., ... }).
func (s *jsonSource) HashConfig(ctx context.Context) (*passwords.FirebaseConfig, error) {
	if s.kind != strategies.SourceFirebase {
		return nil, &strategies.Error{Code: strategies.CodeSource, Field: "source.hash_config", Message: fmt.Sprintf("a %s source has no hash parameters", s.kind)}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(s.hashConfig)
	if errors.Is(err, os.ErrNotExist) {
		return nil, &strategies.Error{Code: strategies.CodeSource, File: s.hashConfig, Field: "source.hash_config",
			Message: "file not found; save the project's password hash parameters (Firebase console: Authentication > Users > Password hash parameters) to this file"}
	}
	if err != nil {
		return nil, &strategies.Error{Code: strategies.CodeSource, File: s.hashConfig, Field: "source.hash_config", Message: "cannot read the hash config", Err: err}
	}
	return ParseHashConfig(s.hashConfig, data)
}

// ParseHashConfig reads a Firebase project's hash parameters, JSON or the console's text.
func ParseHashConfig(path string, data []byte) (*passwords.FirebaseConfig, error) {
	vals := map[string]string{}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err == nil {
		if inner, ok := raw["hash_config"].(map[string]any); ok {
			raw = inner
		}
		for k, v := range raw {
			vals[strings.ToLower(k)] = strings.TrimSpace(fmt.Sprint(v))
		}
	} else {
		// The console's text: "key: value," lines, possibly inside hash_config { }.
		for _, line := range strings.Split(string(data), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok {
				continue
			}
			k = strings.ToLower(strings.TrimSpace(k))
			v = strings.Trim(strings.TrimSpace(v), `,"'`)
			vals[k] = v
		}
	}
	bad := func(key, msg string) error {
		return &strategies.Error{Code: strategies.CodeSource, File: path, Field: "source.hash_config", Message: key + ": " + msg + "; copy the values from the Firebase console (Authentication > Users > Password hash parameters)"}
	}
	if a := vals["algorithm"]; a != "" && !strings.EqualFold(a, "SCRYPT") {
		return nil, bad("algorithm", fmt.Sprintf("%q is not SCRYPT, the only algorithm Firebase exports use", a))
	}
	cfg := &passwords.FirebaseConfig{SignerKey: vals["base64_signer_key"], SaltSeparator: vals["base64_salt_separator"]}
	if cfg.SignerKey == "" {
		return nil, bad("base64_signer_key", "missing")
	}
	var err error
	if cfg.Rounds, err = strconv.Atoi(vals["rounds"]); err != nil || cfg.Rounds <= 0 {
		return nil, bad("rounds", fmt.Sprintf("%q is not a positive number", vals["rounds"]))
	}
	if cfg.MemCost, err = strconv.Atoi(vals["mem_cost"]); err != nil || cfg.MemCost <= 0 {
		return nil, bad("mem_cost", fmt.Sprintf("%q is not a positive number", vals["mem_cost"]))
	}
	return cfg, nil
}

// FirebaseConfigOf returns the Firebase project's hash parameters a plan names
// (source.hash_config of a firebase source), or nil for any other source, so a target
// that verifies imported hashes (the mock IdP) can check Firebase's too.
func FirebaseConfigOf(ctx context.Context, p *strategies.Plan) (*passwords.FirebaseConfig, error) {
	if p.Source.Kind != strategies.SourceFirebase {
		return nil, nil
	}
	src, err := Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	hc, ok := src.(HashConfiger)
	if !ok {
		return nil, nil
	}
	return hc.HashConfig(ctx)
}
