package mockidp

// Record validation for the import API. Each record is checked on its own against the
// profile's schema, so one bad record fails alone, as in Authgear.

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/mockidp/internal/jsonscan"
	"github.com/cutover/cutover/strategies/passwords"
	"golang.org/x/crypto/bcrypt"
)

// importRecord is a validated record. Absent fields are zero; opt fields keep null apart
// from absent because null removes an attribute on upsert.
type importRecord struct {
	identifier             string // the import's identifier, which must be a string
	email, phone, username opt
	disabled               *bool
	password               *importPassword
	// mfaNull lists the mfa keys sent as null ("email", "phone_number"), which Authgear
	// warns have no effect in an insert.
	mfaNull []string
	// profile holds every other attribute, raw and validated, each key once; json null
	// means remove.
	profile []jsonscan.Member
}

type opt struct {
	set, null bool
	v         string
}

type importPassword struct {
	typ, hash, salt string
	// err is the hash's fault, found as Authgear finds it: only when the password is
	// stored, so a record of an existing user is skipped or updated despite it.
	err *APIError
}

var stringAttrs = map[string]bool{
	"name": true, "given_name": true, "family_name": true, "middle_name": true, "nickname": true,
	"profile": true, "picture": true, "website": true, "gender": true, "birthdate": true,
	"zoneinfo": true, "locale": true,
}

var addressKeys = map[string]bool{
	"formatted": true, "street_address": true, "locality": true, "region": true, "postal_code": true, "country": true,
}

// recordError builds the per-record error Authgear reports for a schema violation, with
// msg as the message; the authgear profile replaces it by Authgear's "invalid value"
// (decodeImportRecord), the permissive profile keeps it as a hint.
func recordError(location, kind, msg string) *APIError {
	return recordErrorDetails(location, kind, nil, msg)
}

// recordErrorDetails is recordError with the cause's details, shaped as Authgear's
// JSON-schema validator writes them. An unknown key is reported with kind "" and no
// details, as Authgear reports it.
func recordErrorDetails(location, kind string, details map[string]any, msg string) *APIError {
	if kind == "additionalProperties" {
		kind, details = "", nil
	}
	return validationFailed(msg, cause(location, kind, details))
}

// typeError reports a value of the wrong JSON type, with Authgear's details: the
// expected and actual type names, sorted.
func typeError(location string, v []byte, msg string, expected ...string) *APIError {
	return validationFailed(msg, typeCause(location, v, expected...))
}

// decodeImportRecord validates one record against the strict schema of the profile.
// raw must be valid JSON (DecodeImportRequest checked the whole body).
func decodeImportRecord(raw json.RawMessage, identifier, profile string, ver *passwords.Verifier) (*importRecord, json.RawMessage, *APIError) {
	ms, ok := jsonscan.Object(raw, internedKeys)
	if !ok {
		// DecodeImportRequest refuses non-object records; kept for callers that skip it.
		return nil, raw, typeError("", raw, "record must be a JSON object", "object")
	}
	rec, e := validateRecord(ms, identifier, profile, ver)
	if e != nil && profile != ProfilePermissive && e.Reason == "ValidationFailed" {
		e.Message = "invalid value"
	}
	return rec, redactMembers(raw, ms, profile == ProfilePermissive), e
}

// validateRecord checks every member of a record and then that the import's identifier
// is present. Like Authgear's validator it reports every schema violation (one cause per
// member at most), sorted by location; an error of another kind (an MFA hash) wins.
func validateRecord(ms []jsonscan.Member, identifier, profile string, ver *passwords.Verifier) (*importRecord, *APIError) {
	rec := &importRecord{identifier: identifier}
	var failed *APIError
	for _, m := range ms {
		e := rec.decodeMember(m.Key, m.Val, profile, ver)
		switch {
		case e == nil:
		case e.Reason != "ValidationFailed":
			return nil, e
		case failed == nil:
			failed = e
		default:
			failed.Info["causes"] = append(failed.Info["causes"].([]map[string]any), e.Info["causes"].([]map[string]any)...)
		}
	}
	var id opt
	switch identifier {
	case IdentifierEmail:
		id = rec.email
	case IdentifierPhone:
		id = rec.phone
	default:
		id = rec.username
	}
	// Required means present: a present identifier of the wrong type is a type error.
	if !id.set && !slices.ContainsFunc(ms, func(m jsonscan.Member) bool { return m.Key == identifier }) {
		e := recordErrorDetails("", "required", requiredDetails(ms, identifier), identifier+" is required because the import's identifier is "+identifier)
		if failed == nil {
			return nil, e
		}
		failed.Info["causes"] = append(failed.Info["causes"].([]map[string]any), e.Info["causes"].([]map[string]any)...)
	}
	if failed != nil {
		return nil, validationFailed(failed.Message, failed.Info["causes"].([]map[string]any)...)
	}
	return rec, nil
}

// decodeMember validates one key of a record and keeps it in rec.
func (rec *importRecord) decodeMember(k string, v json.RawMessage, profile string, ver *passwords.Verifier) *APIError {
	isNull := string(v) == "null"
	switch {
	case k == "email" || k == "phone_number" || k == "preferred_username":
		return rec.decodeIdentifier(k, v, isNull)
	case stringAttrs[k] || k == "account_valid_from" || k == "account_valid_until":
		// Authgear's standard attributes may be null; the account validity dates may not.
		if !isNull || !stringAttrs[k] {
			if e := checkStringAttr(k, v); e != nil {
				return e
			}
		}
	case k == "email_verified" || k == "phone_number_verified" || k == "disabled":
		var b bool
		if isNull || jsonscan.Bool(v, &b) != nil {
			return typeError("/"+k, v, k+" must be true or false", "boolean")
		}
		if k == "disabled" {
			rec.disabled = &b
			return nil
		}
	case k == "address":
		if !isNull {
			if e := checkAddress(v); e != nil {
				return e
			}
		}
	case k == "custom_attributes":
		if _, ok := jsonscan.Object(v, internedKeys); !ok {
			return typeError("/custom_attributes", v, "custom_attributes must be an object", "object")
		}
	case k == "roles" || k == "groups":
		if e := checkStringList(k, v); e != nil {
			return e
		}
	case k == "password":
		p, e := decodePassword("/password", v, profile, ver)
		rec.password = p
		return e
	case k == "mfa":
		if e := checkMFA(v, profile, ver); e != nil {
			return e
		}
		ms, _ := jsonscan.Object(v, internedKeys)
		for _, m := range ms {
			if (m.Key == "email" || m.Key == "phone_number") && string(m.Val) == "null" {
				rec.mfaNull = append(rec.mfaNull, m.Key)
			}
		}
		return nil
	default:
		return recordError("/"+k, "additionalProperties",
			fmt.Sprintf("unknown key %q: Authgear's import schema does not allow it; remove it or map it to custom_attributes", k))
	}
	// Everything that reaches here is a profile attribute, stored as sent so an upsert can
	// merge it (null removes it).
	rec.setProfile(k, v)
	return nil
}

func (rec *importRecord) decodeIdentifier(k string, v json.RawMessage, isNull bool) *APIError {
	o := opt{set: true, null: isNull}
	// The import's identifier must be a string; the other identifiers may be null.
	expected := []string{"null", "string"}
	if k == rec.identifier {
		expected = []string{"string"}
	}
	// Authgear's schema lets even the import's identifier be null (the job then fails
	// whole: importRecords).
	if !isNull {
		if err := jsonscan.String(v, &o.v); err != nil {
			return typeError("/"+k, v, k+" must be a string"+map[bool]string{true: "", false: " or null"}[k == rec.identifier], expected...)
		}
		if e := checkIdentifier(k, o.v); e != nil {
			return e
		}
	}
	switch k {
	case "email":
		rec.email = o
	case "phone_number":
		rec.phone = o
	default:
		rec.username = o
	}
	return nil
}

func checkStringAttr(k string, v json.RawMessage) *APIError {
	var s string
	if err := jsonscan.String(v, &s); err != nil || string(v) == "null" {
		if !stringAttrs[k] {
			return typeError("/"+k, v, k+" must be a string", "string")
		}
		return typeError("/"+k, v, k+" must be a string or null", "null", "string")
	}
	if format, ok := attrFormats[k]; ok && !format.ok(s) {
		return recordErrorDetails("/"+k, "format", map[string]any{"format": format.name}, k+" must be "+format.hint)
	}
	return nil
}

func checkAddress(v json.RawMessage) *APIError {
	a, ok := jsonscan.Object(v, internedKeys)
	if !ok {
		return typeError("/address", v, "address must be an object or null", "null", "object")
	}
	for _, am := range a {
		ak := am.Key
		var s string
		if !addressKeys[ak] {
			// Authgear's address schema allows other keys (observed: "planet" imported).
			continue
		}
		if jsonscan.String(am.Val, &s) != nil {
			return recordError("/address/"+ak, "type", "address."+ak+" must be a string")
		}
	}
	return nil
}

func hasKey(ms []jsonscan.Member, k string) bool {
	return slices.ContainsFunc(ms, func(m jsonscan.Member) bool { return m.Key == k })
}

// requiredDetails are the details of Authgear's "required" cause for the object ms.
func requiredDetails(ms []jsonscan.Member, required ...string) map[string]any {
	keys := make([]string, len(ms))
	for i, m := range ms {
		keys[i] = m.Key
	}
	slices.Sort(keys)
	var missing []string
	for _, r := range required {
		if !slices.Contains(keys, r) {
			missing = append(missing, r)
		}
	}
	return map[string]any{"expected": required, "actual": keys, "missing": missing}
}

// checkStringList checks roles or groups: an array of non-empty strings, each entry's
// fault reported at the entry as Authgear's validator does.
func checkStringList(k string, v json.RawMessage) *APIError {
	if len(v) == 0 || v[0] != '[' {
		return typeError("/"+k, v, k+" must be an array of strings", "array")
	}
	for i, item := range jsonscan.Array(v) {
		loc := fmt.Sprintf("/%s/%d", k, i)
		var s string
		if jsonscan.String(item, &s) != nil || string(item) == "null" {
			return typeError(loc, item, k+" entries must be strings", "string")
		}
		if s == "" {
			return recordErrorDetails(loc, "minLength", map[string]any{"expected": 1, "actual": 0}, k+" entries must not be empty")
		}
	}
	return nil
}

func (r *importRecord) setProfile(k string, v json.RawMessage) {
	r.profile = append(r.profile, jsonscan.Member{Key: k, Val: v})
}

func decodePassword(loc string, v json.RawMessage, profile string, ver *passwords.Verifier) (*importPassword, *APIError) {
	ms, ok := jsonscan.Object(v, internedKeys)
	if !ok {
		return nil, typeError(loc, v, "password must be an object with type and password_hash", "object")
	}
	p := &importPassword{}
	for _, m := range ms {
		k, fv := m.Key, m.Val
		var s string
		switch k {
		case "type", "password_hash", "expire_after", "salt":
			if k == "salt" && profile != ProfilePermissive {
				return nil, recordError(loc+"/salt", "additionalProperties", `password has unknown key "salt" (only the permissive profile accepts a separate salt)`)
			}
			if jsonscan.String(fv, &s) != nil {
				return nil, recordError(loc+"/"+k, "type", "password."+k+" must be a string")
			}
		default:
			return nil, recordError(loc+"/"+k, "additionalProperties", fmt.Sprintf("password has unknown key %q; allowed: type, password_hash, expire_after", k))
		}
		switch k {
		case "type":
			p.typ = s
		case "password_hash":
			p.hash = s
		case "salt":
			p.salt = s
		case "expire_after":
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return nil, recordError(loc+"/expire_after", "format", "password.expire_after must be an RFC 3339 date-time")
			}
		}
	}
	// The details are built only for a record that needs them: this runs for every record.
	if !hasKey(ms, "type") || !hasKey(ms, "password_hash") {
		d := requiredDetails(ms, "type", "password_hash")
		return nil, recordErrorDetails(loc, "required", d, "password.type and password.password_hash are required")
	}
	if p.hash == "" {
		return nil, recordErrorDetails(loc+"/password_hash", "minLength", map[string]any{"expected": 1, "actual": 0}, "password.password_hash must not be empty")
	}
	if profile != ProfilePermissive {
		if p.typ != "bcrypt" {
			return nil, recordErrorDetails(loc+"/type", "enum", map[string]any{"expected": []string{"bcrypt"}, "actual": p.typ}, fmt.Sprintf(`password.type %q is not supported: this IdP (profile authgear) imports bcrypt hashes only; migrate other formats lazily, or rehearse with --profile permissive`, p.typ))
		}
		p.err = checkBcryptHash(p.hash)
		return p, nil
	}
	d, err := ver.Detect(passwords.Stored{Hash: p.hash, Salt: p.salt, Format: p.typ})
	if err != nil {
		return nil, recordError(loc+"/password_hash", "format", fmt.Sprintf("password.password_hash is not a recognised %s hash: %v", p.typ, err))
	}
	if d.Format != p.typ && !strings.HasPrefix(p.typ, "recipe:") {
		return nil, recordError(loc+"/type", "enum", fmt.Sprintf("password.type is %q but the hash looks like %q; fix the type", p.typ, d.Format))
	}
	if !passwords.Importable(d.Format, ProfilePermissive) {
		return nil, recordError(loc+"/type", "enum", fmt.Sprintf("password.type %q cannot be verified", p.typ))
	}
	return p, nil
}

// checkBcryptHash checks a hash as Authgear does when it stores one: a hash that does not
// start with "$" is an unexpected error (a 500 for the record), Authgear's own
// $bcrypt-sha512$ wrapping is taken as is, and otherwise crypto/bcrypt's reading of the
// version and cost decides, with its own message. No length is required.
func checkBcryptHash(h string) *APIError {
	switch {
	case !strings.HasPrefix(h, "$"):
		return unexpectedError()
	case strings.HasPrefix(h, "$bcrypt-sha512$"):
		return nil
	}
	// bcrypt.Cost parses the version and cost without hashing anything.
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		return &APIError{Name: "Invalid", Reason: "InvalidBcryptHash", Message: err.Error(), Code: http.StatusBadRequest}
	}
	return nil
}

// checkMFA validates the mfa object. Like Authgear's validator it reports every schema
// violation inside it (one per key); a bad MFA password hash, which Authgear finds only
// when it stores the authenticator, is reported only when the schema holds.
func checkMFA(v json.RawMessage, profile string, ver *passwords.Verifier) *APIError {
	ms, ok := jsonscan.Object(v, internedKeys)
	if !ok {
		return typeError("/mfa", v, "mfa must be an object", "object")
	}
	var failed, hashErr *APIError
	for _, m := range ms {
		e, he := checkMFAMember(m.Key, m.Val, profile, ver)
		switch {
		case e == nil:
			hashErr = cmp.Or(hashErr, he)
		case e.Reason != "ValidationFailed":
			return e
		case failed == nil:
			failed = e
		default:
			failed.Info["causes"] = append(failed.Info["causes"].([]map[string]any), e.Info["causes"].([]map[string]any)...)
		}
	}
	if failed != nil {
		return validationFailed(failed.Message, failed.Info["causes"].([]map[string]any)...)
	}
	return hashErr
}

// checkMFAMember validates one key of the mfa object: e is its schema violation, hashErr
// the fault of a well-formed MFA password's hash.
func checkMFAMember(k string, fv json.RawMessage, profile string, ver *passwords.Verifier) (e, hashErr *APIError) {
	loc := "/mfa/" + k
	isNull := string(fv) == "null"
	switch k {
	case "email", "phone_number":
		if isNull {
			return nil, nil
		}
		var s string
		if jsonscan.String(fv, &s) != nil {
			return recordError(loc, "type", "mfa."+k+" must be a string or null"), nil
		}
		if e := checkIdentifier(k, s); e != nil {
			e.Message = "mfa." + e.Message
			for _, c := range e.Info["causes"].([]map[string]any) {
				c["location"] = "/mfa" + c["location"].(string)
			}
			return e, nil
		}
	case "password":
		p, e := decodePassword(loc, fv, profile, ver)
		if e != nil {
			return e, nil
		}
		return nil, p.err
	case "totp":
		t, ok := jsonscan.Object(fv, internedKeys)
		if !ok {
			return typeError(loc, fv, "mfa.totp must be an object with secret", "object"), nil
		}
		for _, tm := range t {
			var s string
			if tm.Key != "secret" {
				return recordError(loc+"/"+tm.Key, "additionalProperties", fmt.Sprintf("mfa.totp has unknown key %q; allowed: secret", tm.Key)), nil
			}
			if jsonscan.String(tm.Val, &s) != nil || s == "" {
				return recordErrorDetails(loc+"/secret", "minLength", map[string]any{"expected": 1, "actual": 0}, "mfa.totp.secret must be a non-empty string"), nil
			}
		}
		if len(t) == 0 {
			return recordErrorDetails(loc, "required", requiredDetails(t, "secret"), "mfa.totp.secret is required"), nil
		}
	default:
		return recordError(loc, "additionalProperties", fmt.Sprintf("mfa has unknown key %q; allowed: email, phone_number, password, totp", k)), nil
	}
	return nil, nil
}

// prepared is a record after validation, ready for the database.
type prepared struct {
	rec  *importRecord
	echo json.RawMessage
	err  *APIError
}

// internedKeys maps every key of the record schema to itself, so scanning a record
// allocates no key strings.
var internedKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"email", "phone_number", "preferred_username", "email_verified", "phone_number_verified",
		"disabled", "address", "custom_attributes", "roles", "groups", "password", "mfa", "account_valid_from",
		"account_valid_until", "type", "password_hash", "expire_after", "salt", "totp", "secret"} {
		m[k] = k
	}
	for k := range stringAttrs {
		m[k] = k
	}
	for k := range addressKeys {
		m[k] = k
	}
	return m
}()
