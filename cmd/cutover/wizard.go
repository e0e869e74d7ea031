package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"github.com/muesli/termenv"
	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/mapping"
	"github.com/cutover/cutover/strategies/preflight"
	"github.com/cutover/cutover/strategies/rehearse"
	"github.com/cutover/cutover/strategies/sources"
	"github.com/cutover/cutover/strategies/sources/demo"
	"github.com/cutover/cutover/wizard"
)

// wizardFlags are the wizard's options.
type wizardFlags struct {
	plan       string
	accessible bool
}

func newWizardCmd(a *app) *cobra.Command {
	var f wizardFlags
	cmd := &cobra.Command{
		Use:   "wizard",
		Short: "Open the wizard: choose a strategy, map fields, preview, run, save a plan",
		Long: `The wizard walks you through a cutover: the strategy (bulk, lazy or authonly),
the legacy source and its connection, the field mapping, a preview of real rows with
validation and a password-format histogram, the target IdP and the options. It saves
the answers as a plan that 'cutover run --plan FILE' replays in CI, runs it with live
progress and ends with a reconciled report.

With no flags it starts on the bundled demo database and an in-process mock IdP, so
pressing Enter all the way is a safe rehearsal. Esc goes back a step; Ctrl+C during a
run asks before stopping, and a stopped run can be resumed.

The wizard needs a terminal (it draws on stderr). For screen readers and scripts use
--accessible (or ACCESSIBLE=1): plain prompts, one per line, read from stdin.
NO_COLOR turns colours off.`,
		Example: `  cutover                                   # the wizard on the demo data
  cutover wizard --plan plan.yaml           # start from a saved plan, every answer prefilled
  ACCESSIBLE=1 cutover wizard               # plain prompts for a screen reader
  cutover run --plan plan.yaml              # no terminal: replay a saved plan instead`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWizard(cmd.Context(), a, f)
		},
	}
	cmd.Flags().StringVar(&f.plan, "plan", "", "start from this saved plan and save back to it")
	cmd.Flags().BoolVar(&f.accessible, "accessible", false, "plain prompts for screen readers (also ACCESSIBLE=1)")
	return cmd
}

func runWizard(ctx context.Context, a *app, f wizardFlags) error {
	accessible := f.accessible || os.Getenv("ACCESSIBLE") != ""
	if !accessible && !(isTerminal(a.stdin) && isTerminal(a.stderr)) {
		return usagef("the wizard needs a terminal; to run without one, save a plan with the wizard (or write one, see README.md) and run 'cutover run --plan FILE', or use 'cutover wizard --accessible' for plain prompts")
	}
	noColor := os.Getenv("NO_COLOR") != ""
	if noColor {
		// Everything the wizard draws goes through lipgloss's default renderer.
		lipgloss.SetColorProfile(termenv.Ascii)
	} else {
		lipgloss.SetDefaultRenderer(lipgloss.NewRenderer(a.stderr))
	}
	opts := wizard.Options{In: a.stdin, Out: a.stderr, Accessible: accessible, NoColor: noColor, PlanFile: f.plan}
	if f.plan != "" {
		p, err := strategies.LoadPlan(f.plan)
		if err != nil {
			return err
		}
		opts.Plan = p
	}
	// Log lines on stderr would tear the full-screen wizard; plain prompts can take warnings.
	log := slog.New(slog.DiscardHandler)
	if accessible {
		log = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	res, err := wizard.Run(ctx, engineEnv(a, log), opts)
	if res != nil && res.Saved != "" {
		fmt.Fprintf(a.stdout, "plan saved: %s\n", res.Saved)
		for _, n := range res.Notes {
			fmt.Fprintln(a.stdout, n)
		}
	}
	if err != nil {
		return err
	}
	if res != nil && res.Report != nil {
		if res.Report.Failed > 0 || !res.Report.Reconciles() {
			return exitError{exitPartial, fmt.Errorf("%d row(s) failed; see %s", res.Report.Failed, res.Report.RunDir)}
		}
	}
	return nil
}

func isTerminal(v any) bool {
	f, ok := v.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// engineEnv wires the wizard to the engine. log receives the engine's log lines; the
// full-screen wizard passes a discarding logger, since lines on stderr would tear its screen.
func engineEnv(a *app, log *slog.Logger) wizard.Env {
	return wizard.Env{
		Probe:       probeSource,
		Suggest:     suggestMapping,
		Preview:     previewSource,
		CheckTarget: checkTarget,
		Runner:      &wizardRunner{a: a, log: log},
		SavePlan:    strategies.SavePlan,
		DemoPlan:    demoPlan,
		DemoNote:    fmt.Sprintf("  demo data        %s (1,000 users)\n  known passwords  %s", filepath.Join(demoDir, demo.DBFile), filepath.Join(demoDir, demo.PasswordsFile)),
	}
}

// probeSource opens the plan's source and describes it: the live "test connection".
func probeSource(ctx context.Context, p *strategies.Plan) (wizard.ProbeResult, error) {
	src, err := sources.Open(ctx, p)
	if err != nil {
		return wizard.ProbeResult{}, err
	}
	defer src.Close()
	r := wizard.ProbeResult{Rows: -1}
	if d, ok := src.(sources.Describer); ok {
		s, err := d.Describe(ctx)
		if err != nil {
			return r, err
		}
		r.Version = s.Version
		if r.Version != "" && r.Version[0] >= '0' && r.Version[0] <= '9' {
			k, _ := strategies.SourceKindOf(p.Source.Kind)
			r.Version = k.Server + " " + r.Version // "3.46.0" says little alone
		}
		for _, t := range s.Tables {
			ti := wizard.TableInfo{Name: t.Name, Rows: t.EstimatedRows}
			for _, c := range t.Columns {
				ti.Columns = append(ti.Columns, c.Name)
			}
			r.Tables = append(r.Tables, ti)
		}
	}
	if c, ok := src.(sources.Counter); ok && !strategies.IsDatabase(p.Source.Kind) {
		if n, _, err := c.Count(ctx); err == nil {
			r.Rows = n
		}
	}
	return r, nil
}

// suggestMapping proposes a mapping from the source's columns and first records.
func suggestMapping(ctx context.Context, p *strategies.Plan) (strategies.Mapping, []string, error) {
	src, err := sources.Open(ctx, p)
	if err != nil {
		return strategies.Mapping{}, nil, err
	}
	defer src.Close()
	var cols []string
	if d, ok := src.(sources.Describer); ok {
		if s, err := d.Describe(ctx); err == nil {
			for _, t := range s.Tables {
				if len(s.Tables) == 1 || t.Name == p.Source.Table {
					for _, c := range t.Columns {
						cols = append(cols, c.Name)
					}
				}
			}
		}
	}
	var samples []sources.Record
	if sm, ok := src.(sources.Sampler); ok {
		if samples, err = sm.Sample(ctx, 20); err != nil {
			return strategies.Mapping{}, nil, fmt.Errorf("read the first records: %w", err)
		}
	}
	if len(cols) == 0 && len(samples) == 0 {
		return strategies.Mapping{}, nil, errors.New("the source has no columns or records to map")
	}
	m := mapping.Suggest(cols, samples)
	if len(cols) == 0 {
		seen := map[string]bool{}
		for _, r := range samples {
			for k := range r.Fields {
				if !seen[k] {
					seen[k] = true
					cols = append(cols, k)
				}
			}
		}
		slices.Sort(cols)
	}
	return m, cols, nil
}

// Demo data: where a fresh checkout's defaults live. The directory is relative to the
// working directory, beside the run records (.cutover/runs) and the in-process mock
// IdP's users (.cutover/mockidp), so one `rm -r .cutover` starts a rehearsal over.
const demoDir = ".cutover/demo"

// demoPlan writes the bundled demo database (and its known passwords) into demoDir,
// fresh on every start, and returns the plan of a fresh checkout: bulk from the demo
// database into the in-process mock IdP. The database path in the plan is absolute, so
// the saved plan finds it wherever it is saved.
func demoPlan() (*strategies.Plan, error) {
	dir, err := filepath.Abs(demoDir)
	if err != nil {
		return nil, fmt.Errorf("demo data: %w", err)
	}
	db, err := demo.Write(dir)
	if err != nil {
		return nil, fmt.Errorf("%w; run cutover from a directory you can write to, or give a plan with 'cutover wizard --plan FILE'", err)
	}
	p := demo.Plan(db)
	// Most demo hashes are formats an Authgear target cannot import: moving those users
	// without a password (they sign in with a code) keeps the default path free of
	// failures; the preview shows the trade-off and the lazy alternative.
	p.Bulk.UnsupportedHash = strategies.UnsupportedWithoutPassword
	return p, nil
}

// previewColumns are the canonical fields the preview table shows, when mapped, in order.
func previewColumns() []string {
	return []string{"legacy_id", "email", "phone_number", "preferred_username", "name", "disabled"}
}

// hashShown is how much of a password hash the preview shows: enough to recognise the
// scheme ($2b$12$…, pbkdf2_sha256$…), never enough to be the hash.
const hashShown = 12

// previewSource maps and validates the first n records for the preview table, then runs
// the preflight over the whole source for the validation summary, the password-format
// histogram and the recommended strategy.
func previewSource(ctx context.Context, p *strategies.Plan, n int, progress func(strategies.Progress)) (wizard.PreviewResult, error) {
	var res wizard.PreviewResult
	if p.Strategy == strategies.StrategyAuthOnly {
		p = authonly.ImportPlan(p) // preview what the run imports: no password fields
	}
	m, err := mapping.New(p, mapping.Options{})
	if err != nil {
		return res, err
	}
	cols := []string{"row"}
	for _, c := range previewColumns() {
		if !mappedField(p, c) {
			continue
		}
		cols = append(cols, c)
	}
	if !p.Mapping.PasswordHash.IsZero() {
		cols = append(cols, "format", "hash")
	}
	cols = append(cols, "problem")
	res.Columns = cols

	src, err := sources.Open(ctx, p)
	if err != nil {
		return res, err
	}
	errEnough := errors.New("enough rows")
	err = src.Read(ctx, "", func(rec sources.Record) error {
		row := make([]string, 0, len(cols))
		var u *strategies.User
		var problems []*strategies.Error
		if rec.Err != nil {
			u = &strategies.User{Row: rec.Row}
			problems = []*strategies.Error{asStrategiesError(rec.Err)}
		} else {
			u, problems = m.Map(rec)
		}
		for _, c := range cols {
			row = append(row, previewCell(c, u, rec, problems))
		}
		res.Rows = append(res.Rows, row)
		if len(res.Rows) >= n {
			return errEnough
		}
		return nil
	})
	src.Close()
	if err != nil && !errors.Is(err, errEnough) {
		return res, err
	}

	rep, err := preflight.Run(ctx, p, preflight.Options{Examples: 1, Progress: progress, ProgressEvery: 250 * time.Millisecond})
	if err != nil {
		return res, err
	}
	res.Total = rep.Rows
	res.Invalid = map[string]int{}
	for k, v := range rep.Invalid {
		res.Invalid[k] = int(v)
	}
	for _, k := range slices.Sorted(maps.Keys(rep.Examples)) {
		for _, e := range rep.Examples[k] {
			res.Examples = append(res.Examples, wizard.InvalidExample{Row: e.Row, Reason: k, Detail: e.Message})
		}
	}
	for name, f := range rep.Formats {
		res.Formats = append(res.Formats, wizard.FormatCount{Format: name, Count: int(f.Count), Importable: f.Importable})
	}
	slices.SortFunc(res.Formats, func(a, b wizard.FormatCount) int {
		if a.Count != b.Count {
			return int(b.Count - a.Count)
		}
		return strings.Compare(a.Format, b.Format)
	})
	if rep.WithoutPassword > 0 {
		res.Formats = append(res.Formats, wizard.FormatCount{Format: "(no password)", Count: int(rep.WithoutPassword), Importable: true})
	}
	res.Recommendation = recommendation(rep)
	if p.Strategy == strategies.StrategyAuthOnly {
		res.Formats = nil
		res.Recommendation = fmt.Sprintf("authonly: %d valid users move as identifiers only; their password hashes stay in the legacy table and they sign in at the IdP without them", rep.Valid)
	}
	return res, nil
}

// recommendation renders the preflight's advice in one paragraph.
func recommendation(rep *preflight.Report) string {
	r := rep.Recommendation
	var b strings.Builder
	switch {
	case r.Strategy == "":
	case r.UnsupportedHash != "":
		fmt.Fprintf(&b, "%s with unsupported_hash: %s. ", r.Strategy, r.UnsupportedHash)
	case r.Sweep:
		fmt.Fprintf(&b, "%s, then a sweep. ", r.Strategy)
	default:
		fmt.Fprintf(&b, "%s. ", r.Strategy)
	}
	b.WriteString(r.Reason)
	for _, bl := range rep.Blockers {
		b.WriteString(" Blocker: " + bl)
	}
	return b.String()
}

// mappedField reports whether a canonical preview column is mapped in the plan.
func mappedField(p *strategies.Plan, c string) bool {
	m := p.Mapping
	switch c {
	case "legacy_id":
		return !m.LegacyID.IsZero()
	case "email":
		return !m.Email.IsZero()
	case "phone_number":
		return !m.PhoneNumber.IsZero()
	case "preferred_username":
		return !m.PreferredUsername.IsZero()
	case "name":
		return !m.Name.IsZero()
	case "disabled":
		return !m.Disabled.IsZero()
	}
	return false
}

// previewCell is one cell of the preview table. Hashes are cut to hashShown characters.
func previewCell(col string, u *strategies.User, rec sources.Record, problems []*strategies.Error) string {
	switch col {
	case "row":
		return strconv.Itoa(rec.Row)
	case "legacy_id":
		return u.LegacyID
	case "email":
		return u.Email
	case "phone_number":
		return u.PhoneNumber
	case "preferred_username":
		return u.PreferredUsername
	case "name":
		return u.Name
	case "disabled":
		if u.Disabled {
			return "yes"
		}
		return ""
	case "format":
		return u.PasswordFormat
	case "hash":
		h := []rune(u.PasswordHash)
		if len(h) > hashShown {
			return string(h[:hashShown]) + "…"
		}
		if len(h) > 0 {
			return "…" // a short value is shown as present, never in full
		}
		return ""
	case "problem":
		if len(problems) == 0 {
			return "ok"
		}
		e := problems[0]
		if e.Field != "" {
			return e.Field + ": " + e.Message
		}
		return e.Message
	}
	return ""
}

// asStrategiesError returns err as a typed error for the preview's problem column.
func asStrategiesError(err error) *strategies.Error {
	var e *strategies.Error
	if errors.As(err, &e) {
		return e
	}
	return &strategies.Error{Code: strategies.CodeSource, Message: err.Error()}
}

// checkTimeout bounds the target check: the wizard waits on it.
const checkTimeout = 15 * time.Second

// checkTarget describes the in-process mock IdP, or checks an Authgear-compatible
// target live: its discovery document is reachable and its Admin API takes the key
// (asking for an import job that does not exist must be a 404, not a 403).
func checkTarget(ctx context.Context, p *strategies.Plan) (string, error) {
	t := p.Target
	if t.Kind == strategies.TargetMockIDP && t.URL == "" {
		profile := cmpOrDefault(t.Profile, strategies.ProfileAuthgear)
		what := "imports bcrypt hashes only, like Authgear; other formats follow bulk.unsupported_hash"
		if profile == strategies.ProfilePermissive {
			what = "imports every hash format cutover can verify"
		}
		return fmt.Sprintf("Mock IdP: started in-process for the run (users kept in .cutover/mockidp); profile %s %s.", profile, what), nil
	}
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	base, err := strategies.Expand("target.url", t.URL)
	if err != nil {
		return "", err
	}
	if base == "" {
		return "", &strategies.Error{Code: strategies.CodePlan, Field: "target.url", Message: "missing; give the IdP's base URL, e.g. https://myapp.authgear.cloud"}
	}
	base = strings.TrimRight(base, "/")
	hc := &http.Client{Timeout: checkTimeout}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", &strategies.Error{Code: strategies.CodePlan, Field: "target.url", Message: fmt.Sprintf("%q is not a URL; write e.g. https://myapp.authgear.cloud", base), Err: err}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", &strategies.Error{Code: strategies.CodeTarget, Field: "target.url", Message: "cannot reach " + base + "; check the URL and that this machine can reach it", Err: err}
	}
	var disc struct {
		Issuer string `json:"issuer"`
	}
	derr := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&disc)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || derr != nil {
		return "", &strategies.Error{Code: strategies.CodeTarget, Field: "target.url", Message: fmt.Sprintf("%s answered %s for its discovery document; is it the IdP's base URL (not a path below it)?", base, resp.Status)}
	}
	keyPath, err := p.Resolve("target.key_file", t.KeyFile)
	if err != nil {
		return "", err
	}
	key, err := idp.LoadKey(keyPath)
	if err != nil {
		return "", &strategies.Error{Code: strategies.CodePlan, File: keyPath, Field: "target.key_file", Message: "cannot read the Admin API private key (PEM); download it from the portal's Admin API page", Err: err}
	}
	c, err := idp.New(idp.Config{BaseURL: base, Project: t.Project, KeyID: t.KeyID, Key: key, HTTP: hc,
		Retry: idp.Retry{Attempts: 1, Base: time.Millisecond, Cap: time.Millisecond}})
	if err != nil {
		return "", err
	}
	_, err = c.GetImport(ctx, "cutover-wizard-check")
	var ae *idp.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return fmt.Sprintf("Connected to %s (issuer %s); the Admin API accepted the key for project %s.", base, disc.Issuer, t.Project), nil
	case errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized):
		return "", &strategies.Error{Code: strategies.CodeTarget, Field: "target.key_file", Message: fmt.Sprintf("the Admin API refused the key (%s); check the project id (the token's audience), the key file and the key id", ae.Error())}
	case err == nil:
		return fmt.Sprintf("Connected to %s; the Admin API accepted the key.", base), nil
	}
	return "", &strategies.Error{Code: strategies.CodeTarget, Field: "target.url", Message: "the Admin API did not answer as an Authgear-compatible import API", Err: err}
}

func cmpOrDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// wizardRunner runs a finished plan for the wizard: bulk and authonly through their
// runners, continuing an interrupted run of the same plan; lazy as a rehearsal against
// the in-process mock IdP, or, for a real target, as the steps to start the service.
type wizardRunner struct {
	a   *app
	log *slog.Logger
}

// Run implements strategies.Runner.
func (w *wizardRunner) Run(ctx context.Context, p *strategies.Plan, o strategies.RunOptions) (*strategies.Report, error) {
	k := strategyKinds[p.Strategy]
	if k.runner == nil {
		return w.runLazy(ctx, p, o)
	}
	// Open the target first: whether there is a run to continue depends on it (a run
	// stopped against one profile of the mock is not this profile's).
	tgt, err := targetOpener(w.quietApp())(ctx, p)
	if err != nil {
		return nil, err
	}
	if tgt.Close != nil {
		defer tgt.Close()
	}
	open := func(context.Context, *strategies.Plan) (*bulk.Target, error) {
		t := *tgt
		t.Close = nil // closed here, whether or not the runner got as far as opening it
		return &t, nil
	}
	if !o.Resume {
		if o.Resume, err = bulk.Interrupted(k.imported(p), tgt.Name); err != nil {
			return nil, err
		}
	}
	return k.runner(open, w.log).Run(ctx, p, o)
}

// quietApp is the app with the wizard's logger, for helpers that log through app.
func (w *wizardRunner) quietApp() *app {
	c := *w.a
	c.log = w.log
	return &c
}

// runLazy runs a lazy plan. A lazy migration is a service, not a run: against a real
// target the wizard's part ends with the plan saved and the commands to start. Against
// the in-process mock IdP it rehearses the whole of it with the engine 'cutover
// rehearse' uses: a temporary store and run records and an in-memory IdP, so that a
// rehearsal leaves nothing 'cutover status' or 'cutover sweep' would count later.
func (w *wizardRunner) runLazy(ctx context.Context, p *strategies.Plan, o strategies.RunOptions) (*strategies.Report, error) {
	if p.Target.Kind != strategies.TargetMockIDP || p.Target.URL != "" {
		return &strategies.Report{Strategy: strategies.StrategyLazy}, nil
	}
	rp := rehearsalPlan(p)
	res, err := rehearse.Run(ctx, rehearse.Config{Plan: rp, Open: rehearsalTarget(rp, w.log), Log: w.log, Progress: o.Progress})
	if err != nil {
		return nil, err
	}
	rep := res.Report
	note := fmt.Sprintf("rehearsed: %d of %d known users signed in through the bridge (moved lazily); the sweep imported the others", res.SignedIn(), len(res.SignIns))
	if len(res.SignIns) == 0 {
		note = "rehearsed: no known-passwords.csv beside the plan or source, so nobody signed in through the bridge; the sweep imported everyone"
	}
	rep.NextSteps = append([]string{note}, rep.NextSteps...)
	return rep, nil
}
