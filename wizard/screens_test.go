package wizard

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/cutover/cutover/strategies"
)

// snapshot wraps a model so a test can stop it where it stands and read its screen.
type snapshot struct{ tea.Model }

type stopNow struct{}

func (s snapshot) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if _, ok := msg.(stopNow); ok {
		return s, tea.Quit
	}
	m, cmd := s.Model.Update(msg)
	return snapshot{m}, cmd
}

func waitFor(t *testing.T, tm *teatest.TestModel, text string) {
	t.Helper()
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return strings.Contains(string(b), text) },
		teatest.WithDuration(30*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// finalView stops the program and returns the screen the model last drew.
func finalView(t *testing.T, tm *teatest.TestModel) string {
	t.Helper()
	tm.Send(stopNow{})
	return tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).View()
}

func sizes() []struct {
	name string
	w, h int
} {
	return []struct {
		name string
		w, h int
	}{{"80x24", 80, 24}, {"120x40", 120, 40}}
}

func TestPreviewScreen(t *testing.T) {
	for _, sz := range sizes() {
		t.Run(sz.name, func(t *testing.T) {
			s := newState(fakeEnv(&fakeRunner{}, map[string]string{}), mustDemo(t), "plan.yaml")
			m := newModel(context.Background(), s, newStyles(true))
			m.history = []stepID{stepMapping}
			tm := teatest.NewTestModel(t, snapshot{startAt(m, stepPreview)}, teatest.WithInitialTermSize(sz.w, sz.h))
			waitFor(t, tm, "Recommendation")
			view := finalView(t, tm)
			for _, want := range []string{"ada@example.com", "invalid_email", "not importable", "lazy: 2 of 3", "> 1 "} {
				if !strings.Contains(view, want) {
					t.Errorf("preview lacks %q", want)
				}
			}
			golden.RequireEqual(t, []byte(view))
		})
	}
}

func TestRunScreenAsksBeforeStopping(t *testing.T) {
	runner := &fakeRunner{block: true}
	h := &runHarness{r: runScreen{st: newStyles(true), width: 80, strategy: "bulk", planFile: "plan.yaml", resumable: true}, runner: runner}
	tm := teatest.NewTestModel(t, h, teatest.WithInitialTermSize(80, 24))
	waitFor(t, tm, "ETA 2s")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	waitFor(t, tm, "Stop the run?")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})
	final := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(*runHarness)
	if got := strategies.CodeOf(final.r.err); got != strategies.CodeCancelled {
		t.Errorf("run error code: got %q (%v), want %q", got, final.r.err, strategies.CodeCancelled)
	}
	// What the stop left, not the engine's "context canceled".
	if msg := final.r.err.Error(); strings.Contains(msg, "context canceled") || !strings.Contains(msg, "--resume") {
		t.Errorf("run error: got %q, want how to resume and no 'context canceled'", msg)
	}
	golden.RequireEqual(t, []byte(final.confirmView))
}

func TestReportScreen(t *testing.T) {
	for _, sz := range sizes() {
		t.Run(sz.name, func(t *testing.T) {
			s := newState(fakeEnv(&fakeRunner{}, map[string]string{}), mustDemo(t), "plan.yaml")
			s.saved = "plan.yaml"
			m := newModel(context.Background(), s, newStyles(true))
			m.run.report, _ = (&fakeRunner{}).Run(context.Background(), s.plan, strategies.RunOptions{})
			tm := teatest.NewTestModel(t, snapshot{startAt(m, stepReport)}, teatest.WithInitialTermSize(sz.w, sz.h))
			waitFor(t, tm, "Next steps")
			view := finalView(t, tm)
			if !strings.Contains(view, "reconciled: every row is accounted for") {
				t.Errorf("report lacks the reconciliation line:\n%s", view)
			}
			golden.RequireEqual(t, []byte(view))
		})
	}
}

// startAt makes a model whose Init opens the given step.
func startAt(m *model, id stepID) tea.Model { return &stepStart{model: m, id: id} }

type stepStart struct {
	*model
	id stepID
}

func (s *stepStart) Init() tea.Cmd { return s.model.enter(s.id) }

func mustDemo(t *testing.T) *strategies.Plan {
	t.Helper()
	p, err := demoPlan()
	if err != nil {
		t.Fatal(err)
	}
	p.Mapping = demoMapping()
	return p
}

// runHarness runs the run screen alone and keeps the confirmation screen it showed.
type runHarness struct {
	r           runScreen
	runner      strategies.Runner
	confirmView string
}

func (h *runHarness) Init() tea.Cmd {
	return h.r.start(context.Background(), h.runner, &strategies.Plan{Strategy: "bulk"})
}

func (h *runHarness) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	h.r, cmd = h.r.Update(msg)
	if h.r.confirming {
		h.confirmView = h.r.View()
	}
	if h.r.done {
		return h, tea.Quit
	}
	return h, cmd
}

func (h *runHarness) View() string { return h.r.View() }

// lazyRunner reports what a lazy rehearsal reports: the bridge up, each sign-in as it
// arrives, then the sweep; it holds at sign-in held until released.
type lazyRunner struct {
	held    int64
	release chan struct{}
}

func (l *lazyRunner) Run(ctx context.Context, p *strategies.Plan, o strategies.RunOptions) (*strategies.Report, error) {
	o.Progress(strategies.Progress{Phase: "bridge up", Unit: "sign-ins", Total: 52, Note: "the bridge checks legacy passwords at http://127.0.0.1:1234/verify"})
	for i := int64(1); i <= 52; i++ {
		o.Progress(strategies.Progress{Phase: "sign-ins through the bridge", Unit: "sign-ins", Total: 52, Done: i,
			Counts: map[strategies.Outcome]int64{"migrated": i, "refused": 0}, Note: "each known user signs in with the old password"})
		if i == l.held {
			select {
			case <-l.release:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	o.Progress(strategies.Progress{Phase: "sweep: importing", Total: 1000, Done: 1000,
		Counts: map[strategies.Outcome]int64{strategies.OutcomeInserted: 933, strategies.OutcomeSkipped: 52, strategies.OutcomeInvalid: 15}})
	return &strategies.Report{Strategy: p.Strategy, Rows: 1000, Inserted: 933, Skipped: 52, Invalid: 15}, nil
}

// TestRunScreenShowsLazyRehearsal: mid-way, a lazy rehearsal's run screen shows the
// bridge up, the sign-ins counted one by one as migrations, and offers no --resume on
// Ctrl+C (a lazy plan refuses it); the report's next steps do not ask to schedule the
// sweep that just ran (issue 17, item 2).
func TestRunScreenShowsLazyRehearsal(t *testing.T) {
	runner := &lazyRunner{held: 12, release: make(chan struct{})}
	s := newState(fakeEnv(&fakeRunner{}, map[string]string{}), mustDemo(t), "plan.yaml")
	s.plan.Strategy = strategies.StrategyLazy
	s.saved = "plan.yaml"
	s.env.Runner = runner
	m := newModel(context.Background(), s, newStyles(true))
	tm := teatest.NewTestModel(t, snapshot{startAt(m, stepRun)}, teatest.WithInitialTermSize(80, 24))
	waitFor(t, tm, "12 / 52 sign-ins")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	waitFor(t, tm, "Stop the rehearsal?")
	view := finalView(t, tm)
	close(runner.release)
	for _, want := range []string{"✓ bridge up", "12 / 52 sign-ins", "migrated 12", "Nothing of it is kept", "cutover rehearse --plan plan.yaml"} {
		if !strings.Contains(view, want) {
			t.Errorf("run screen lacks %q:\n%s", want, view)
		}
	}
	if strings.Contains(view, "--resume") {
		t.Errorf("run screen offers --resume for a lazy plan:\n%s", view)
	}
	golden.RequireEqual(t, []byte(view))

	o := outcome{report: &strategies.Report{Strategy: strategies.StrategyLazy, Rows: 3, Inserted: 3}, planFile: "plan.yaml", rehearsal: true}
	if steps := strings.Join(nextSteps(o), "\n"); strings.Contains(steps, "schedule the sweep") || !strings.Contains(steps, "BRIDGE_SECRET=") {
		t.Errorf("next steps after a lazy rehearsal:\n%s\nwant no 'schedule the sweep' and the bridge with its secret exported", steps)
	}
}

// TestReportScrollsAndStaysOnTheTerminal: at 80x24 a report with many next steps keeps
// its header and scrolls to the last step (none is cut), and what the wizard leaves on
// the terminal after the UI closes has them all (issue 17, item 7).
func TestReportScrollsAndStaysOnTheTerminal(t *testing.T) {
	s := newState(fakeEnv(&fakeRunner{}, map[string]string{}), mustDemo(t), "plan.yaml")
	s.saved = "plan.yaml"
	rep, _ := (&fakeRunner{}).Run(context.Background(), s.plan, strategies.RunOptions{})
	for i := 1; i <= 12; i++ {
		rep.NextSteps = append(rep.NextSteps, fmt.Sprintf("step number %d of the run", i))
	}
	m := newModel(context.Background(), s, newStyles(true))
	m.run.report = rep
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.enter(stepReport)
	last := "replay in CI"
	if strings.Contains(m.View(), last) {
		t.Fatalf("the report fits 80x24; the test needs a taller one")
	}
	for i := 0; i < 50 && m.report.ScrollPercent() < 1; i++ {
		m.Update(tea.KeyMsg{Type: tea.KeyPgDown})
	}
	view := m.View()
	if !strings.Contains(view, last) || !strings.HasPrefix(view, "cutover · Report") {
		t.Errorf("scrolled to the end, the report lacks %q or its header:\n%s", last, view)
	}
	if h := lipgloss.Height(strings.TrimRight(view, "\n")); h > 24 {
		t.Errorf("the report screen is %d lines, want at most 24", h)
	}
	var out bytes.Buffer
	s.printResults(&out, true, &m.run, 80)
	for _, want := range []string{"plan saved: plan.yaml", "step number 1 of", "step number 12 of", "cutover rehearse --plan plan.yaml"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("left on the terminal: lacks %q:\n%s", want, out.String())
		}
	}
}

// TestEscGoesBack: Esc on the welcome screen stays there (it went forward), and on the
// preview it goes back to the mapping, as its help line says (issue 17, item 11).
func TestEscGoesBack(t *testing.T) {
	s := newState(fakeEnv(&fakeRunner{}, map[string]string{}), mustDemo(t), "plan.yaml")
	m := newModel(context.Background(), s, newStyles(true))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	m.enter(stepWelcome)
	// The welcome note takes Esc as Next: the key must not reach the form (the tmux
	// script checks the screen).
	if _, handled := m.key(tea.KeyMsg{Type: tea.KeyEsc}); !handled || m.step != stepWelcome {
		t.Errorf("Esc on the welcome screen: handled %v, step %s; want it kept from the form, on Welcome", handled, m.step)
	}
	m.history = []stepID{stepWelcome, stepStrategy, stepSourceKind, stepConnection, stepTable, stepMapping, stepPassword}
	m.s.preview = &PreviewResult{}
	m.step = stepPreview
	m.Update(tea.KeyMsg{Type: tea.KeyEsc})
	if m.step != stepMapping {
		t.Errorf("Esc on the preview: got step %s, want Mapping", m.step)
	}
}

// TestPreviewShowsLockouts: the preview says who keeps their password at the plan's
// target, and with room at the other targets too (issues 16 and 19).
func TestPreviewShowsLockouts(t *testing.T) {
	r := demoPreview()
	r.Lockouts = []string{"Ory Kratos (this plan's target): 783 of 985 keep their password", "Authgear: 379 of 985 keep their password"}
	short := previewSummary(newStyles(true), &r, 80, 24)
	if !strings.Contains(short, "Lockouts: Ory Kratos (this plan's target): 783 of 985") || strings.Contains(short, "Authgear: 379") {
		t.Errorf("80x24 preview: want the plan's target's line only; got:\n%s", short)
	}
	tall := previewSummary(newStyles(true), &r, 120, 40)
	if !strings.Contains(tall, "Lockouts: Authgear: 379 of 985") {
		t.Errorf("120x40 preview: want every target's line; got:\n%s", tall)
	}
}
