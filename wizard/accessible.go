package wizard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing/iotest"
	"time"

	"github.com/charmbracelet/huh"

	"github.com/cutover/cutover/strategies"
)

// maxRetries bounds how often accessible mode asks a step again after its check failed,
// so a script that keeps giving the same wrong answer ends with that error.
const maxRetries = 3

// eofReader remembers that its input ended: accessible huh fields then take defaults
// silently, and a failing step must not be asked forever.
type eofReader struct {
	r   io.Reader
	eof bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		e.eof = true
	}
	return n, err
}

// runAccessible asks every question as plain prompts, one line each, for screen readers
// and scripts: no redrawing, no cursor movement. It reads one byte at a time because each
// huh field buffers its own reader.
func runAccessible(ctx context.Context, s *state, in io.Reader, out io.Writer, st styles) error {
	r := &eofReader{r: iotest.OneByteReader(in)}
	theme := huh.ThemeBase()
	step, failures := stepWelcome, 0
	for step < stepDone {
		if err := ctx.Err(); err != nil {
			return cancelled(err, s.stopMessage(false))
		}
		fmt.Fprintf(out, "\n== %s ==\n", step)
		switch step {
		case stepPreview:
			back, err := accessiblePreview(ctx, s, r, out, st, theme)
			if err != nil {
				return err
			}
			if back {
				step = stepMapping
			} else {
				step = s.next(step)
			}
			continue
		case stepRun:
			if err := accessibleRun(ctx, s, out); err != nil {
				return err
			}
			step = stepReport
			continue
		case stepReport:
			fmt.Fprint(out, reportView(st, s.outcome(nil), 100, 0))
			step = stepDone
			continue
		}
		form := s.form(step).WithTheme(theme).WithAccessible(true).WithInput(r).WithOutput(out)
		if err := form.RunWithContext(ctx); err != nil {
			if ctx.Err() != nil || errors.Is(err, huh.ErrUserAborted) {
				return cancelled(err, s.stopMessage(false))
			}
			return fmt.Errorf("%s: %w", step, err)
		}
		if step == stepMapping && s.mapChoice == mapEdit {
			f := s.mappingEditForm().WithTheme(theme).WithAccessible(true).WithInput(r).WithOutput(out)
			if err := f.RunWithContext(ctx); err != nil {
				return fmt.Errorf("%s: %w", step, err)
			}
		}
		info, err := s.leave(ctx, step)
		if info != "" {
			fmt.Fprintln(out, info)
		}
		if err != nil {
			fmt.Fprintf(out, "Error: %v\n", err)
			failures++
			if r.eof || failures > maxRetries {
				return fmt.Errorf("%s: %w", step, err)
			}
			continue
		}
		failures = 0
		step = s.next(step)
	}
	if s.report == nil { // the report ends with them
		for _, n := range s.notes {
			fmt.Fprintln(out, n)
		}
	}
	return nil
}

// accessiblePreview prints the preview as text and asks whether to go on.
func accessiblePreview(ctx context.Context, s *state, r io.Reader, out io.Writer, st styles, theme *huh.Theme) (back bool, err error) {
	if s.env.Preview == nil {
		return false, errUnavailable("the preview")
	}
	fmt.Fprintln(out, "Reading the first rows and running the preflight over the whole source…")
	var last time.Time
	res, err := s.env.Preview(ctx, s.plan, previewRows, func(p strategies.Progress) {
		// A line every few seconds for big sources; the demo is done before the first.
		if time.Since(last) < 3*time.Second {
			return
		}
		if !last.IsZero() || p.Done > 0 {
			fmt.Fprintf(out, "preflight: %s rows checked\n", strategies.GroupDigits(p.Done))
		}
		last = time.Now()
	})
	if err != nil {
		return false, fmt.Errorf("preview: %w", err)
	}
	s.preview = &res
	fmt.Fprintln(out, previewText(&res))
	choice := "continue"
	f := huh.NewForm(huh.NewGroup(huh.NewSelect[string]().
		Title("Go on?").
		Options(huh.NewOption("continue to the target", "continue"), huh.NewOption("back to the mapping", "back")).
		Value(&choice))).WithTheme(theme).WithAccessible(true).WithInput(r).WithOutput(out)
	if err := f.RunWithContext(ctx); err != nil {
		return false, fmt.Errorf("preview: %w", err)
	}
	return choice == "back", nil
}

// accessibleRun runs the plan and prints a progress line at each phase change and
// every tenth of the way.
func accessibleRun(ctx context.Context, s *state, out io.Writer) error {
	if s.env.Runner == nil {
		return errUnavailable("running a plan")
	}
	var (
		mu        sync.Mutex
		lastPhase string
		lastTenth int64 = -1
	)
	onProgress := func(p strategies.Progress) {
		mu.Lock()
		defer mu.Unlock()
		tenth := int64(-1)
		if p.Total > 0 {
			tenth = p.Done * 10 / p.Total
		}
		if p.Phase == lastPhase && tenth == lastTenth {
			return
		}
		lastPhase, lastTenth = p.Phase, tenth
		line := fmt.Sprintf("%s: %s rows done", p.Phase, strategies.GroupDigits(p.Done))
		if p.Total > 0 {
			line = fmt.Sprintf("%s: %s of %s rows (%d%%)", p.Phase, strategies.GroupDigits(p.Done), strategies.GroupDigits(p.Total), p.Done*100/p.Total)
		}
		fmt.Fprintln(out, line)
	}
	rep, err := s.env.Runner.Run(ctx, s.plan, strategies.RunOptions{Progress: onProgress})
	s.report = rep
	if err != nil {
		if ctx.Err() != nil {
			return cancelled(err, s.stopMessage(true))
		}
		return fmt.Errorf("run: %w", err)
	}
	return nil
}

// cancelled marks an interruption so cmd/cutover exits with 130.
func cancelled(err error, msg string) error {
	return &strategies.Error{Code: strategies.CodeCancelled, Message: msg, Err: err}
}

// stopMessage says what a stop left behind: nothing before the run; during it, a run
// to resume or a rehearsal that kept nothing.
func (s *state) stopMessage(running bool) string {
	switch {
	case !running && s.saved != "":
		return "stopped before the run; the plan is saved: run it with 'cutover run --plan " + s.saved + "'"
	case !running:
		return "stopped before anything ran; nothing was written"
	case !s.resumable():
		return "stopped; nothing of the rehearsal was kept: rehearse again with 'cutover rehearse --plan " + cmpOr(s.saved, "FILE") + "'"
	}
	return "stopped; resume the run with 'cutover run --plan " + cmpOr(s.saved, "FILE") + " --resume'"
}

// previewText is the preview as lines of text for a screen reader: each row as
// "field: value" pairs, uncut; the reasons, the formats with counts, the recommendation.
func previewText(r *PreviewResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "The first %d mapped rows:\n", len(r.Rows))
	for _, row := range r.Rows {
		var parts []string
		for i, c := range r.Columns {
			if i < len(row) && row[i] != "" {
				parts = append(parts, c+": "+row[i])
			}
		}
		b.WriteString("  " + strings.Join(parts, ", ") + "\n")
	}
	bad := 0
	for _, n := range r.Invalid {
		bad += n
	}
	if bad == 0 {
		fmt.Fprintf(&b, "Validation: every row is valid (%s rows read).\n", strategies.GroupDigits(r.Total))
	} else {
		fmt.Fprintf(&b, "Validation: %s invalid rows of %s read.\n", strategies.GroupDigits(int64(bad)), strategies.GroupDigits(r.Total))
		for _, k := range sortedKeys(r.Invalid) {
			fmt.Fprintf(&b, "  %s: %s\n", k, strategies.GroupDigits(int64(r.Invalid[k])))
		}
		for i, e := range r.Examples {
			if i == 3 {
				break
			}
			fmt.Fprintf(&b, "  for example row %d, %s: %s\n", e.Row, e.Reason, e.Detail)
		}
	}
	if len(r.Formats) > 0 {
		b.WriteString("Password formats:\n")
		for _, f := range r.Formats {
			can := "importable"
			if !f.Importable {
				can = "not importable"
			}
			fmt.Fprintf(&b, "  %s: %s, %s\n", f.Format, strategies.GroupDigits(int64(f.Count)), can)
		}
	}
	if r.Recommendation != "" {
		b.WriteString("Recommendation: " + r.Recommendation + "\n")
	}
	return b.String()
}
