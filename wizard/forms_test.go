package wizard

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/x/ansi"

	"github.com/cutover/cutover/strategies"
)

// answer runs a step's form in accessible mode, without a terminal, fed from input.
func answer(t *testing.T, f *huh.Form, input string) {
	t.Helper()
	var out bytes.Buffer
	err := f.WithAccessible(true).WithInput(&eofReader{r: oneByte(input)}).WithOutput(&out).RunWithContext(context.Background())
	if err != nil {
		t.Fatalf("form: %v", err)
	}
}

func oneByte(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }

func TestFormsBindIntoThePlan(t *testing.T) {
	tests := []struct {
		name  string
		step  stepID
		setup func(*state)
		input string
		check func(*strategies.Plan, *state) (got, want any)
	}{
		{"strategy authonly", stepStrategy, nil, "3\n",
			func(p *strategies.Plan, _ *state) (any, any) { return p.Strategy, strategies.StrategyAuthOnly }},
		{"source kind postgres", stepSourceKind, nil, "2\n",
			func(p *strategies.Plan, _ *state) (any, any) { return p.Source.Kind, strategies.SourcePostgres }},
		{"file path kept on empty answer", stepConnection, nil, "\n",
			func(p *strategies.Plan, _ *state) (any, any) { return p.Source.Path, "demo/users.db" }},
		{"table from the probe", stepTable, func(s *state) {
			s.probe = &ProbeResult{Tables: []TableInfo{{Name: "accounts", Rows: 10}, {Name: "users", Rows: 3}}}
		}, "1\n\n", func(p *strategies.Plan, _ *state) (any, any) { return p.Source.Table, "accounts" }},
		{"mapping kept in one answer", stepMapping, func(s *state) {
			s.plan.Mapping.Disabled = strategies.FieldRef{Column: "is_active", Transform: "not"}
		}, "\n", func(p *strategies.Plan, s *state) (any, any) {
			return []any{s.mapChoice, p.Mapping.Disabled}, []any{mapKeep, strategies.FieldRef{Column: "is_active", Transform: "not"}}
		}},
		{"mapping changed", stepMapping, func(s *state) { s.columns = []string{"id", "mail"} }, "2\n",
			func(_ *strategies.Plan, s *state) (any, any) { return s.mapChoice, mapEdit }},
		{"password recipe", stepPassword, nil, "\n3\n",
			func(_ *strategies.Plan, s *state) (any, any) { return s.pwKind, pwRecipe }},
		{"bulk options", stepOptions, nil, "8\ny\n3\n2\n",
			func(p *strategies.Plan, s *state) (any, any) {
				return []any{s.concurrency, p.Bulk.Upsert, p.Bulk.UnsupportedHash, p.Bulk.Identifier}, []any{"8", true, "skip", "phone_number"}
			}},
		{"authgear target", stepTargetDetail, func(s *state) { s.plan.Target.Kind = strategies.TargetAuthgear },
			"https://a.example\nproj\nkey.pem\n\n",
			func(p *strategies.Plan, _ *state) (any, any) {
				return []string{p.Target.URL, p.Target.Project, p.Target.KeyFile}, []string{"https://a.example", "proj", "key.pem"}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := demoPlan()
			s := newState(Env{}, p, "plan.yaml")
			if tt.setup != nil {
				tt.setup(s)
			}
			f := s.form(tt.step)
			if f == nil {
				t.Fatalf("step %s has no form", tt.step)
			}
			answer(t, f, tt.input)
			got, want := tt.check(s.plan, s)
			if gs, ws := strings.TrimSpace(fmtAny(got)), strings.TrimSpace(fmtAny(want)); gs != ws {
				t.Errorf("got %s, want %s", gs, ws)
			}
		})
	}
}

func fmtAny(v any) string { return strings.ReplaceAll(strings.TrimSpace(sprint(v)), "\n", " ") }

func TestScreensHaveNoForm(t *testing.T) {
	p, _ := demoPlan()
	s := newState(Env{}, p, "plan.yaml")
	for _, id := range []stepID{stepPreview, stepRun, stepReport} {
		if s.form(id) != nil {
			t.Errorf("step %s: got a form, want a custom screen", id)
		}
	}
}

func TestNextSkipsStepsThatDoNotApply(t *testing.T) {
	tests := []struct {
		name   string
		kind   string
		pwKind string
		from   stepID
		want   stepID
	}{
		{"database asks for a table", strategies.SourceSQLite, pwAuto, stepConnection, stepTable},
		{"file skips the table", strategies.SourceCSV, pwAuto, stepConnection, stepMapping},
		{"auto format skips the detail", strategies.SourceSQLite, pwAuto, stepPassword, stepPreview},
		{"recipe asks for it", strategies.SourceSQLite, pwRecipe, stepPassword, stepPasswordDetail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := demoPlan()
			p.Source.Kind = tt.kind
			s := newState(Env{}, p, "plan.yaml")
			s.pwKind = tt.pwKind
			if got := s.next(tt.from); got != tt.want {
				t.Errorf("next(%s): got %s, want %s", tt.from, got, tt.want)
			}
		})
	}
}

// TestPositionCountsOnlyStepsThatApply: the header's "step n of total" numbers the
// steps this user will see, not every step the wizard has.
func TestPositionCountsOnlyStepsThatApply(t *testing.T) {
	tests := []struct {
		name      string
		kind      string
		pwKind    string
		step      stepID
		wantN     int
		wantTotal int
	}{
		{"database, auto format: the report is the last", strategies.SourceSQLite, pwAuto, stepReport, 14, 14},
		{"file: no table step", strategies.SourceCSV, pwAuto, stepReport, 13, 13},
		{"recipe: one more step", strategies.SourceSQLite, pwRecipe, stepReport, 15, 15},
		{"welcome is always first", strategies.SourceCSV, pwRecipe, stepWelcome, 1, 14},
		{"mapping after the connection on a file", strategies.SourceCSV, pwAuto, stepMapping, 5, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := demoPlan()
			p.Source.Kind = tt.kind
			s := newState(Env{}, p, "plan.yaml")
			s.pwKind = tt.pwKind
			if n, total := s.position(tt.step); n != tt.wantN || total != tt.wantTotal {
				t.Errorf("position(%s): got step %d of %d, want %d of %d", tt.step, n, total, tt.wantN, tt.wantTotal)
			}
		})
	}
}

func TestSecretsLeaveThePlan(t *testing.T) {
	tests := []struct {
		name, dsn, wantDSN, wantEnv string
	}{
		{"url with password", "postgres://u:pw@db/app", "${LEGACY_DSN}", "postgres://u:pw@db/app"},
		{"key=value password", "host=db user=u password=pw dbname=app", "${LEGACY_DSN}", "host=db user=u password=pw dbname=app"},
		{"mysql user:pass", "u:pw@tcp(db:3306)/app", "${LEGACY_DSN}", "u:pw@tcp(db:3306)/app"},
		{"no password", "postgres://u@db/app", "postgres://u@db/app", ""},
		{"already a reference", "${LEGACY_DSN}", "${LEGACY_DSN}", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			s := newState(fakeEnv(&fakeRunner{}, env), &strategies.Plan{}, "plan.yaml")
			s.plan.Source.DSN = tt.dsn
			if err := s.secretToEnv(&s.plan.Source.DSN, envDSN); err != nil {
				t.Fatal(err)
			}
			if s.plan.Source.DSN != tt.wantDSN {
				t.Errorf("dsn: got %q, want %q", s.plan.Source.DSN, tt.wantDSN)
			}
			if env[envDSN] != tt.wantEnv {
				t.Errorf("$%s: got %q, want %q", envDSN, env[envDSN], tt.wantEnv)
			}
			if (tt.wantEnv != "") != (len(s.notes) == 1) {
				t.Errorf("notes: got %q, want one export hint only when a secret moved", s.notes)
			}
		})
	}
}

func TestParseAttrs(t *testing.T) {
	old := map[string]strategies.FieldRef{"tier": {Column: "plan", Transform: "lower"}}
	tests := []struct {
		name, in string
		want     map[string]strategies.FieldRef
		wantErr  string
	}{
		{"empty", "  ", nil, ""},
		{"pairs", "member_id=member_no, tier=plan", map[string]strategies.FieldRef{"member_id": {Column: "member_no"}, "tier": {Column: "plan", Transform: "lower"}}, ""},
		{"changed column drops transform", "tier=level", map[string]strategies.FieldRef{"tier": {Column: "level"}}, ""},
		{"not a pair", "member_id", nil, `"member_id" is not name=column`},
		{"twice", "a=b, a=c", nil, `"a" is given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAttrs(tt.in, old)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error: got %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if sprint(got) != sprint(tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func sprint(v any) string { return fmt.Sprint(v) }

// TestFitLinesKeepsThePlanReadableOnSmallTerminals: the review shows every section of
// the plan at 80x24 by folding the mapping into one line, and says when it cuts.
func TestFitLinesKeepsThePlanReadableOnSmallTerminals(t *testing.T) {
	yaml := strings.Join([]string{
		"version: 1", "strategy: bulk", "source:", "  kind: sqlite", "  table: users",
		"mapping:", "  legacy_id: id", "  email: email", "  name: display_name",
		"  custom_attributes:", "    member_id: member_no",
		"target:", "  kind: mockidp", "bulk:", "  unsupported_hash: without_password", "authonly: {}",
	}, "\n")
	tests := []struct {
		name string
		rows int
		want string
	}{
		{"fits: unchanged", 20, yaml},
		{"empty sections and the version go first", 14, strings.Join([]string{
			"strategy: bulk", "source:", "  kind: sqlite", "  table: users",
			"mapping:", "  legacy_id: id", "  email: email", "  name: display_name",
			"  custom_attributes:", "    member_id: member_no",
			"target:", "  kind: mockidp", "bulk:", "  unsupported_hash: without_password",
		}, "\n")},
		{"no limit: unchanged", 0, yaml},
		{"mapping folded", 12, strings.Join([]string{
			"strategy: bulk", "source:", "  kind: sqlite", "  table: users",
			"mapping:", "  4 fields: legacy_id, email, name, custom_attributes",
			"target:", "  kind: mockidp", "bulk:", "  unsupported_hash: without_password",
		}, "\n")},
		{"then sections on a line each", 6, strings.Join([]string{
			"strategy: bulk", "source: {kind: sqlite, table: users}",
			"mapping: 4 fields: legacy_id, email, name, custom_attributes",
			"target: {kind: mockidp}", "bulk: {unsupported_hash: without_password}",
		}, "\n")},
		{"then cut, saying so", 4, strings.Join([]string{
			"strategy: bulk", "source: {kind: sqlite, table: users}",
			"mapping: 4 fields: legacy_id, email, name, custom_attributes",
			"… 2 more lines in the saved plan",
		}, "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := fitLines(yaml, tt.rows); got != tt.want {
				t.Errorf("fitLines(rows %d):\ngot\n%s\nwant\n%s", tt.rows, got, tt.want)
			}
		})
	}
}

// TestDirectoryConnection: choosing an LDAP directory asks for its URL, bind, base DN
// and filter, and the bind password leaves the plan for the environment (issue 18).
func TestDirectoryConnection(t *testing.T) {
	p, _ := demoPlan()
	env := map[string]string{}
	s := newState(fakeEnv(&fakeRunner{}, env), p, "plan.yaml")
	s.plan.Source.Kind = strategies.SourceLDAP
	if _, err := s.leave(context.Background(), stepSourceKind); err != nil {
		t.Fatal(err)
	}
	answer(t, s.form(stepConnection), "ldap://ldap.corp.example:389\ncn=reader,dc=corp,dc=example\nhunter2\nou=people,dc=corp,dc=example\n\n")
	d := s.plan.Source.LDAP
	if d == nil || d.URL != "ldap://ldap.corp.example:389" || d.BindDN != "cn=reader,dc=corp,dc=example" || d.BaseDN != "ou=people,dc=corp,dc=example" {
		t.Fatalf("got source.ldap %+v, want the answers", d)
	}
	if s.plan.Source.Path != "" {
		t.Errorf("got source.path %q, want none for a directory", s.plan.Source.Path)
	}
	if err := s.secretToEnv(&d.BindPassword, envLDAPPassword); err != nil {
		t.Fatal(err)
	}
	if d.BindPassword != "${"+envLDAPPassword+"}" || env[envLDAPPassword] != "hunter2" {
		t.Errorf("bind password: got plan %q, env %q; want the reference in the plan and the password in $%s", d.BindPassword, env[envLDAPPassword], envLDAPPassword)
	}
	s.plan.Mapping = strategies.Mapping{Email: strategies.FieldRef{Column: "mail"}} // the next step's suggestion
	if err := s.plan.Validate(); err != nil {
		t.Errorf("the plan does not validate: %v", err)
	}
}

// TestLazyPlanIsOneTheBridgeTakes: Enter through a lazy plan's options saves a plan
// `cutover bridge --plan` accepts: lazy.secret a ${VAR} reference, and a note saying
// to export it; an empty secret without no_auth is refused at the step (issue 17, item 2).
func TestLazyPlanIsOneTheBridgeTakes(t *testing.T) {
	p, _ := demoPlan()
	p.Strategy = strategies.StrategyLazy
	p.Mapping = demoMapping()
	s := newState(fakeEnv(&fakeRunner{}, map[string]string{}), p, "plan.yaml")
	answer(t, s.form(stepOptions), "\n\n\n\n")
	if _, err := s.leave(context.Background(), stepOptions); err != nil {
		t.Fatalf("leave options: %v", err)
	}
	if got, want := s.plan.Lazy.Secret, "${BRIDGE_SECRET}"; got != want {
		t.Errorf("lazy.secret: got %q, want %q", got, want)
	}
	if !strings.Contains(strings.Join(s.notes, "\n"), "export BRIDGE_SECRET=") {
		t.Errorf("notes: got %q, want one saying to export BRIDGE_SECRET", s.notes)
	}
	s.plan.Lazy.Secret = ""
	if _, err := s.leave(context.Background(), stepOptions); err == nil || !strings.Contains(err.Error(), "lazy.secret") {
		t.Errorf("empty secret without no_auth: got %v, want an error about lazy.secret", err)
	}
}

// TestChoicesVisibleWithoutColour: under NO_COLOR a yes/no question marks its answer
// with brackets (the base theme shows "Yes     No" and tells them apart by colour), and
// the options screen's labels do not call an option the default while another is
// preselected, or offer the same identifier twice (issue 17, items 4 and 5).
func TestChoicesVisibleWithoutColour(t *testing.T) {
	p, _ := demoPlan()
	p.Mapping = demoMapping()
	p.Bulk.UnsupportedHash = strategies.UnsupportedWithoutPassword
	s := newState(Env{}, p, "plan.yaml")
	s.tui = true
	f := huh.NewForm(huh.NewGroup(s.optionFields()...)).WithTheme(plainTheme()).WithWidth(80).WithHeight(40)
	f.Init()
	view := ansi.Strip(f.View())
	if !strings.Contains(view, "[No]") || strings.Contains(view, "[Yes]") {
		t.Errorf("upsert is no: want [No] marked, not [Yes]:\n%s", view)
	}
	if strings.Contains(view, "(default)") {
		t.Errorf("an option is labelled the default:\n%s", view)
	}
	if n := strings.Count(view, "email"); n != 1 {
		t.Errorf("identifier email offered %d times, want once:\n%s", n, view)
	}
	if !strings.Contains(view, "empty keeps 4") {
		t.Errorf("import jobs in flight is not explained:\n%s", view)
	}
}

// TestPreselectedOptionShown: a select whose answer is not its "" option shows that
// answer under the cursor; the Table step showed "(use the query below)" alone, with no
// cursor, while users was selected (issue 17, item 5).
func TestPreselectedOptionShown(t *testing.T) {
	p, _ := demoPlan()
	s := newState(Env{}, p, "plan.yaml")
	s.tui = true
	s.probe = &ProbeResult{Tables: []TableInfo{{Name: "accounts", Rows: 10}, {Name: "users", Rows: 3}}}
	f := s.form(stepTable).WithTheme(plainTheme()).WithWidth(80).WithHeight(20)
	f.Init()
	if view := ansi.Strip(f.View()); !strings.Contains(view, "> users (about 3 rows)") {
		t.Errorf("the Table step does not show the chosen table under the cursor:\n%s", view)
	}
}

// TestAllOptionsShownAroundTheAnswer: a short list shows every option, the answer under
// the cursor: "fail" stayed hidden above a preselected "without_password" (issue 17, item 4).
func TestAllOptionsShownAroundTheAnswer(t *testing.T) {
	p, _ := demoPlan()
	p.Bulk.UnsupportedHash = strategies.UnsupportedWithoutPassword
	s := newState(Env{}, p, "plan.yaml")
	s.tui = true
	f := huh.NewForm(huh.NewGroup(s.optionFields()[2:]...)).WithTheme(plainTheme()).WithWidth(80).WithHeight(18)
	f.Init()
	view := ansi.Strip(f.View())
	for _, want := range []string{"  fail: report the row as failed", "> without_password", "  skip: leave"} {
		if !strings.Contains(view, want) {
			t.Errorf("the options page lacks %q:\n%s", want, view)
		}
	}
}

// TestDemoPlanSavedWithRelativePath: a source below the plan's directory (the demo
// database in .cutover/demo) is saved relative to the plan, not as an absolute path,
// and the plan still finds it (issue 17, item 11).
func TestDemoPlanSavedWithRelativePath(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, ".cutover", "demo", "legacy-demo.db")
	p, _ := demoPlan()
	p.Mapping = demoMapping()
	p.Source.Path = db
	s := newState(fakeEnv(&fakeRunner{}, map[string]string{}), p, filepath.Join(dir, "cutover-plan.yaml"))
	if _, err := s.save(); err != nil {
		t.Fatal(err)
	}
	loaded, err := strategies.LoadPlan(filepath.Join(dir, "cutover-plan.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(".cutover", "demo", "legacy-demo.db"); loaded.Source.Path != want {
		t.Errorf("source.path: got %q, want %q", loaded.Source.Path, want)
	}
	if got, _ := loaded.Resolve("source.path", loaded.Source.Path); got != db {
		t.Errorf("the saved plan resolves its source to %q, want %q", got, db)
	}
	if got, _ := s.plan.Resolve("source.path", s.plan.Source.Path); got != db {
		t.Errorf("the plan handed to the run resolves its source to %q, want %q", got, db)
	}
}

// TestAnotherSourceKindDropsThePath: choosing CSV after the demo's SQLite database does
// not keep the database's path for the CSV reader; keeping the kind keeps the path
// (issue 17, item 6).
func TestAnotherSourceKindDropsThePath(t *testing.T) {
	for _, tt := range []struct{ kind, want string }{{strategies.SourceCSV, ""}, {strategies.SourceSQLite, "demo/users.db"}} {
		p, _ := demoPlan()
		s := newState(fakeEnv(&fakeRunner{}, map[string]string{}), p, "plan.yaml")
		s.plan.Source.Kind = tt.kind
		if _, err := s.leave(context.Background(), stepSourceKind); err != nil {
			t.Fatal(err)
		}
		if s.plan.Source.Path != tt.want {
			t.Errorf("%s: source.path: got %q, want %q", tt.kind, s.plan.Source.Path, tt.want)
		}
	}
}
