package wizard

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/charmbracelet/bubbles/spinner"
	"github.com/charmbracelet/bubbles/table"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/huh"
	"github.com/charmbracelet/lipgloss"

	"github.com/cutover/cutover/strategies"
)

// Messages the TUI sends itself when engine calls finish.
type (
	leftMsg struct {
		step stepID
		info string
		err  error
	}
	previewMsg struct {
		r   PreviewResult
		err error
	}
	// progressMsg is the newest snapshot, with every phase finished before it (the
	// snapshots in between are dropped, the phases are not).
	progressMsg struct {
		p    strategies.Progress
		past []string
	}
	runDoneMsg struct {
		report *strategies.Report
		err    error
	}
)

// model is the full-screen wizard: one huh form per question step, and custom screens
// for the preview, the run and the report. Esc goes back a step.
type model struct {
	ctx     context.Context
	s       *state
	st      styles
	theme   *huh.Theme
	step    stepID
	history []stepID
	form    *huh.Form
	width   int
	height  int
	formH   int // the height the form was last given

	busy         string    // what the spinner says while an engine call runs
	busyProgress *liveText // how far the engine call is, updated from its goroutine
	spin         spinner.Model
	info         string
	errText      string

	table      table.Model    // preview rows, scrollable
	report     viewport.Model // the report, scrollable when taller than the screen
	reportText string

	run runScreen

	abandoned bool
}

func newModel(ctx context.Context, s *state, st styles) *model {
	s.tui = true
	theme := huh.ThemeCharm()
	if st.noColor {
		theme = plainTheme()
	}
	return &model{ctx: ctx, s: s, st: st, theme: theme, width: 80, height: 24,
		spin: spinner.New(spinner.WithSpinner(spinner.Dot)), busyProgress: &liveText{},
		run: runScreen{st: st, width: 80}}
}

// plainTheme is huh's base theme with every choice visible without colour (NO_COLOR):
// the chosen button of a yes/no question in brackets, "[Yes]  No ", where the base
// theme tells them apart by colour alone.
func plainTheme() *huh.Theme {
	t := huh.ThemeBase()
	on := func(s string) string { return "[" + s + "]" }
	off := func(s string) string { return " " + s + " " }
	for _, fs := range []*huh.FieldStyles{&t.Focused, &t.Blurred} {
		fs.FocusedButton = fs.FocusedButton.UnsetForeground().UnsetBackground().Transform(on)
		fs.BlurredButton = fs.BlurredButton.UnsetForeground().UnsetBackground().Transform(off)
		fs.TextInput.Placeholder = fs.TextInput.Placeholder.UnsetForeground().Faint(true)
	}
	return t
}

// Init opens the first step.
func (m *model) Init() tea.Cmd { return m.enter(stepWelcome) }

// enter shows a step: builds its form or starts its engine call.
func (m *model) enter(id stepID) tea.Cmd {
	m.step = id
	m.form = nil
	switch id {
	case stepDone:
		return tea.Quit
	case stepPreview:
		if m.s.env.Preview == nil {
			m.errText = errUnavailable("the preview").Error()
			return nil
		}
		m.busy = "Reading the first rows and running the preflight…"
		ctx, p, prog := m.ctx, m.s.plan, m.busyProgress
		prog.set("")
		return tea.Batch(m.spin.Tick, func() tea.Msg {
			r, err := m.s.env.Preview(ctx, p, previewRows, func(pr strategies.Progress) {
				if pr.Total > 0 {
					prog.set(fmt.Sprintf("%s of %s rows checked", strategies.GroupDigits(pr.Done), strategies.GroupDigits(pr.Total)))
				} else {
					prog.set(fmt.Sprintf("%s rows checked", strategies.GroupDigits(pr.Done)))
				}
			})
			return previewMsg{r, err}
		})
	case stepRun:
		if m.s.env.Runner == nil {
			m.errText = errUnavailable("running a plan").Error()
			return nil
		}
		m.run = runScreen{st: m.st, width: m.width, strategy: m.s.plan.Strategy, planFile: m.s.saved, resumable: m.s.resumable()}
		return m.run.start(m.ctx, m.s.env.Runner, m.s.plan)
	case stepReport:
		if m.run.report != nil {
			m.s.report = m.run.report
		}
		m.report = viewport.New(m.width, max(3, m.height-5)) // the header, the help and their blank lines
		m.reportText = strings.TrimRight(reportView(m.st, m.s.outcome(m.run.err), m.width, m.height), "\n")
		m.report.SetContent(m.reportText)
		return nil
	}
	m.formH = m.formHeight()
	m.s.noteRows = m.formH - 4 // the form's height less the note's title and help
	m.form = m.s.form(id).
		WithTheme(m.theme).
		WithShowHelp(true).
		WithWidth(m.width).
		WithHeight(m.formH)
	return m.form.Init()
}

// formHeight is what a form may take: the screen less the header, the footer and the
// info and error lines under it, so that a long note never pushes the header off.
func (m *model) formHeight() int {
	extra := 0
	if m.info != "" {
		extra += lipgloss.Height(wrap(m.info, max(20, m.width-2)))
	}
	if m.errText != "" {
		extra += lipgloss.Height(wrap(m.errText, max(20, m.width-2)))
	}
	return max(8, m.height-6-extra)
}

// Update routes keys and engine results, then fits the form to what is left of the
// screen (a message may have changed the size or the lines under the form).
func (m *model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := m.update(msg)
	if m.form != nil {
		if h := m.formHeight(); h != m.formH {
			m.formH = h
			m.form = m.form.WithHeight(h)
		}
	}
	return next, cmd
}

func (m *model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.run.width = msg.Width
		if m.step == stepReport {
			m.enter(stepReport)
		}
		if m.s.preview != nil {
			m.table = previewTable(m.st, m.s.preview, m.width, m.previewTableHeight())
		}
		if m.form != nil {
			m.formH = m.formHeight()
			m.form = m.form.WithWidth(m.width).WithHeight(m.formH)
		}
	case tea.KeyMsg:
		if cmd, handled := m.key(msg); handled {
			return m, cmd
		}
	case spinner.TickMsg:
		if m.busy == "" {
			return m, nil
		}
		var cmd tea.Cmd
		m.spin, cmd = m.spin.Update(msg)
		return m, cmd
	case leftMsg:
		m.busy = ""
		if msg.err != nil {
			m.errText, m.info = msg.err.Error(), msg.info
			return m, m.enter(msg.step) // ask again, answers kept
		}
		m.errText, m.info = "", msg.info
		m.history = append(m.history, msg.step)
		return m, m.enter(m.s.next(msg.step))
	case previewMsg:
		m.busy = ""
		if msg.err != nil {
			m.errText = fmt.Sprintf("preview: %v", msg.err)
			return m, nil
		}
		m.s.preview = &msg.r
		m.table = previewTable(m.st, m.s.preview, m.width, m.previewTableHeight())
		return m, nil
	case progressMsg, runDoneMsg:
		var cmd tea.Cmd
		m.run, cmd = m.run.Update(msg)
		if m.run.done {
			m.s.report = m.run.report
			m.history = append(m.history, stepRun)
			return m, m.enter(stepReport)
		}
		return m, cmd
	}
	if m.form != nil && m.busy == "" {
		f, cmd := m.form.Update(msg)
		if hf, ok := f.(*huh.Form); ok {
			m.form = hf
		}
		switch m.form.State {
		case huh.StateCompleted:
			return m, m.leave(m.step)
		case huh.StateAborted:
			m.abandoned = true
			return m, tea.Quit
		}
		return m, cmd
	}
	return m, nil
}

// key handles the keys the wizard owns; the rest go to the form or table.
func (m *model) key(k tea.KeyMsg) (tea.Cmd, bool) {
	if m.step == stepRun {
		var cmd tea.Cmd
		m.run, cmd = m.run.Update(k)
		return cmd, true
	}
	switch k.String() {
	case "ctrl+c":
		m.abandoned = true
		return tea.Quit, true
	case "esc":
		if m.step == stepReport {
			return nil, false
		}
		if m.busy != "" || len(m.history) == 0 {
			return nil, true // nothing to go back to: not a key for the form (a note takes it as Next)
		}
		prev := m.history[len(m.history)-1]
		m.history = m.history[:len(m.history)-1]
		// The preview's Esc goes back to the mapping it shows, past the password step.
		for m.step == stepPreview && prev != stepMapping && slices.Contains(m.history, stepMapping) {
			prev = m.history[len(m.history)-1]
			m.history = m.history[:len(m.history)-1]
		}
		m.errText, m.info = "", ""
		return m.enter(prev), true
	}
	if m.busy != "" {
		return nil, true
	}
	switch m.step {
	case stepPreview:
		switch k.String() {
		case "enter":
			if m.s.preview == nil {
				return nil, true
			}
			m.history = append(m.history, stepPreview)
			m.errText, m.info = "", ""
			return m.enter(m.s.next(stepPreview)), true
		case "r":
			if m.s.preview == nil {
				return m.enter(stepPreview), true
			}
		}
		var cmd tea.Cmd
		m.table, cmd = m.table.Update(k)
		markCursor(&m.table)
		return cmd, true
	case stepReport:
		if s := k.String(); s == "enter" || s == "q" {
			return m.enter(stepDone), true
		}
		var cmd tea.Cmd
		m.report, cmd = m.report.Update(k)
		return cmd, true
	}
	return nil, false
}

// leave runs the step's engine call off the UI loop.
func (m *model) leave(id stepID) tea.Cmd {
	m.busy = "Checking…"
	switch id {
	case stepConnection:
		m.busy = "Testing the connection…"
	case stepTable:
		m.busy = "Reading the columns…"
	case stepTargetDetail:
		m.busy = "Checking the target…"
	case stepReview:
		m.busy = "Saving the plan…"
	}
	ctx, s := m.ctx, m.s
	return tea.Batch(m.spin.Tick, func() tea.Msg {
		info, err := s.leave(ctx, id)
		return leftMsg{id, info, err}
	})
}

func (m *model) previewTableHeight() int { return max(3, m.height-12) }

// View draws the header, the step and the footer.
func (m *model) View() string {
	var b strings.Builder
	head := m.st.title.Render("cutover") + m.st.faint.Render(fmt.Sprintf(" · %s", m.step))
	if m.step < stepDone {
		n, total := m.s.position(m.step)
		head += m.st.faint.Render(fmt.Sprintf(" · step %d of %d", n, total))
	}
	b.WriteString(head + "\n\n")
	switch {
	case m.busy != "":
		b.WriteString(m.spin.View() + " " + m.busy + "\n")
		if p := m.busyProgress.get(); p != "" {
			b.WriteString("  " + m.st.faint.Render(p) + "\n")
		}
	case m.step == stepPreview && m.s.preview != nil:
		bottom := previewSummary(m.st, m.s.preview, m.width, m.height)
		// Header (2), the blank line under the table (1) and the key help (2) around it.
		m.table.SetHeight(min(len(m.s.preview.Rows)+2, max(4, m.height-lipgloss.Height(bottom)-6)))
		b.WriteString(m.table.View() + "\n\n" + bottom + "\n")
		b.WriteString(m.st.faint.Render("↑/↓ scroll · enter: continue · esc: back to the mapping") + "\n")
	case m.step == stepRun:
		b.WriteString(m.run.View())
	case m.step == stepReport:
		help, body := "enter: quit (the report stays on the terminal)", m.reportText
		if m.report.TotalLineCount() > m.report.Height {
			help = fmt.Sprintf("↑/↓ scroll (%d%%) · ", int(m.report.ScrollPercent()*100)) + help
			body = m.report.View()
		}
		b.WriteString(body + "\n\n" + m.st.faint.Render(help) + "\n")
	case m.form != nil:
		b.WriteString(m.form.View())
		b.WriteString("\n" + m.st.faint.Render("esc: back a step · ctrl+c: quit") + "\n")
	}
	if m.info != "" && m.step != stepRun && m.step != stepReport {
		b.WriteString(m.st.ok.Render(wrap(m.info, max(20, m.width-2))) + "\n")
	}
	if m.errText != "" {
		b.WriteString(m.st.bad.Render(wrap(m.errText, max(20, m.width-2))) + "\n")
	}
	return b.String()
}

// runScreen is the run step: it starts the runner, shows its progress and asks before
// stopping it. It is a model of its own so it can be tested alone.
type runScreen struct {
	st       styles
	width    int
	strategy string
	planFile string
	// resumable: a run that `cutover run --resume` continues; a lazy rehearsal is not.
	resumable bool
	past      []string // the phases done, one line each

	progress   strategies.Progress
	progCh     chan progressMsg
	doneCh     chan runDoneMsg
	cancel     context.CancelFunc
	confirming bool
	stopping   bool

	done   bool
	report *strategies.Report
	err    error
}

// start runs the plan in the background; progress arrives as messages.
func (r *runScreen) start(ctx context.Context, runner strategies.Runner, p *strategies.Plan) tea.Cmd {
	ctx, r.cancel = context.WithCancel(ctx)
	r.progCh = make(chan progressMsg, 1)
	r.doneCh = make(chan runDoneMsg, 1)
	progCh, doneCh := r.progCh, r.doneCh
	var (
		mu   sync.Mutex
		last strategies.Progress
		past []string
	)
	onProgress := func(pr strategies.Progress) {
		pr.Counts = maps.Clone(pr.Counts)
		pr.LastErrors = slices.Clone(pr.LastErrors)
		mu.Lock()
		if last.Phase != "" && last.Phase != pr.Phase {
			past = append(past, phaseDone(last))
		}
		last = pr
		msg := progressMsg{p: pr, past: slices.Clone(past)}
		mu.Unlock()
		for { // keep only the newest snapshot
			select {
			case progCh <- msg:
				return
			default:
			}
			select {
			case <-progCh:
			default:
			}
		}
	}
	go func() {
		rep, err := runner.Run(ctx, p, strategies.RunOptions{Progress: onProgress})
		doneCh <- runDoneMsg{rep, err}
	}()
	return r.wait()
}

// wait delivers the next progress snapshot or the end of the run.
func (r *runScreen) wait() tea.Cmd {
	progCh, doneCh := r.progCh, r.doneCh
	return func() tea.Msg {
		select {
		case p := <-progCh:
			return p
		case d := <-doneCh:
			return d
		}
	}
}

// Update handles progress, the end of the run and the Ctrl+C confirmation.
func (r runScreen) Update(msg tea.Msg) (runScreen, tea.Cmd) {
	switch msg := msg.(type) {
	case progressMsg:
		r.progress, r.past = msg.p, msg.past
		return r, r.wait()
	case runDoneMsg:
		r.done, r.report, r.err = true, msg.report, msg.err
		if r.cancel != nil {
			r.cancel()
		}
		if r.err != nil && r.stopping && strategies.CodeOf(r.err) == "" {
			// What the stop left behind, not how the engine noticed it ("read tracking
			// store /tmp/...: context canceled").
			msg := "stopped at your request; resume with 'cutover run --plan " + cmpOr(r.planFile, "FILE") + " --resume'"
			if !r.resumable {
				msg = "stopped at your request; nothing of the rehearsal was kept"
			}
			r.err = &strategies.Error{Code: strategies.CodeCancelled, Message: msg}
		}
		return r, nil
	case tea.KeyMsg:
		switch s := msg.String(); {
		case r.confirming && (s == "y" || s == "Y" || s == "ctrl+c"):
			r.confirming, r.stopping = false, true
			if r.cancel != nil {
				r.cancel()
			}
		case r.confirming && (s == "n" || s == "N" || s == "esc"):
			r.confirming = false
		case s == "ctrl+c" && !r.stopping:
			r.confirming = true
		}
	case tea.WindowSizeMsg:
		r.width = msg.Width
	}
	return r, nil
}

// View draws the progress, or the stop confirmation over it.
func (r runScreen) View() string {
	v := runView(r.st, r.strategy, r.progress, r.past, r.width, r.stopping, r.resumable)
	if r.confirming {
		v += "\n" + confirmStopView(r.st, r.planFile, r.resumable) + "\n"
	}
	return v
}

// liveText is a line an engine call's goroutine updates and View reads (the spinner's
// ticks redraw it), e.g. the preflight's progress over a big source.
type liveText struct {
	mu sync.Mutex
	s  string
}

func (l *liveText) set(s string) {
	l.mu.Lock()
	l.s = s
	l.mu.Unlock()
}

func (l *liveText) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s
}
