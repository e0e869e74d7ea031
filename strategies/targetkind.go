package strategies

import (
	"net/url"
	"slices"
	"strings"
)

// TargetKind is an identity provider the plan can name (target.kind) and what a plan
// needs for it. The kinds are the rows of one table, targetKinds, read by the plan's
// validation and the wizard; what a target does (its import API, its hash syntax, its
// sign-ins and sessions) is its row in strategies/targets, which can import the target's
// package where this one cannot. Adding a target adds a row to each.
type TargetKind struct {
	Name  string // target.kind
	Title string // what the wizard offers
	Label string // its name in reports: "Ory Kratos"
	// Imitates names the kind whose rules this one imitates (the mock IdP imitates
	// Authgear): reports that compare targets list the original only.
	Imitates string
	// Dialect is how the target calls `cutover bridge` in a lazy migration (lazy.dialect's
	// default for this target).
	Dialect string
	// PreImport says a lazy migration first imports every user without a password and
	// flagged for the target's password-migration hook: the target calls the bridge only
	// for users it already holds (Ory Kratos).
	PreImport bool
	// Fields are the target.* settings the wizard asks for this kind, in order.
	Fields []TargetField
	// validate checks the target fields this kind needs, beyond kind itself.
	validate func(t *Target, bad badFunc) error
}

// TargetField is one target.* setting as the wizard asks for it.
type TargetField struct {
	Key         string // the key under target: ("url", "public_url"...)
	Title       string
	Placeholder string
	Help        string
	Required    bool
	// EnvRef says the value must be a ${VAR} reference (a secret).
	EnvRef bool
	// Options, when set, make the field a choice of [label, value] pairs.
	Options [][2]string
}

// targetKinds is the table of targets, in the order the wizard offers them.
var targetKinds = []TargetKind{
	{Name: TargetMockIDP, Title: "the bundled mock IdP, in-process (rehearse safely)", Label: "the mock IdP", Imitates: TargetAuthgear, Dialect: DialectAuthproject, validate: validateMock,
		Fields: []TargetField{{Key: "profile", Title: "Mock IdP profile", Options: [][2]string{
			{"authgear: imports bcrypt only, like production", ProfileAuthgear},
			{"permissive: imports any hash it can verify", ProfilePermissive}}}}},
	{Name: TargetAuthgear, Title: "an Authgear-compatible endpoint", Label: "Authgear", Dialect: DialectAuthproject, validate: validateAuthgear,
		Fields: []TargetField{
			{Key: "url", Title: "Endpoint URL", Placeholder: "https://myapp.authgear.cloud", Required: true},
			{Key: "project", Title: "Project id", Help: "the Admin API JWT audience", Required: true},
			{Key: "key_file", Title: "Admin API key file", Help: "Advanced > Admin API: download the private key (PEM)", Required: true},
			{Key: "key_id", Title: "Key id (optional)", Help: "the kid shown next to the key"}}},
	{Name: TargetKratos, Title: "Ory Kratos: legacy hashes translated (self-hosted or Ory Network)", Label: "Ory Kratos", Dialect: DialectKratos, PreImport: true, validate: validateKratos,
		Fields: []TargetField{
			{Key: "url", Title: "Admin API URL", Placeholder: "http://127.0.0.1:4434", Help: "port 4434 when self-hosted; the project URL on Ory Network", Required: true},
			{Key: "public_url", Title: "Public API URL", Placeholder: "http://127.0.0.1:4433", Help: "where users sign in (rehearsals, cutover login)"},
			{Key: "schema_id", Title: "Identity schema id (optional)", Placeholder: "user", Help: "'cutover plan kratos-schema' prints one that fits this plan"},
			{Key: "api_key", Title: "API key (Ory Network only)", Placeholder: "${ORY_API_KEY}", Help: "a ${VAR} reference; empty when self-hosted", EnvRef: true}}},
}

// Field returns the target setting named key (TargetField.Key), or nil.
func (t *Target) Field(key string) *string {
	switch key {
	case "url":
		return &t.URL
	case "public_url":
		return &t.PublicURL
	case "api_key":
		return &t.APIKey
	case "schema_id":
		return &t.SchemaID
	case "profile":
		return &t.Profile
	case "project":
		return &t.Project
	case "key_file":
		return &t.KeyFile
	case "key_id":
		return &t.KeyID
	case "signin_url":
		return &t.SignInURL
	}
	return nil
}

// Keep clears the target settings kind k does not use (a wizard user who changed
// their mind about the target leaves none behind).
func (t *Target) Keep(k TargetKind) {
	for _, key := range []string{"url", "public_url", "api_key", "schema_id", "profile", "project", "key_file", "key_id", "signin_url"} {
		if !slices.ContainsFunc(k.Fields, func(f TargetField) bool { return f.Key == key }) {
			*t.Field(key) = ""
		}
	}
}

// TargetKinds returns the target kinds, in the order the wizard offers them.
func TargetKinds() []TargetKind { return append([]TargetKind(nil), targetKinds...) }

// TargetKindOf returns the kind named name; ok is false for an unknown name.
func TargetKindOf(name string) (TargetKind, bool) {
	for _, k := range targetKinds {
		if k.Name == name {
			return k, true
		}
	}
	return TargetKind{}, false
}

func targetKindNames() []string {
	out := make([]string, 0, len(targetKinds))
	for _, k := range targetKinds {
		out = append(out, k.Name)
	}
	return out
}

// validate checks the target: a kind, and what that kind needs.
func (t *Target) validate(bad badFunc) error {
	if err := oneOf(bad, "target.kind", t.Kind, targetKindNames()...); err != nil {
		return err
	}
	k, _ := TargetKindOf(t.Kind)
	for _, f := range []struct{ key, v string }{{"target.public_url", t.PublicURL}, {"target.api_key", t.APIKey}, {"target.schema_id", t.SchemaID}} {
		if f.v != "" && k.Name != TargetKratos {
			return bad(f.key, "is a setting of kratos targets; remove it for a %s target", k.Name)
		}
	}
	return k.validate(t, bad)
}

func validateMock(t *Target, bad badFunc) error {
	if t.SignInURL != "" {
		return bad("target.signin_url", "the mock IdP signs users in at its own URL; remove it for a mockidp target")
	}
	if t.Profile != "" {
		return oneOf(bad, "target.profile", t.Profile, ProfileAuthgear, ProfilePermissive)
	}
	return nil
}

func validateAuthgear(t *Target, bad badFunc) error {
	if t.Profile != "" {
		return bad("target.profile", "profiles choose how the bundled mock IdP behaves; remove it for an authgear target")
	}
	if t.URL == "" {
		return bad("target.url", "missing; give the Authgear endpoint, e.g. https://myapp.authgear.cloud")
	}
	if !absoluteURL(t.URL) {
		return bad("target.url", "%q is not an absolute URL", t.URL)
	}
	if t.SignInURL != "" && !absoluteURL(t.SignInURL) {
		return bad("target.signin_url", "%q is not an absolute URL; give the origin of the Authentication Flow API, e.g. https://myapp.authgear.cloud", t.SignInURL)
	}
	if t.Project == "" {
		return bad("target.project", "missing; the Admin API JWT audience is your project id")
	}
	if t.KeyFile == "" {
		return bad("target.key_file", "missing; download the Admin API private key (Advanced > Admin API) and give its path")
	}
	return nil
}

func validateKratos(t *Target, bad badFunc) error {
	for _, f := range []struct{ key, v, why string }{
		{"target.profile", t.Profile, "profiles choose how the bundled mock IdP behaves"},
		{"target.project", t.Project, "Kratos has no project id in its admin API"},
		{"target.key_file", t.KeyFile, "Kratos's admin API takes an API key (target.api_key) on Ory Network, nothing when self-hosted"},
		{"target.key_id", t.KeyID, "Kratos's admin API takes an API key (target.api_key) on Ory Network, nothing when self-hosted"},
		{"target.signin_url", t.SignInURL, "Kratos's users sign in at target.public_url"},
	} {
		if f.v != "" {
			return bad(f.key, "%s; remove it for a kratos target", f.why)
		}
	}
	if t.URL == "" {
		return bad("target.url", "missing; give Kratos's admin API URL, e.g. http://127.0.0.1:4434 (self-hosted) or https://PROJECT.projects.oryapis.com (Ory Network)")
	}
	if !absoluteURL(t.URL) && !IsEnvRef(t.URL) {
		return bad("target.url", "%q is not an absolute URL; give Kratos's admin API URL, e.g. http://127.0.0.1:4434", t.URL)
	}
	if t.PublicURL != "" && !absoluteURL(t.PublicURL) && !IsEnvRef(t.PublicURL) {
		return bad("target.public_url", "%q is not an absolute URL; give Kratos's public API URL, e.g. http://127.0.0.1:4433", t.PublicURL)
	}
	return nil
}

func absoluteURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && u.Scheme != "" && u.Host != "" && !strings.ContainsAny(u.Host, " ")
}
