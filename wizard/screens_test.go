package wizard

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
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
			for _, want := range []string{"ada@example.com", "invalid_email", "not importable", "lazy: 2 of 3"} {
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
	h := &runHarness{r: runScreen{st: newStyles(true), width: 80, strategy: "bulk", planFile: "plan.yaml"}, runner: runner}
	tm := teatest.NewTestModel(t, h, teatest.WithInitialTermSize(80, 24))
	waitFor(t, tm, "ETA 2s")
	tm.Send(tea.KeyMsg{Type: tea.KeyCtrlC})
	waitFor(t, tm, "Stop the run?")
	tm.Send(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("y")})
	final := tm.FinalModel(t, teatest.WithFinalTimeout(30*time.Second)).(*runHarness)
	if got := strategies.CodeOf(final.r.err); got != strategies.CodeCancelled {
		t.Errorf("run error code: got %q (%v), want %q", got, final.r.err, strategies.CodeCancelled)
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
