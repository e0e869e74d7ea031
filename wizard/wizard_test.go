package wizard

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/cutover/cutover/strategies"
)

// updating reports whether -update was given (the flag is x/exp/golden's, shared with
// the screen goldens).
func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	// Golden screens are compared without colours, whatever the terminal running the tests.
	lipgloss.SetColorProfile(termenv.Ascii)
	os.Exit(m.Run())
}

// answers joins one answer per prompt; "" takes the prefilled default.
func answers(lines ...string) string { return strings.Join(lines, "\n") + "\n" }

func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func concat(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// mappingDefaults keeps the suggested mapping: one answer, not one per field.
var mappingDefaults = []string{""}

func TestAccessibleWizardProducesGoldenPlan(t *testing.T) {
	tests := []struct {
		name     string
		input    []string
		strategy string
		wantEnv  map[string]string
		wantOut  []string
	}{
		{
			name: "bulk",
			input: concat(
				[]string{"", "", "", "", ""}, // strategy, source kind, path, table, query
				mappingDefaults,
				[]string{"member_id=member_no", ""}, // custom attributes, password format auto
				[]string{""},                        // preview: continue
				[]string{"", ""},                    // target mock IdP, profile authgear
				[]string{"8", "y", "2", ""},         // concurrency, upsert, without_password, identifier
				[]string{"", ""},                    // save path, save and run
			),
			strategy: "bulk",
			wantOut: []string{"Connected: SQLite 3.46.0, 2 table(s)", "users (about 3 rows)", "Mock IdP ready", "reconciled: every row is accounted for", "switch your app's sign-in to the IdP",
				// huh's plain prompts take the prefilled answer on Enter without saying it.
				"Which strategy? [Enter keeps: bulk: import everyone now, hashes included]",
				"Mock IdP profile [Enter keeps: authgear: imports bcrypt only, like production]"},
		},
		{
			name: "kratos",
			input: concat(
				[]string{"", "", "", "", ""},
				mappingDefaults,
				[]string{"", ""},
				[]string{""},
				[]string{"3", "http://127.0.0.1:4434", "http://127.0.0.1:4433", "user", "ORY-LITERAL-KEY", "${ORY_API_KEY}"}, // a literal key is refused
				[]string{"", "", "2", ""},
				[]string{"", ""},
			),
			strategy: "bulk",
			wantOut: []string{"Ory Kratos: legacy hashes translated", "target.api_key: write a ${VAR} reference",
				"Which identity provider? [Enter keeps: the bundled mock IdP, in-process (rehearse safely)]"},
		},
		{
			name: "lazy",
			input: concat(
				[]string{"2", "", "", "", ""},
				mappingDefaults,
				[]string{"", "3", "md5(md5(password) + salt)", "pepper-literal"}, // recipe with a literal key
				[]string{""},
				[]string{"", "2"}, // mock IdP, permissive
				[]string{"3", "127.0.0.1:9999", "${BRIDGE_SECRET}", "n"},
				[]string{"", ""},
			),
			strategy: "lazy",
			wantEnv:  map[string]string{"LEGACY_PEPPER": "pepper-literal"},
			wantOut: []string{"cutover bridge --plan", "cutover sweep --plan", "export LEGACY_PEPPER", "export BRIDGE_SECRET=",
				"Bridge dialect [Enter keeps: authproject form POST (default)]"},
		},
		{
			name: "authonly",
			input: concat(
				[]string{"3", "2", "postgres://migrator:s3cret@db.internal:5432/app", "", ""}, // postgres with a password in the DSN
				mappingDefaults,
				[]string{"", ""},
				[]string{""},
				[]string{"", ""},
				[]string{"", "500"}, // id column default, batch size
				[]string{"", ""},
			),
			strategy: "authonly",
			wantEnv:  map[string]string{"LEGACY_DSN": "postgres://migrator:s3cret@db.internal:5432/app"},
			wantOut:  []string{"Connected: PostgreSQL 15.8", "export LEGACY_DSN", "deploy the middleware that maps IdP sessions"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			planFile := filepath.Join(dir, "plan.yaml")
			runner := &fakeRunner{}
			env := map[string]string{}
			var out bytes.Buffer
			res, err := Run(context.Background(), fakeEnv(runner, env), Options{
				In: strings.NewReader(answers(tt.input...)), Out: &out, Accessible: true, NoColor: true, PlanFile: planFile,
			})
			if err != nil {
				t.Fatalf("Run: got error %v, want none; output:\n%s", err, out.String())
			}
			if res.Saved != planFile {
				t.Errorf("saved to %q, want %q", res.Saved, planFile)
			}
			saved, err := os.ReadFile(planFile)
			if err != nil {
				t.Fatalf("read saved plan: %v", err)
			}
			golden := filepath.Join("testdata", tt.name+".plan.yaml")
			if updating() {
				if err := os.WriteFile(golden, saved, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("read golden plan (run with -update to create it): %v", err)
			}
			if !bytes.Equal(saved, want) {
				t.Errorf("saved plan differs from %s\ngot:\n%s\nwant:\n%s", golden, saved, want)
			}
			// The saved plan is one `cutover run --plan` accepts, and the one that ran.
			loaded, err := strategies.LoadPlan(planFile)
			if err != nil {
				t.Fatalf("LoadPlan(saved): got error %v, want none", err)
			}
			if loaded.Strategy != tt.strategy {
				t.Errorf("strategy: got %q, want %q", loaded.Strategy, tt.strategy)
			}
			ran := runner.ran()
			if len(ran) != 1 {
				t.Fatalf("runner ran %d time(s), want 1", len(ran))
			}
			if got, _ := ran[0].Marshal(); !bytes.Equal(got, saved) {
				t.Errorf("the runner got a different plan from the saved one:\n%s", got)
			}
			if res.Report == nil || !res.Report.Reconciles() {
				t.Errorf("report: got %+v, want a reconciled report", res.Report)
			}
			for k, v := range tt.wantEnv {
				if env[k] != v {
					t.Errorf("environment %s: got %q, want the typed value", k, env[k])
				}
				if strings.Contains(string(saved), v) || strings.Contains(out.String(), v) {
					t.Errorf("the secret in %s appears in the saved plan or the output", k)
				}
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q; got:\n%s", w, out.String())
				}
			}
		})
	}
}

func TestAccessibleWizardStartsFromSavedPlan(t *testing.T) {
	// `cutover wizard --plan F`: every answer prefilled, so empty input replays the plan.
	p, err := strategies.LoadPlan(filepath.Join("testdata", "lazy.plan.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runner := &fakeRunner{}
	env := fakeEnv(runner, map[string]string{})
	env.Suggest = func(ctx context.Context, _ *strategies.Plan) (strategies.Mapping, []string, error) {
		return strategies.Mapping{Email: strategies.FieldRef{Column: "something_else"}}, demoColumns, nil
	}
	res, err := Run(context.Background(), env, Options{
		In: strings.NewReader(""), Out: &bytes.Buffer{}, Accessible: true, NoColor: true,
		Plan: p, PlanFile: filepath.Join(dir, "again.yaml"),
	})
	if err != nil {
		t.Fatalf("Run: got error %v, want none", err)
	}
	got, _ := res.Plan.Marshal()
	want, _ := os.ReadFile(filepath.Join("testdata", "lazy.plan.yaml"))
	if !bytes.Equal(got, want) {
		t.Errorf("replayed plan differs from the loaded one\ngot:\n%s\nwant:\n%s", got, want)
	}
}

func TestAccessibleWizardReportsFailingConnection(t *testing.T) {
	// A wrong path is reported with the engine's message and asked again; when the
	// input ends the wizard stops with that error instead of looping.
	in := answers("", "", "missing.db")
	var out bytes.Buffer
	_, err := Run(context.Background(), fakeEnv(&fakeRunner{}, map[string]string{}), Options{
		In: strings.NewReader(in), Out: &out, Accessible: true, NoColor: true, PlanFile: filepath.Join(t.TempDir(), "p.yaml"),
	})
	if err == nil {
		t.Fatal("Run: got no error, want the connection failure")
	}
	if !strings.Contains(err.Error(), "missing.db: no such file") {
		t.Errorf("error: got %q, want it to name the file", err)
	}
	if !strings.Contains(out.String(), "Error: test connection: open missing.db") {
		t.Errorf("output lacks the failure message; got:\n%s", out.String())
	}
}

func TestAccessibleWizardCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, fakeEnv(&fakeRunner{}, map[string]string{}), Options{
		In: strings.NewReader(""), Out: &bytes.Buffer{}, Accessible: true,
	})
	if got := strategies.CodeOf(err); got != strategies.CodeCancelled {
		t.Errorf("code: got %q (%v), want %q", got, err, strategies.CodeCancelled)
	}
	// Nothing ran: there is nothing to resume (issue 17, item 8).
	if err != nil && (strings.Contains(err.Error(), "resume") || !strings.Contains(err.Error(), "nothing was written")) {
		t.Errorf("got %q, want it to say nothing was written, not to resume", err)
	}
}

// TestAccessibleTranscriptReadsWell: line mode says what Enter keeps everywhere, puts
// every question on a line of its own, gives the preview as text (no box drawing, no
// bars), lists the columns once when the mapping is changed and never mentions Esc,
// which plain prompts do not have (issue 17, items 8 and 11).
func TestAccessibleTranscriptReadsWell(t *testing.T) {
	tests := []struct {
		name    string
		mapping []string
		want    []string
	}{
		{"mapping kept", mappingDefaults, nil},
		{"mapping changed", concat([]string{"2"}, []string{"-", "", "", "", "", "", "", "", "full_name"}, repeat("", 14)),
			[]string{"Columns: id, email, full_name", "\nname [Enter keeps: full_name]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			in := concat([]string{"", "", "", "", ""}, tt.mapping, []string{"", ""}, []string{""}, []string{"", ""}, []string{"", "", "", ""}, []string{"", ""})
			res, err := Run(context.Background(), fakeEnv(&fakeRunner{}, map[string]string{}), Options{
				In: strings.NewReader(answers(in...)), Out: &out, Accessible: true, NoColor: true, PlanFile: filepath.Join(t.TempDir(), "p.yaml"),
			})
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			text := out.String()
			for _, w := range append([]string{"Import jobs in flight [Enter keeps: 4]", "Update users that already exist? [Enter keeps: no]",
				"\nGo on?", "email: ada@example.com", "md5: 1, not importable"}, tt.want...) {
				if !strings.Contains(text, w) {
					t.Errorf("transcript lacks %q", w)
				}
			}
			for _, bad := range []string{"│", "─", "█", "Esc goes back", "esc:"} {
				if strings.Contains(text, bad) {
					t.Errorf("transcript has %q", bad)
				}
			}
			if n := strings.Count(text, "full_name"); n > 4 {
				t.Errorf("the column full_name is said %d times; want the columns listed once", n)
			}
			if n := strings.Count(text, "\n"); n > 220 {
				t.Errorf("transcript is %d lines; want under 220", n)
			}
			if tt.name == "mapping changed" && (res.Plan.Mapping.LegacyID.Column != "" || res.Plan.Mapping.Name.Column != "full_name") {
				t.Errorf("mapping: got legacy_id %q, name %q; want none and full_name", res.Plan.Mapping.LegacyID.Column, res.Plan.Mapping.Name.Column)
			}
			if t.Failed() {
				t.Logf("transcript:\n%s", text)
			}
		})
	}
}

// TestSecondWalkStartsFromTheSavedPlan: with no plan given, the wizard starts from the
// cutover-plan.yaml an earlier walk saved (Enter all the way replays it) instead of
// overwriting it with the demo's answers; a file there that is not a plan is saved
// over only when the user names it a second time (issue 17, item 3).
func TestSecondWalkStartsFromTheSavedPlan(t *testing.T) {
	lazyPlan, err := os.ReadFile(filepath.Join("testdata", "lazy.plan.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, existing, input string
		wantStrategy          string
		wantOut               string
	}{
		{"an earlier plan", string(lazyPlan), "", strategies.StrategyLazy, "prefilled from cutover-plan.yaml"},
		{"not a plan", "garbage: [\n", answers(concat([]string{"", "", "", "", ""}, mappingDefaults, []string{"", ""}, []string{""},
			[]string{"", ""}, []string{"", "", "", ""}, []string{"", ""}, []string{"", ""})...), strategies.StrategyBulk,
			"cutover-plan.yaml exists and is not a plan the wizard can read"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			if err := os.WriteFile(DefaultPlanFile, []byte(tt.existing), 0o600); err != nil {
				t.Fatal(err)
			}
			env := fakeEnv(&fakeRunner{}, map[string]string{})
			env.LoadPlan = strategies.LoadPlan
			var out bytes.Buffer
			res, err := Run(context.Background(), env, Options{In: strings.NewReader(tt.input), Out: &out, Accessible: true, NoColor: true})
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, out.String())
			}
			if res.Plan.Strategy != tt.wantStrategy || res.Saved != DefaultPlanFile {
				t.Errorf("got a %s plan saved to %q, want %s saved to %s", res.Plan.Strategy, res.Saved, tt.wantStrategy, DefaultPlanFile)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("output lacks %q:\n%s", tt.wantOut, out.String())
			}
		})
	}
}
