package strategies

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const goodPlan = `version: 1
strategy: bulk
source:
  kind: postgres
  dsn: ${LEGACY_DSN}
  table: users
  key: id
mapping:
  legacy_id: id
  email: email
  email_verified: email_verified
  phone_number: phone
  name: name
  disabled: {column: is_active, transform: not}
  password_hash: password.password_hash
  password_format: auto
  address:
    locality: city
  custom_attributes: {member_id: member_no}
target:
  kind: mockidp
  profile: authgear
bulk: {}
lazy: {}
authonly: {}
`

func TestParsePlanErrors(t *testing.T) {
	tests := []struct {
		name      string
		yaml      string
		wantField string
		wantLine  int
		wantMsg   string
	}{
		{"unknown top-level key", strings.Replace(goodPlan, "bulk: {}", "bulck: {}", 1), "bulck", 23, "unknown key; allowed here: version, strategy"},
		{"unknown nested key", strings.Replace(goodPlan, "  key: id", "  kee: id", 1), "source.kee", 7, "unknown key"},
		{"unknown key in a field ref", strings.Replace(goodPlan, "transform: not}", "transfrom: not}", 1), "mapping.disabled.transfrom", 14, "unknown key"},
		{"key given twice", strings.Replace(goodPlan, "strategy: bulk", "strategy: bulk\nstrategy: lazy", 1), "strategy", 3, "given twice"},
		{"text where a number belongs", strings.Replace(goodPlan, "bulk: {}", "bulk: {concurrency: many}", 1), "bulk.concurrency", 23,
			"bulk.concurrency: expected a whole number, got the text \"many\"; write it as `concurrency: 4`"},
		{"text where a version belongs", strings.Replace(goodPlan, "version: 1", "version: one", 1), "version", 1,
			"version: expected a whole number, got the text \"one\"; write it as `version: 1`"},
		{"text where true or false belongs", strings.Replace(goodPlan, "bulk: {}", "bulk: {log_emails: sometimes}", 1), "bulk.log_emails", 23,
			"expected true or false, got the text \"sometimes\"; write it as `log_emails: true`"},
		{"list where a mapping belongs", strings.Replace(goodPlan, "bulk: {}", "bulk: [a, b]", 1), "bulk", 23, "expected a mapping of keys, got a list"},
		{"list where a map of columns belongs", strings.Replace(goodPlan, "custom_attributes: {member_id: member_no}", "custom_attributes: [a, b]", 1), "mapping.custom_attributes", 19,
			"mapping.custom_attributes: expected a mapping of keys, got a list; write it as `custom_attributes: {name: value}`"},
		{"empty target", strings.Replace(goodPlan, "  kind: mockidp\n  profile: authgear", "", 1), "target.kind", 0, "missing; use one of mockidp, authgear"},
		{"scalar where a mapping belongs", strings.Replace(goodPlan, "lazy: {}", "lazy: yes", 1), "lazy", 24, "expected a mapping of keys"},
		{"missing version", strings.Replace(goodPlan, "version: 1\n", "", 1), "version", 0, "missing; add `version: 1`"},
		{"future version", strings.Replace(goodPlan, "version: 1", "version: 2", 1), "version", 1, "reads version 1 plans, not 2"},
		{"missing strategy", strings.Replace(goodPlan, "strategy: bulk\n", "", 1), "strategy", 0, "missing; use one of bulk, lazy, authonly"},
		{"unknown strategy", strings.Replace(goodPlan, "strategy: bulk", "strategy: big", 1), "strategy", 2, `"big" is not one of`},
		{"database without dsn", strings.Replace(goodPlan, "  dsn: ${LEGACY_DSN}\n", "", 1), "source.dsn", 0, "needs a DSN"},
		{"file without path", strings.Replace(goodPlan, "kind: postgres", "kind: csv", 1), "source.path", 0, "needs the file's path"},
		{"no identifier", strings.NewReplacer("  email: email\n", "", "  phone_number: phone\n", "").Replace(goodPlan), "mapping", 8, "no identifier is mapped"},
		{"unknown transform", strings.Replace(goodPlan, "transform: not", "transform: negate", 1), "mapping.disabled", 0, `unknown transform "negate"`},
		{"authgear without url", strings.Replace(goodPlan, "  kind: mockidp\n  profile: authgear", "  kind: authgear", 1), "target.url", 0, "missing"},
		{"relative signin_url", strings.Replace(goodPlan, "  kind: mockidp\n  profile: authgear", "  kind: authgear\n  url: https://a.example\n  signin_url: /login\n  project: p\n  key_file: k.pem", 1), "target.signin_url", 0, "not an absolute URL"},
		{"signin_url at the mock", strings.Replace(goodPlan, "  profile: authgear", "  signin_url: https://a.example", 1), "target.signin_url", 0, "remove it for a mockidp target"},
		{"not YAML", "version: 1\nstrategy: [bulk\n", "", 0, "not valid YAML"},
		{"empty", "", "", 0, "the plan is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePlan("plan.yaml", []byte(tt.yaml))
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v, want a *Error", err)
			}
			if e.Code != CodePlan || e.File != "plan.yaml" {
				t.Errorf("got code %q file %q, want %q and plan.yaml", e.Code, e.File, CodePlan)
			}
			if tt.wantField != "" && e.Field != tt.wantField {
				t.Errorf("got field %q, want %q (%v)", e.Field, tt.wantField, e)
			}
			if tt.wantLine != 0 && e.Line != tt.wantLine {
				t.Errorf("got line %d, want %d (%v)", e.Line, tt.wantLine, e)
			}
			if !strings.Contains(e.Error(), tt.wantMsg) {
				t.Errorf("got %q, want it to contain %q", e.Error(), tt.wantMsg)
			}
			if strings.Contains(e.Error(), "!!") || strings.Contains(e.Error(), "unmarshal") {
				t.Errorf("got %q: the YAML library's words, not the plan's", e.Error())
			}
		})
	}
}

func TestParsePlanReadsEveryKey(t *testing.T) {
	p, err := ParsePlan("plan.yaml", []byte(goodPlan))
	if err != nil {
		t.Fatalf("ParsePlan: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"dsn kept as a reference", p.Source.DSN, "${LEGACY_DSN}"},
		{"scalar field ref", p.Mapping.Email, FieldRef{Column: "email"}},
		{"field ref with transform", p.Mapping.Disabled, FieldRef{Column: "is_active", Transform: "not"}},
		{"dotted path", p.Mapping.PasswordHash.Column, "password.password_hash"},
		{"address part", p.Mapping.Address.Locality, FieldRef{Column: "city"}},
		{"custom attribute", p.Mapping.CustomAttributes, map[string]FieldRef{"member_id": {Column: "member_no"}}},
		{"identifier", p.Identifier(), "email"},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("got %#v, want %#v", c.got, c.want)
			}
		})
	}
}

func TestExpand(t *testing.T) {
	t.Setenv("CUTOVER_TEST_HOST", "db.internal")
	t.Setenv("CUTOVER_TEST_EMPTY", "")
	tests := []struct {
		name, in, want, wantErr string
	}{
		{"one variable", "postgres://app@${CUTOVER_TEST_HOST}/users", "postgres://app@db.internal/users", ""},
		{"set but empty", "x${CUTOVER_TEST_EMPTY}y", "xy", ""},
		{"no references", "users.csv", "users.csv", ""},
		{"$VAR without braces is literal", "$CUTOVER_TEST_HOST", "$CUTOVER_TEST_HOST", ""},
		{"unset", "${CUTOVER_TEST_UNSET_VAR}", "", "refers to ${CUTOVER_TEST_UNSET_VAR}, which is not set; export CUTOVER_TEST_UNSET_VAR"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand("source.dsn", tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || CodeOf(err) != CodePlan || !strings.Contains(err.Error(), "source.dsn") {
					t.Fatalf("got %v, want a plan error on source.dsn containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestResolve(t *testing.T) {
	t.Setenv("CUTOVER_TEST_DIR", "/data")
	p := &Plan{File: filepath.Join("plans", "prod.yaml")}
	tests := []struct{ in, want string }{
		{"users.csv", filepath.Join("plans", "users.csv")},
		{"/abs/users.csv", "/abs/users.csv"},
		{"${CUTOVER_TEST_DIR}/users.csv", "/data/users.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got, err := p.Resolve("source.path", tt.in); err != nil || got != tt.want {
				t.Errorf("got %q, %v, want %q", got, err, tt.want)
			}
		})
	}
}

func TestSavePlanRefusesSecrets(t *testing.T) {
	tests := []struct {
		name      string
		edit      func(p *Plan)
		wantField string
	}{
		{"url dsn with a password", func(p *Plan) { p.Source.DSN = "postgres://app:s3cret@db/users" }, "source.dsn"},
		{"key=value dsn with a password", func(p *Plan) { p.Source.DSN = "host=db user=app password=s3cret dbname=users" }, "source.dsn"},
		{"mysql dsn with a password", func(p *Plan) { p.Source.DSN = "app:s3cret@tcp(db:3306)/users" }, "source.dsn"},
		{"literal password key", func(p *Plan) { p.Mapping.PasswordKey = "pepper" }, "mapping.password_key"},
		{"literal lazy secret", func(p *Plan) { p.Lazy.Secret = "hunter2" }, "lazy.secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePlan("plan.yaml", []byte(goodPlan))
			if err != nil {
				t.Fatal(err)
			}
			tt.edit(p)
			path := filepath.Join(t.TempDir(), "plan.yaml")
			err = SavePlan(path, p)
			var e *Error
			if !errors.As(err, &e) || e.Field != tt.wantField {
				t.Fatalf("got %v, want a plan error on %s", err, tt.wantField)
			}
			if strings.Contains(err.Error(), "s3cret") || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "pepper\"") {
				t.Errorf("got %q, want the secret left out of the message", err)
			}
			if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("got a written file (%v), want nothing written", statErr)
			}
		})
	}
}

func TestSavePlanAcceptsReferences(t *testing.T) {
	p, err := ParsePlan("plan.yaml", []byte(goodPlan))
	if err != nil {
		t.Fatal(err)
	}
	p.Source.DSN = "postgres://app:${DB_PASSWORD}@db/users"
	p.Mapping.PasswordKey = "${LEGACY_PEPPER}"
	p.Lazy.Secret = "${BRIDGE_SECRET}"
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := SavePlan(path, p); err != nil {
		t.Fatalf("SavePlan: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("got mode %v, want 0600", fi.Mode().Perm())
	}
}

func TestPlanRoundTrip(t *testing.T) {
	p, err := ParsePlan("plan.yaml", []byte(goodPlan))
	if err != nil {
		t.Fatal(err)
	}
	p.Bulk.Concurrency = 8
	p.Bulk.UnsupportedHash = UnsupportedWithoutPassword
	p.Mapping.PhoneRegion = "GB"
	path := filepath.Join(t.TempDir(), "plan.yaml")
	if err := SavePlan(path, p); err != nil {
		t.Fatalf("SavePlan: %v", err)
	}
	back, err := LoadPlan(path)
	if err != nil {
		data, _ := os.ReadFile(path)
		t.Fatalf("LoadPlan of the saved plan: %v\n%s", err, data)
	}
	if back.File != path {
		t.Errorf("got File %q, want %q", back.File, path)
	}
	back.File = p.File
	back.lines, p.lines = nil, nil // where keys sit in each file, not what the plan says
	if !reflect.DeepEqual(back, p) {
		t.Errorf("got %+v\nwant %+v", back, p)
	}
	data, _ := os.ReadFile(path)
	if !strings.Contains(string(data), "  disabled:\n    column: is_active\n    transform: not") || !strings.Contains(string(data), "email: email\n") {
		t.Errorf("got\n%s\nwant plain columns as scalars and transforms as {column, transform}", data)
	}
}

func TestLoadPlanMissingFile(t *testing.T) {
	_, err := LoadPlan(filepath.Join(t.TempDir(), "nope.yaml"))
	if CodeOf(err) != CodePlan || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("got %v, want a plan error naming the file", err)
	}
}

// TestLoadPlanRefusesLiteralSecrets: a hand-written plan holding a secret is refused
// when it is loaded, with the key's line, not only when the wizard saves it (issue 13,
// item 16).
func TestLoadPlanRefusesLiteralSecrets(t *testing.T) {
	tests := []struct {
		name, old, new, wantField string
		wantLine                  int
	}{
		{"dsn with a password", "dsn: ${LEGACY_DSN}", "dsn: postgres://app:s3cret@db/users", "source.dsn", 5},
		{"literal password key", "password_format: auto", "password_format: auto\n  password_key: s3cret", "mapping.password_key", 17},
		{"literal lazy secret", "lazy: {}", "lazy: {secret: s3cret}", "lazy.secret", 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePlan("plan.yaml", []byte(strings.Replace(goodPlan, tt.old, tt.new, 1)))
			var e *Error
			if !errors.As(err, &e) || e.Code != CodePlan || e.Field != tt.wantField || e.Line != tt.wantLine {
				t.Fatalf("got %v, want a plan error on %s at line %d", err, tt.wantField, tt.wantLine)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("got %q, want the secret left out of the message", err)
			}
		})
	}
}

// TestReferencesOnlyWhereMeant: a ${VAR} reference in a field that is not meant to take
// one (here the delegate URL, which would carry the variable to that host) is refused
// on load and by Expand (issue 13, item 16).
func TestReferencesOnlyWhereMeant(t *testing.T) {
	t.Setenv("CUTOVER_TEST_CLOUD_KEY", "AKIAsecret")
	plan := strings.Replace(goodPlan, "lazy: {}", "lazy:\n  delegate:\n    url: https://legacy.example/login?k=${CUTOVER_TEST_CLOUD_KEY}", 1)
	_, err := ParsePlan("plan.yaml", []byte(plan))
	var e *Error
	if !errors.As(err, &e) || e.Field != "lazy.delegate.url" || e.Line != 26 || !strings.Contains(e.Message, "write the value itself") {
		t.Fatalf("ParsePlan: got %v, want a plan error on lazy.delegate.url at line 26", err)
	}
	got, err := Expand("lazy.delegate.url", "https://legacy.example/login?k=${CUTOVER_TEST_CLOUD_KEY}")
	if err == nil || strings.Contains(got, "AKIA") {
		t.Fatalf("Expand(lazy.delegate.url): got %q, %v, want an error and no expansion", got, err)
	}
	if _, err := Expand("source.dsn", "${CUTOVER_TEST_CLOUD_KEY}"); err != nil {
		t.Errorf("Expand(source.dsn): got %v, want the reference expanded", err)
	}
}
