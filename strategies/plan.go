package strategies

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// PlanVersion is the only plan format version this build reads and writes.
const PlanVersion = 1

// Strategy names.
const (
	StrategyBulk     = "bulk"
	StrategyLazy     = "lazy"
	StrategyAuthOnly = "authonly"
)

// Source kinds.
const (
	SourcePostgres = "postgres"
	SourceMySQL    = "mysql"
	SourceSQLite   = "sqlite"
	SourceCSV      = "csv"
	SourceJSON     = "json"
	SourceNDJSON   = "ndjson"
	SourceAuth0    = "auth0"
	SourceFirebase = "firebase"
)

// Target kinds and mock IdP profiles.
const (
	TargetMockIDP  = "mockidp"
	TargetAuthgear = "authgear"
	TargetKratos   = "kratos"

	ProfileAuthgear   = "authgear"
	ProfilePermissive = "permissive"
)

// Plan is a whole cutover: what the wizard saves and `cutover run --plan` replays.
// Strings may hold ${VAR} references; they are kept as written (so a saved plan never
// holds the secret) and expanded with Expand where they are used.
type Plan struct {
	Version  int             `yaml:"version"`
	Strategy string          `yaml:"strategy"`
	Source   SourceSpec      `yaml:"source"`
	Mapping  Mapping         `yaml:"mapping"`
	Target   Target          `yaml:"target"`
	Bulk     BulkOptions     `yaml:"bulk"`
	Lazy     LazyOptions     `yaml:"lazy"`
	AuthOnly AuthOnlyOptions `yaml:"authonly"`

	// File is the path the plan was loaded from; relative paths in the plan are resolved
	// against its directory. Empty for a plan built in memory.
	File string `yaml:"-"`

	// lines maps dotted plan keys to the line they are on in File, so that checks made
	// long after parsing (preflight: "mapping.name names a column the source lacks") can
	// point at the line to fix. Nil for a plan built in memory.
	lines map[string]int
}

// Line returns the line of a dotted plan key ("mapping.email") in the plan file, or 0
// when the plan was built in memory or does not spell the key.
func (p *Plan) Line(key string) int { return p.lines[key] }

// PlanError builds the CodePlan error about one plan key, with the plan file and the
// key's line, so that every check that blames the plan points at the same place.
func (p *Plan) PlanError(key, format string, args ...any) *Error {
	return &Error{Code: CodePlan, File: p.File, Line: p.Line(key), Field: key, Message: fmt.Sprintf(format, args...)}
}

// SourceSpec says where the legacy users are.
type SourceSpec struct {
	Kind       string `yaml:"kind"`
	DSN        string `yaml:"dsn,omitempty"`
	Path       string `yaml:"path,omitempty"`
	Table      string `yaml:"table,omitempty"`
	Query      string `yaml:"query,omitempty"`
	Key        string `yaml:"key,omitempty"`
	HashConfig string `yaml:"hash_config,omitempty"`
	Delimiter  string `yaml:"delimiter,omitempty"` // csv: "," ";" or "\t"; detected when empty

	// LDAP is the directory an ldap source reads (options_ldap.go).
	LDAP *LDAPSource `yaml:"ldap,omitempty"`
}

// Target is the identity provider users move to.
type Target struct {
	Kind    string `yaml:"kind"`
	Profile string `yaml:"profile,omitempty"`
	URL     string `yaml:"url,omitempty"`
	Project string `yaml:"project,omitempty"`
	KeyFile string `yaml:"key_file,omitempty"`
	KeyID   string `yaml:"key_id,omitempty"`
	// SignInURL is the origin of an Authgear project's Authentication Flow API, where
	// rehearsals and `cutover login` sign users in; "" means URL, as on Authgear cloud
	// (a self-hosted Authgear serves its Admin API on another port).
	SignInURL string `yaml:"signin_url,omitempty"`
	// PublicURL is Ory Kratos's public API (self-hosted: port 4433), where users sign in
	// and sessions are checked; URL is then its admin API (port 4434).
	PublicURL string `yaml:"public_url,omitempty"`
	// APIKey is an Ory Network project API key, always a ${VAR} reference; empty for a
	// self-hosted Kratos, whose admin port is private.
	APIKey string `yaml:"api_key,omitempty"`
	// SchemaID is the Kratos identity schema imported identities use; "" means Kratos's
	// default (see `cutover kratos-schema`).
	SchemaID string `yaml:"schema_id,omitempty"`
}

// SignInOrigin is where users of the target sign in: SignInURL, or URL without one.
func (t *Target) SignInOrigin() string {
	if t.SignInURL != "" {
		return t.SignInURL
	}
	return t.URL
}

// FieldRef names the source column a canonical field comes from, with an optional
// transform. In YAML it is either a scalar ("email") or {column: c, transform: t}.
// Columns of nested JSON records are dotted paths ("password.password_hash").
type FieldRef struct {
	Column    string `yaml:"column"`
	Transform string `yaml:"transform,omitempty"`
}

// Transforms a FieldRef may name.
var Transforms = []string{
	"not",         // invert a boolean (is_active -> disabled)
	"bool",        // t/f, 1/0, yes/no, true/false -> boolean
	"verified_at", // a non-empty timestamp means verified
	"lower",       // lower-case a string
	"upper",       // upper-case a string
	"trim",        // trim spaces
	"split",       // comma-separated string -> list
	"e164",        // phone number -> E.164
	"string",      // any value -> its text
	"rdn",         // a DN -> its first RDN's value (memberOf cn=staff,ou=groups,... -> staff)
	"ad_disabled", // Active Directory userAccountControl -> disabled when bit 0x2 is set
}

// IsZero reports whether the field is not mapped.
func (f FieldRef) IsZero() bool { return f.Column == "" }

// UnmarshalYAML accepts a scalar column name or a {column, transform} mapping.
func (f *FieldRef) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*f = FieldRef{Column: n.Value}
		return nil
	}
	type plain FieldRef
	var p plain
	if err := n.Decode(&p); err != nil {
		return err
	}
	*f = FieldRef(p)
	return nil
}

// MarshalYAML writes a FieldRef without a transform as a plain column name.
func (f FieldRef) MarshalYAML() (any, error) {
	if f.Transform == "" {
		return f.Column, nil
	}
	type plain FieldRef
	return plain(f), nil
}

// Mapping maps canonical user fields to source columns.
type Mapping struct {
	LegacyID            FieldRef        `yaml:"legacy_id,omitempty"`
	Email               FieldRef        `yaml:"email,omitempty"`
	EmailVerified       FieldRef        `yaml:"email_verified,omitempty"`
	PhoneNumber         FieldRef        `yaml:"phone_number,omitempty"`
	PhoneNumberVerified FieldRef        `yaml:"phone_number_verified,omitempty"`
	PreferredUsername   FieldRef        `yaml:"preferred_username,omitempty"`
	Name                FieldRef        `yaml:"name,omitempty"`
	GivenName           FieldRef        `yaml:"given_name,omitempty"`
	FamilyName          FieldRef        `yaml:"family_name,omitempty"`
	MiddleName          FieldRef        `yaml:"middle_name,omitempty"`
	Nickname            FieldRef        `yaml:"nickname,omitempty"`
	Profile             FieldRef        `yaml:"profile,omitempty"`
	Picture             FieldRef        `yaml:"picture,omitempty"`
	Website             FieldRef        `yaml:"website,omitempty"`
	Gender              FieldRef        `yaml:"gender,omitempty"`
	Birthdate           FieldRef        `yaml:"birthdate,omitempty"`
	Zoneinfo            FieldRef        `yaml:"zoneinfo,omitempty"`
	Locale              FieldRef        `yaml:"locale,omitempty"`
	Address             *AddressMapping `yaml:"address,omitempty"`
	Roles               FieldRef        `yaml:"roles,omitempty"`
	Groups              FieldRef        `yaml:"groups,omitempty"`
	Disabled            FieldRef        `yaml:"disabled,omitempty"`
	PasswordHash        FieldRef        `yaml:"password_hash,omitempty"`
	PasswordSalt        FieldRef        `yaml:"password_salt,omitempty"`
	// PasswordFormat is "auto" (detect per row, the default), a format name,
	// "recipe:<expression>" for home-grown schemes, or "none": users move without
	// passwords on purpose (they sign in with a one-time code or reset), and
	// password_hash, if mapped, is ignored. Without "none", a mapped password_hash
	// column that holds no hash in the rows preflight samples stops the run: it is far
	// more often a misspelt column than a decision.
	PasswordFormat string `yaml:"password_format,omitempty"`
	// PasswordKey is the secret key (pepper) a recipe or HMAC format uses, as a ${VAR} reference.
	PasswordKey string `yaml:"password_key,omitempty"`
	// PhoneRegion is the ISO 3166 region (e.g. "GB") of phone numbers written without a
	// +country code; when empty, such numbers are invalid rows.
	PhoneRegion      string              `yaml:"phone_region,omitempty"`
	CustomAttributes map[string]FieldRef `yaml:"custom_attributes,omitempty"`
	// StrictProfile rejects a row whose optional profile field (anything but the
	// identifier: phone, birthdate, website, locale, an address part...) is invalid.
	// By default the user moves without that field and the row carries a warning, so a
	// bad optional value never locks anyone out. (The json tag keeps run fingerprints of
	// plans without it unchanged.)
	StrictProfile bool `yaml:"strict_profile,omitempty" json:"strict_profile,omitempty"`
}

// PasswordFormatNone is mapping.password_format's value for "users move without
// passwords on purpose".
const PasswordFormatNone = "none"

// AddressMapping maps the parts of the OIDC address claim.
type AddressMapping struct {
	Formatted     FieldRef `yaml:"formatted,omitempty"`
	StreetAddress FieldRef `yaml:"street_address,omitempty"`
	Locality      FieldRef `yaml:"locality,omitempty"`
	Region        FieldRef `yaml:"region,omitempty"`
	PostalCode    FieldRef `yaml:"postal_code,omitempty"`
	Country       FieldRef `yaml:"country,omitempty"`
}

// Fields lists the mapped canonical fields (plan key -> reference) in plan order,
// custom attributes as "custom_attributes.<name>" and address parts as "address.<part>".
func (m *Mapping) Fields() []NamedField {
	var out []NamedField
	v := reflect.ValueOf(m).Elem()
	t := v.Type()
	for i := range t.NumField() {
		key := yamlKey(t.Field(i))
		switch f := v.Field(i).Interface().(type) {
		case FieldRef:
			if !f.IsZero() {
				out = append(out, NamedField{key, f})
			}
		case *AddressMapping:
			if f == nil {
				continue
			}
			av := reflect.ValueOf(f).Elem()
			for j := range av.NumField() {
				if r := av.Field(j).Interface().(FieldRef); !r.IsZero() {
					out = append(out, NamedField{"address." + yamlKey(av.Type().Field(j)), r})
				}
			}
		}
	}
	names := make([]string, 0, len(m.CustomAttributes))
	for k := range m.CustomAttributes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		out = append(out, NamedField{"custom_attributes." + k, m.CustomAttributes[k]})
	}
	return out
}

// NamedField is one mapped field: its plan key and its source reference.
type NamedField struct {
	Key string
	Ref FieldRef
}

// Identifier returns the canonical field used to identify users at the target:
// the bulk option when set, else email when mapped, else phone_number, else preferred_username.
func (p *Plan) Identifier() string {
	if p.Bulk.Identifier != "" {
		return p.Bulk.Identifier
	}
	switch {
	case !p.Mapping.Email.IsZero():
		return "email"
	case !p.Mapping.PhoneNumber.IsZero():
		return "phone_number"
	case !p.Mapping.PreferredUsername.IsZero():
		return "preferred_username"
	}
	return "email"
}

// LoadPlan reads, parses and validates a plan file.
func LoadPlan(path string) (*Plan, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{Code: CodePlan, File: path, Message: "cannot read the plan file", Err: err}
	}
	p, err := ParsePlan(path, data)
	if err != nil {
		return nil, err
	}
	p.File = path
	return p, nil
}

// ParsePlan parses and validates plan YAML; name is used in error messages.
// Unknown keys, wrong types and missing required keys are errors giving file, line and key.
func ParsePlan(name string, data []byte) (*Plan, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{Code: CodePlan, File: name, Line: yamlErrLine(err), Message: "not valid YAML", Err: errors.New(cleanYAMLErr(err))}
	}
	if len(root.Content) == 0 {
		return nil, &Error{Code: CodePlan, File: name, Message: "the plan is empty; start from `cutover wizard` or the example in README.md"}
	}
	doc := root.Content[0]
	if err := checkKeys(name, doc, reflect.TypeOf(Plan{}), ""); err != nil {
		return nil, err
	}
	var p Plan
	if err := doc.Decode(&p); err != nil {
		line := yamlErrLine(err)
		return nil, &Error{Code: CodePlan, File: name, Line: line, Field: keyAtLine(doc, line, ""), Message: "wrong type", Err: errors.New(cleanYAMLErr(err))}
	}
	p.lines = map[string]int{}
	keyLines(doc, "", p.lines)
	p.applyVendorMapping()
	if err := p.validate(name, doc); err != nil {
		return nil, err
	}
	if err := p.checkReferences(name); err != nil {
		return nil, err
	}
	// A plan on disk is exactly where a secret must not be: refuse it on load, not only
	// when the wizard saves (a hand-written plan never goes through the wizard).
	if err := p.CheckNoSecrets(); err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.File, e.Line = name, p.Line(e.Field)
		}
		return nil, err
	}
	return &p, nil
}

// keyLines records the line of every dotted key under n.
func keyLines(n *yaml.Node, prefix string, out map[string]int) {
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := prefix + n.Content[i].Value
		out[k] = n.Content[i].Line
		keyLines(n.Content[i+1], k+".", out)
	}
}

// Validate checks a plan built in memory (the wizard's) with the same rules as a loaded one.
func (p *Plan) Validate() error {
	return p.validate(p.File, nil)
}

func (p *Plan) validate(name string, doc *yaml.Node) error {
	bad := func(key, format string, args ...any) error {
		return &Error{Code: CodePlan, File: name, Line: lineOf(doc, key), Field: key, Message: fmt.Sprintf(format, args...)}
	}
	if p.Version != PlanVersion {
		if p.Version == 0 {
			return bad("version", "missing; add `version: %d` at the top of the plan", PlanVersion)
		}
		return bad("version", "this cutover reads version %d plans, not %d", PlanVersion, p.Version)
	}
	if err := oneOf(bad, "strategy", p.Strategy, strategyKindNames()...); err != nil {
		return err
	}
	if err := p.Source.validate(bad); err != nil {
		return err
	}
	if err := p.Mapping.validate(bad); err != nil {
		return err
	}
	if err := p.Target.validate(bad); err != nil {
		return err
	}
	if err := p.Bulk.validate(bad); err != nil {
		return err
	}
	if err := p.Lazy.validate(bad); err != nil {
		return err
	}
	if err := p.Lazy.Bind.validate(bad, p.Source, p.Lazy.Delegate != nil); err != nil {
		return err
	}
	return p.AuthOnly.validate(bad)
}

type badFunc func(key, format string, args ...any) error

func oneOf(bad badFunc, key, v string, allowed ...string) error {
	if v == "" {
		return bad(key, "missing; use one of %s", strings.Join(allowed, ", "))
	}
	if !slices.Contains(allowed, v) {
		return bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
	}
	return nil
}

// SavePlan validates p and writes it as YAML to path (0600). It refuses to write a
// secret: a DSN with a literal password must be given as a ${VAR} reference.
func SavePlan(path string, p *Plan) error {
	if err := p.Validate(); err != nil {
		return err
	}
	if err := p.CheckNoSecrets(); err != nil {
		return err
	}
	data, err := p.Marshal()
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return &Error{Code: CodePlan, File: path, Message: "cannot write the plan", Err: err}
	}
	return nil
}

// Marshal renders the plan as YAML, as SavePlan writes it.
func (p *Plan) Marshal() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode plan: %w", err)
	}
	return buf.Bytes(), nil
}

// CheckNoSecrets reports a literal secret in the plan: a DSN password or a lazy secret
// that is not a ${VAR} reference.
func (p *Plan) CheckNoSecrets() error {
	if dsnHasLiteralPassword(p.Source.DSN) {
		return &Error{Code: CodePlan, Field: "source.dsn", Message: "holds a literal password; write dsn: ${LEGACY_DSN} in the plan and export LEGACY_DSN"}
	}
	if s := p.Mapping.PasswordKey; s != "" && !IsEnvRef(s) {
		return &Error{Code: CodePlan, Field: "mapping.password_key", Message: "holds a literal key; write password_key: ${LEGACY_PEPPER} and export LEGACY_PEPPER"}
	}
	if s := p.Target.APIKey; s != "" && !IsEnvRef(s) {
		return &Error{Code: CodePlan, Field: "target.api_key", Message: "holds a literal key; write api_key: ${ORY_API_KEY} and export ORY_API_KEY"}
	}
	if s := p.Lazy.Secret; s != "" && !IsEnvRef(s) {
		return &Error{Code: CodePlan, Field: "lazy.secret", Message: "holds a literal secret; write secret: ${BRIDGE_SECRET} and export BRIDGE_SECRET"}
	}
	return nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// IsEnvRef reports whether s is made of ${VAR} references only ("${A}" or "${A}${B}"):
// a value that holds no literal secret.
func IsEnvRef(s string) bool {
	return envRef.ReplaceAllString(s, "") == "" && s != ""
}

func dsnHasLiteralPassword(dsn string) bool {
	if dsn == "" {
		return false
	}
	d := envRef.ReplaceAllString(dsn, "")
	if u, err := url.Parse(d); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			return true
		}
	}
	// key=value DSNs (postgres) and user:pass@tcp(...) (mysql).
	if regexp.MustCompile(`(?i)(^|\s)password\s*=\s*\S`).MatchString(d) {
		return true
	}
	if i := strings.Index(d, "@"); i > 0 && !strings.Contains(d, "://") {
		if j := strings.Index(d[:i], ":"); j >= 0 && j < i-1 {
			return true
		}
	}
	return false
}

// ReferenceFields are the plan keys whose values may hold ${VAR} references: secrets
// (which must), and the DSN, URL and paths that differ between machines. Any other
// field is taken as written: a reference in, say, lazy.delegate.url would send an
// environment variable (a cloud key...) to whatever host the plan names.
var ReferenceFields = []string{
	"source.dsn", "source.path", "source.hash_config",
	"source.ldap.url", "source.ldap.bind_dn", "source.ldap.bind_password", "source.ldap.ca_file",
	"lazy.bind.url", "lazy.bind.ca_file",
	"mapping.password_key",
	"target.url", "target.key_file", "target.public_url", "target.api_key",
	"bulk.run_dir",
	"lazy.secret", "lazy.store", "lazy.tls_cert", "lazy.tls_key",
	"authonly.mapping_file",
}

// checkReferences refuses a ${VAR} reference in a field not meant to take one.
func (p *Plan) checkReferences(name string) error {
	var err error
	walkStrings(reflect.ValueOf(p).Elem(), "", func(key, v string) {
		if err == nil && envRef.MatchString(v) && !slices.Contains(ReferenceFields, key) {
			err = &Error{Code: CodePlan, File: name, Line: p.Line(key), Field: key, Message: fmt.Sprintf(
				"holds a ${VAR} reference, but only %s take references; write the value itself", strings.Join(ReferenceFields, ", "))}
		}
	})
	return err
}

// walkStrings calls fn with the dotted key and value of every string in v.
func walkStrings(v reflect.Value, prefix string, fn func(key, v string)) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkStrings(v.Elem(), prefix, fn)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeOf(FieldRef{}) {
			fn(strings.TrimSuffix(prefix, "."), v.Field(0).String())
			return
		}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if k := yamlKey(f); f.IsExported() && k != "-" {
				walkStrings(v.Field(i), prefix+k+".", fn)
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			walkStrings(v.MapIndex(k), prefix+k.String()+".", fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkStrings(v.Index(i), prefix, fn)
		}
	case reflect.String:
		fn(strings.TrimSuffix(prefix, "."), v.String())
	}
}

// Expand replaces ${VAR} references in s with environment values. A reference to an
// unset variable is an error naming the variable and the plan key; so is a reference
// in a key that is not one of ReferenceFields.
func Expand(key, s string) (string, error) {
	if !slices.Contains(ReferenceFields, key) && envRef.MatchString(s) {
		return "", &Error{Code: CodePlan, Field: key, Message: "does not take ${VAR} references; write the value itself"}
	}
	var missing string
	out := envRef.ReplaceAllStringFunc(s, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := os.LookupEnv(name)
		if !ok && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", &Error{Code: CodePlan, Field: key, Message: fmt.Sprintf("refers to ${%s}, which is not set; export %s before running", missing, missing)}
	}
	return out, nil
}

// Resolve returns path relative to the plan file's directory (unless it is absolute),
// after expanding ${VAR} references.
func (p *Plan) Resolve(key, path string) (string, error) {
	path, err := Expand(key, path)
	if err != nil || path == "" || filepath.IsAbs(path) || p.File == "" {
		return path, err
	}
	return filepath.Join(filepath.Dir(p.File), path), nil
}

// checkKeys walks the YAML tree beside the Go type and reports the first unknown key
// with its line, and the keys that are allowed there.
func checkKeys(file string, n *yaml.Node, t reflect.Type, prefix string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if t == reflect.TypeOf(FieldRef{}) {
		if n.Kind == yaml.MappingNode {
			return checkStruct(file, n, t, prefix)
		}
		if n.Kind == yaml.SequenceNode {
			return typeErr(file, n, prefix, "a column name or {column: c, transform: t}", "column")
		}
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return typeErr(file, n, prefix, "a mapping of keys", "{key: value}")
		}
		return checkStruct(file, n, t, prefix)
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return typeErr(file, n, prefix, "a mapping of keys", "{name: value}")
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if err := checkKeys(file, n.Content[i+1], t.Elem(), prefix+n.Content[i].Value+"."); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return typeErr(file, n, prefix, "a list", "[a, b]")
		}
		for _, c := range n.Content {
			if err := checkKeys(file, c, t.Elem(), prefix); err != nil {
				return err
			}
		}
	default:
		return checkScalar(file, n, t, prefix)
	}
	return nil
}

// checkScalar checks that a plain value fits its Go type before decoding does: the
// YAML library's "cannot unmarshal !!str into int" says neither which key nor what to write.
func checkScalar(file string, n *yaml.Node, t reflect.Type, prefix string) error {
	want, example, tags := "text", "value", []string{"!!str", "!!int", "!!float", "!!bool", "!!timestamp", "!!binary"}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		want, example, tags = "a whole number", "4", []string{"!!int"}
		if prefix == "version." {
			example = strconv.Itoa(PlanVersion)
		}
	case reflect.Float32, reflect.Float64:
		want, example, tags = "a number", "0.5", []string{"!!int", "!!float"}
	case reflect.Bool:
		want, example, tags = "true or false", "true", []string{"!!bool"}
	case reflect.String:
	default:
		return nil // decoding says what is wrong
	}
	if n.Kind == yaml.ScalarNode && slices.Contains(tags, n.ShortTag()) {
		return nil
	}
	return typeErr(file, n, prefix, want, example)
}

// typeErr says that the value of the key prefix names (at n) is not what belongs there,
// what it is instead, and how to write it.
func typeErr(file string, n *yaml.Node, prefix, want, example string) error {
	key := strings.TrimSuffix(prefix, ".")
	got := "a list"
	switch {
	case n.Kind == yaml.MappingNode:
		got = "a mapping of keys"
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str":
		got = fmt.Sprintf("the text %q", n.Value)
	case n.Kind == yaml.ScalarNode:
		got = "the value " + n.Value
	}
	return &Error{Code: CodePlan, File: file, Line: n.Line, Field: key,
		Message: fmt.Sprintf("expected %s, got %s; write it as `%s: %s`", want, got, key[strings.LastIndex(key, ".")+1:], example)}
}

func checkStruct(file string, n *yaml.Node, t reflect.Type, prefix string) error {
	fields := map[string]reflect.StructField{}
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		k := yamlKey(f)
		if k == "-" || !f.IsExported() {
			continue
		}
		fields[k] = f
		names = append(names, k)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		kn := n.Content[i]
		f, ok := fields[kn.Value]
		if !ok {
			return &Error{Code: CodePlan, File: file, Line: kn.Line, Field: prefix + kn.Value,
				Message: fmt.Sprintf("unknown key; allowed here: %s", strings.Join(names, ", "))}
		}
		if seen[kn.Value] {
			return &Error{Code: CodePlan, File: file, Line: kn.Line, Field: prefix + kn.Value, Message: "key given twice"}
		}
		seen[kn.Value] = true
		if err := checkKeys(file, n.Content[i+1], f.Type, prefix+kn.Value+"."); err != nil {
			return err
		}
	}
	return nil
}

func yamlKey(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	if tag == "" {
		return strings.ToLower(f.Name)
	}
	return strings.Split(tag, ",")[0]
}

// lineOf finds the line of a dotted key in the document, or 0.
func lineOf(doc *yaml.Node, key string) int {
	if doc == nil {
		return 0
	}
	n := doc
	line := 0
	for _, part := range strings.Split(key, ".") {
		if n.Kind != yaml.MappingNode {
			return line
		}
		found := false
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == part {
				line = n.Content[i].Line
				n = n.Content[i+1]
				found = true
				break
			}
		}
		if !found {
			return line
		}
	}
	return line
}

// keyAtLine returns the dotted key whose value starts on line, or "".
func keyAtLine(n *yaml.Node, line int, prefix string) string {
	if n == nil || line == 0 || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind == yaml.ScalarNode && v.Line == line {
			return prefix + k.Value
		}
		if found := keyAtLine(v, line, prefix+k.Value+"."); found != "" {
			return found
		}
	}
	return ""
}

var yamlLineRe = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	m := yamlLineRe.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}

// unmarshalRe is the YAML library's type error, which checkScalar mostly forestalls.
var unmarshalRe = regexp.MustCompile("cannot unmarshal !!(\\w+) (?:`([^`]*)` )?into (\\S+)")

func cleanYAMLErr(err error) string {
	s := strings.TrimPrefix(err.Error(), "yaml: ")
	s = strings.TrimPrefix(s, "unmarshal errors:\n")
	s = strings.Join(strings.Fields(s), " ")
	s = unmarshalRe.ReplaceAllString(s, "expected a value of type $3, got the YAML $1 $2")
	return strings.ReplaceAll(s, "strategies.", "")
}

// validate checks the source: a kind, and the DSN or path and table it needs.
func (s *SourceSpec) validate(bad badFunc) error {
	if err := oneOf(bad, "source.kind", s.Kind, sourceKindNames()...); err != nil {
		return err
	}
	kind, _ := SourceKindOf(s.Kind)
	switch {
	case kind.Directory:
		if err := s.LDAP.validate(bad); err != nil {
			return err
		}
	case kind.DSN && s.DSN == "":
		return bad("source.dsn", "missing; a %s source needs a DSN, e.g. dsn: ${LEGACY_DSN}", s.Kind)
	case !kind.DSN && s.Path == "":
		return bad("source.path", "missing; a %s source needs the file's path", s.Kind)
	}
	if kind.Database {
		if s.Table == "" && s.Query == "" {
			return bad("source.table", "missing; name the users table (or give source.query)")
		}
		if s.Table != "" && s.Query != "" {
			return bad("source.query", "give source.table or source.query, not both")
		}
	}
	if s.Kind == SourceFirebase && s.HashConfig == "" {
		return bad("source.hash_config", "missing; a Firebase export needs the project's password hash parameters (Authentication > Users > Password hash parameters, saved as JSON)")
	}
	if s.Delimiter != "" && s.Delimiter != "," && s.Delimiter != ";" && s.Delimiter != "\t" && s.Delimiter != "|" {
		return bad("source.delimiter", "%q is not supported; use \",\", \";\", \"|\" or a tab", s.Delimiter)
	}
	return nil
}

// validate checks the mapping: an identifier, known transforms, a non-empty recipe.
func (m *Mapping) validate(bad badFunc) error {
	if m.Email.IsZero() && m.PhoneNumber.IsZero() && m.PreferredUsername.IsZero() {
		return bad("mapping", "no identifier is mapped; map at least one of email, phone_number or preferred_username")
	}
	for _, f := range m.Fields() {
		if f.Ref.Transform != "" && !slices.Contains(Transforms, f.Ref.Transform) {
			return bad("mapping."+f.Key, "unknown transform %q; use one of %s", f.Ref.Transform, strings.Join(Transforms, ", "))
		}
	}
	if pf := m.PasswordFormat; strings.HasPrefix(pf, "recipe:") && strings.TrimSpace(strings.TrimPrefix(pf, "recipe:")) == "" {
		return bad("mapping.password_format", "the recipe is empty; write e.g. recipe:sha256(salt + password)")
	}
	return nil
}
