package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/muesli/termenv"

	"github.com/cutover/cutover/strategies"
)

// DefaultPlanFile is where the wizard offers to save a new plan.
const DefaultPlanFile = "cutover-plan.yaml"

// Options choose how the wizard talks to the user.
type Options struct {
	In         io.Reader // keys or, in accessible mode, answers
	Out        io.Writer // the UI; stderr in cutover
	Accessible bool      // plain prompts for screen readers and scripts
	NoColor    bool      // NO_COLOR: no colours, same layout
	// Plan prefills every answer (`cutover wizard --plan F`); nil starts from Env.DemoPlan.
	Plan *strategies.Plan
	// PlanFile is where the plan is offered to be saved; Plan.File or DefaultPlanFile when empty.
	PlanFile string
	// ProgramOptions are extra bubbletea options (tests set the window size and input).
	ProgramOptions []tea.ProgramOption
	// Results receives what stays on the terminal after the wizard: where the plan was
	// saved and, after a run in the full-screen UI (whose alternate screen vanishes on
	// exit), the report and its next steps. stdout in cutover; nil writes nothing.
	Results io.Writer
}

// Result is what the wizard produced.
type Result struct {
	Plan   *strategies.Plan   // the plan as answered (secrets as ${VAR} references)
	Saved  string             // where it was saved; empty when it was not
	Report *strategies.Report // the run's report; nil when nothing ran
	Notes  []string           // what the user must do before replaying the plan
}

// Run walks the user through the cutover and returns what was decided and done. The
// error is the run's, or a *strategies.Error with CodeCancelled when the user stopped.
func Run(ctx context.Context, env Env, opts Options) (*Result, error) {
	earlier, unreadable := earlierPlan(env, opts)
	if earlier != nil {
		if env.DemoPlan != nil {
			_, _ = env.DemoPlan() // (re)writes the demo data the earlier plan may read
		}
		opts.Plan, opts.PlanFile = earlier, DefaultPlanFile
	}
	p, err := startPlan(env, opts.Plan)
	if err != nil {
		return nil, err
	}
	path := opts.PlanFile
	if path == "" {
		path = p.File
	}
	if path == "" {
		path = DefaultPlanFile
	}
	s := newState(env, p, path)
	s.fromDemo = opts.Plan == nil && env.DemoPlan != nil
	s.earlier = earlier != nil
	s.unreadable = unreadable
	r := lipgloss.NewRenderer(opts.Out)
	if opts.NoColor {
		r.SetColorProfile(termenv.Ascii)
	}
	st := stylesFor(r, opts.NoColor)
	res := func() *Result { return &Result{Plan: s.plan, Saved: s.saved, Report: s.report, Notes: s.notes} }

	if opts.Accessible {
		err := runAccessible(ctx, s, opts.In, opts.Out, st)
		s.printResults(opts.Results, opts.NoColor, nil, 0)
		return res(), err
	}

	m := newModel(ctx, s, st)
	popts := append([]tea.ProgramOption{tea.WithContext(ctx)}, opts.ProgramOptions...)
	if opts.In != nil {
		popts = append(popts, tea.WithInput(opts.In))
	}
	if opts.Out != nil {
		popts = append(popts, tea.WithOutput(opts.Out))
	}
	popts = append(popts, tea.WithAltScreen())
	final, err := tea.NewProgram(m, popts...).Run()
	if fm, ok := final.(*model); ok {
		m = fm
	}
	if m.step == stepReport || m.step == stepDone {
		s.printResults(opts.Results, opts.NoColor, &m.run, m.width)
	}
	if err != nil {
		if ctx.Err() != nil {
			return res(), cancelled(ctx.Err(), s.stopMessage(m.step == stepRun))
		}
		return res(), fmt.Errorf("wizard: %w", err)
	}
	if m.abandoned {
		return res(), &strategies.Error{Code: strategies.CodeCancelled, Message: "the wizard was closed; nothing was run"}
	}
	if m.run.err != nil {
		return res(), m.run.err
	}
	return res(), nil
}

// earlierPlan loads the plan an earlier walk saved in DefaultPlanFile when the wizard is
// started without one. A file there that is not a plan is reported (unreadable), so that
// it is not overwritten without a word.
func earlierPlan(env Env, opts Options) (p *strategies.Plan, unreadable error) {
	if opts.Plan != nil || opts.PlanFile != "" || env.LoadPlan == nil {
		return nil, nil
	}
	p, err := env.LoadPlan(DefaultPlanFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return p, err
}

// printResults leaves on the terminal where the plan was saved and, when the
// full-screen UI showed a report (run is not nil), that report at the terminal's width.
func (s *state) printResults(w io.Writer, noColor bool, run *runScreen, width int) {
	if w == nil || s.saved == "" {
		return
	}
	fmt.Fprintf(w, "plan saved: %s\n", s.saved)
	if run == nil || s.report == nil && run.err == nil {
		for _, n := range s.notes {
			fmt.Fprintln(w, n)
		}
		return
	}
	st := stylesFor(lipgloss.NewRenderer(w), noColor)
	fmt.Fprint(w, "\n"+reportView(st, s.outcome(run.err), width, 0))
}

// startPlan copies the plan to start from (never the caller's), or takes the demo defaults.
func startPlan(env Env, p *strategies.Plan) (*strategies.Plan, error) {
	if p != nil {
		c := *p
		return &c, nil
	}
	if env.DemoPlan != nil {
		d, err := env.DemoPlan()
		if err != nil {
			return nil, fmt.Errorf("prepare the demo plan: %w", err)
		}
		return d, nil
	}
	return &strategies.Plan{Version: strategies.PlanVersion, Strategy: strategies.StrategyBulk,
		Source: strategies.SourceSpec{Kind: strategies.SourceSQLite}, Target: strategies.Target{Kind: strategies.TargetMockIDP}}, nil
}
