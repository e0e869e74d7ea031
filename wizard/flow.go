package wizard

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// stepID names one screen of the wizard, in the order they are shown.
type stepID int

const (
	stepWelcome stepID = iota
	stepStrategy
	stepSourceKind
	stepConnection
	stepTable
	stepMapping
	stepPassword
	stepPasswordDetail
	stepPreview
	stepTarget
	stepTargetDetail
	stepOptions
	stepReview
	stepRun
	stepReport
	stepDone // past the last screen
)

// String is the step's title in the header.
func (id stepID) String() string {
	switch id {
	case stepWelcome:
		return "Welcome"
	case stepStrategy:
		return "Strategy"
	case stepSourceKind:
		return "Source"
	case stepConnection:
		return "Connection"
	case stepTable:
		return "Table"
	case stepMapping:
		return "Mapping"
	case stepPassword, stepPasswordDetail:
		return "Passwords"
	case stepPreview:
		return "Preview"
	case stepTarget, stepTargetDetail:
		return "Target"
	case stepOptions:
		return "Options"
	case stepReview:
		return "Review"
	case stepRun:
		return "Run"
	case stepReport:
		return "Report"
	}
	return ""
}

// Review actions.
const (
	actionRun  = "run"
	actionSave = "save"
	actionBack = "back"
)

// Password format kinds offered by the mapping step.
const (
	pwAuto     = "auto"
	pwExplicit = "explicit"
	pwRecipe   = "recipe"
)

// Environment variables the wizard moves typed secrets into.
const (
	envDSN    = "LEGACY_DSN"
	envPepper = "LEGACY_PEPPER"
	// envLDAPPassword holds the directory's bind password for the run.
	envLDAPPassword = "LDAP_BIND_PASSWORD"
	// bridgeSecretVar is the variable a lazy plan's lazy.secret refers to by default:
	// `cutover bridge` refuses a plan without a secret.
	bridgeSecretVar = "BRIDGE_SECRET"
)

// previewRows is how many mapped rows the preview shows.
const previewRows = 20

// state is everything the wizard knows: the plan being filled, plus the answers that
// are not plan fields yet (strings for numbers, the password format kind) and what the
// engine reported at each step. Both front ends (the TUI and accessible mode) drive it.
type state struct {
	env      Env
	plan     *strategies.Plan
	savePath string
	fromDemo bool // the plan is Env.DemoPlan's: the welcome screen points at the demo data
	earlier  bool // the plan is the one an earlier walk saved in DefaultPlanFile
	// unreadable is why DefaultPlanFile, which exists, could not be read as a plan: it
	// is not saved over unless the user names it again.
	unreadable error
	tui        bool // drawn full-screen (notes are rendered as markup), not in accessible mode
	noteRows   int  // TUI: lines a note's text may take on this terminal; 0 = no limit

	pathKind     string // the source kind source.path was given for
	probe        *ProbeResult
	probeInfo    string
	columns      []string
	suggestedFor string // the source the mapping was last suggested (or loaded) for
	preview      *PreviewResult
	targetInfo   string

	mapChoice   string // the mapping step's first answer: mapKeep or mapEdit
	customAttrs string
	pwKind      string
	pwValue     string
	concurrency string
	batchSize   string
	action      string

	notes  []string // told once the plan is saved, e.g. which variables to export
	saved  string
	report *strategies.Report
}

func newState(env Env, p *strategies.Plan, savePath string) *state {
	s := &state{env: env, plan: p, savePath: savePath, action: actionRun, pathKind: p.Source.Kind}
	if p.Version == 0 {
		p.Version = strategies.PlanVersion
	}
	if p.Strategy == "" {
		p.Strategy = strategies.StrategyBulk
	}
	if p.Target.Kind == "" {
		p.Target.Kind = strategies.TargetMockIDP
	}
	if m := p.Mapping; !m.Email.IsZero() || !m.PhoneNumber.IsZero() || !m.PreferredUsername.IsZero() {
		s.suggestedFor = sourceKey(p) // a loaded plan's mapping is kept while its source is
	}
	s.loadAnswers()
	return s
}

// loadAnswers copies plan fields that are edited as text into the answer strings.
func (s *state) loadAnswers() {
	m := &s.plan.Mapping
	switch pf := m.PasswordFormat; {
	case pf == "" || pf == pwAuto:
		s.pwKind, s.pwValue = pwAuto, ""
	case strings.HasPrefix(pf, "recipe:"):
		s.pwKind, s.pwValue = pwRecipe, strings.TrimSpace(strings.TrimPrefix(pf, "recipe:"))
	default:
		s.pwKind, s.pwValue = pwExplicit, pf
	}
	s.customAttrs = formatAttrs(m.CustomAttributes)
	s.concurrency = itoaOrEmpty(s.plan.Bulk.Concurrency)
	s.batchSize = itoaOrEmpty(s.plan.AuthOnly.BatchSize)
}

// checkBridgeSecret makes sure a lazy plan is one `cutover bridge` takes: it has a
// ${VAR} secret (and a note says to export it) or accepts unauthenticated callers.
func (s *state) checkBridgeSecret() error {
	l := &s.plan.Lazy
	if s.plan.Strategy != strategies.StrategyLazy || l.NoAuth {
		return nil
	}
	if l.Secret = strings.TrimSpace(l.Secret); l.Secret == "" {
		return fmt.Errorf("lazy.secret: 'cutover bridge' needs a secret the IdP presents; write ${%s} (then export %s), or accept unauthenticated callers", bridgeSecretVar, bridgeSecretVar)
	}
	name := secretVar(l.Secret)
	note := fmt.Sprintf("The plan refers to ${%s}: before 'cutover bridge', export %s=$(openssl rand -hex 32) and give the IdP's migration hook the same value.", name, name)
	if !slices.Contains(s.notes, note) {
		s.notes = append(s.notes, note)
	}
	return nil
}

// secretVar is the variable name in a ${VAR} reference, or bridgeSecretVar.
func secretVar(ref string) string {
	if name, ok := strings.CutPrefix(ref, "${"); ok && strings.HasSuffix(name, "}") && !strings.Contains(name, "${") {
		return strings.TrimSuffix(name, "}")
	}
	return bridgeSecretVar
}

// rehearsal reports whether running the plan is a rehearsal: a lazy plan against the
// in-process mock IdP, run in memory from the bridge to the sweep, keeping nothing.
func (s *state) rehearsal() bool {
	t := s.plan.Target
	return s.plan.Strategy == strategies.StrategyLazy && t.Kind == strategies.TargetMockIDP && t.URL == ""
}

// resumable reports whether a stopped run of the plan is continued by `cutover run
// --resume`: bulk and authonly; a lazy plan is a service, or a rehearsal.
func (s *state) resumable() bool { return s.plan.Strategy != strategies.StrategyLazy }

// outcome is what the report screen shows for the run that ended with err.
func (s *state) outcome(err error) outcome {
	o := outcome{report: s.report, err: err, planFile: s.saved, notes: s.notes, rehearsal: s.rehearsal(),
		secretVar: secretVar(s.plan.Lazy.Secret)}
	if t := s.plan.Target; t.Kind == strategies.TargetMockIDP && t.URL == "" && !o.rehearsal && s.report != nil && s.report.RunDir != "" {
		// Beside the run directories (RUN_ROOT/<run>): see targetOpener in cmd/cutover.
		o.mockDir = filepath.Join(filepath.Dir(filepath.Dir(s.report.RunDir)), "mockidp")
	}
	return o
}

func sourceKey(p *strategies.Plan) string {
	s := p.Source
	return strings.Join([]string{s.Kind, s.DSN, s.Path, s.Table, s.Query}, "\x00")
}

// applies reports whether a step is shown for the answers so far.
func (s *state) applies(id stepID) bool {
	switch id {
	case stepTable:
		return strategies.IsDatabase(s.plan.Source.Kind)
	case stepPasswordDetail:
		return s.pwKind != pwAuto
	}
	return id < stepDone
}

// position numbers step id among the steps that apply to the answers so far, for the
// header's "step n of total".
func (s *state) position(id stepID) (n, total int) {
	for i := stepWelcome; i <= stepReport; i++ {
		if i == id || s.applies(i) {
			total++
			if i <= id {
				n++
			}
		}
	}
	return n, total
}

// next returns the step after id, skipping those that do not apply.
func (s *state) next(id stepID) stepID {
	if id == stepReview && s.action == actionBack {
		return stepStrategy
	}
	if id == stepReview && s.action == actionSave {
		return stepDone
	}
	for id++; id < stepDone && !s.applies(id); id++ {
	}
	return id
}

// leave runs what happens when a step's questions are answered: connection tests,
// suggestions, checks, saving. It returns what to tell the user; an error keeps the
// user on the step with the error shown.
func (s *state) leave(ctx context.Context, id stepID) (string, error) {
	p := s.plan
	switch id {
	case stepSourceKind:
		if p.Source.Kind != s.pathKind {
			// Another kind of file: the path was for the old one (the demo's SQLite
			// database read as CSV gave garbage columns).
			p.Source.Path, p.Source.HashConfig = "", ""
		}
		s.pathKind = p.Source.Kind
		if strategies.IsDatabase(p.Source.Kind) && p.Source.Kind != strategies.SourceSQLite {
			p.Source.Path = ""
		} else {
			p.Source.DSN = ""
		}
		if !strategies.IsDatabase(p.Source.Kind) {
			p.Source.Table, p.Source.Query = "", ""
		}
		if k, _ := strategies.SourceKindOf(p.Source.Kind); k.Directory {
			p.Source.Path = "" // a directory is reached through source.ldap
		} else {
			p.Source.LDAP = nil
		}
	case stepConnection:
		if err := s.secretToEnv(&p.Source.DSN, envDSN); err != nil {
			return "", err
		}
		if p.Source.LDAP != nil {
			if err := s.secretToEnv(&p.Source.LDAP.BindPassword, envLDAPPassword); err != nil {
				return "", err
			}
		}
		if s.env.Probe == nil {
			return "", errUnavailable("testing the connection")
		}
		r, err := s.env.Probe(ctx, p)
		if err != nil {
			return "", fmt.Errorf("test connection: %w", err)
		}
		s.probe = &r
		s.probeInfo = probeSummary(p, r)
		if !strategies.IsDatabase(p.Source.Kind) {
			if err := s.suggest(ctx); err != nil {
				return s.probeInfo, err
			}
		}
		return s.probeInfo, nil
	case stepTable:
		p.Source.Query = strings.TrimSpace(p.Source.Query)
		if p.Source.Query != "" {
			p.Source.Table = ""
		}
		if p.Source.Table == "" && p.Source.Query == "" {
			return "", fmt.Errorf("choose a table or write a query")
		}
		return "", s.suggest(ctx)
	case stepPassword:
		attrs, err := parseAttrs(s.customAttrs, p.Mapping.CustomAttributes)
		if err != nil {
			return "", err
		}
		p.Mapping.CustomAttributes = attrs
		if s.pwKind == pwAuto {
			if p.Mapping.PasswordFormat != "" {
				p.Mapping.PasswordFormat = pwAuto
			}
			p.Mapping.PasswordKey = ""
		}
	case stepPasswordDetail:
		v := strings.TrimSpace(s.pwValue)
		if v == "" {
			return "", fmt.Errorf("mapping.password_format: give a format name (e.g. django_pbkdf2_sha256) or a recipe (e.g. sha256(salt + password))")
		}
		if s.pwKind == pwRecipe {
			v = "recipe:" + v
		}
		p.Mapping.PasswordFormat = v
		if err := s.secretToEnv(&p.Mapping.PasswordKey, envPepper); err != nil {
			return "", err
		}
	case stepTargetDetail:
		k, _ := strategies.TargetKindOf(p.Target.Kind)
		p.Target.Keep(k)
		if s.env.CheckTarget == nil {
			return "", nil // nothing to check with; the run will say
		}
		info, err := s.env.CheckTarget(ctx, p)
		if err != nil {
			return "", fmt.Errorf("check target: %w", err)
		}
		s.targetInfo = info
		return info, nil
	case stepOptions:
		n, err := atoiOrZero("bulk.concurrency", s.concurrency)
		if err != nil {
			return "", err
		}
		p.Bulk.Concurrency = n
		if n, err = atoiOrZero("authonly.batch_size", s.batchSize); err != nil {
			return "", err
		}
		p.AuthOnly.BatchSize = n
		if p.Strategy == strategies.StrategyAuthOnly {
			p.Bulk.UnsupportedHash = "" // identifiers only: no hashes to decide about
		}
		if err := s.checkBridgeSecret(); err != nil {
			return "", err
		}
		return "", p.Validate()
	case stepReview:
		if s.action == actionBack {
			return "", nil
		}
		return s.save()
	}
	return "", nil
}

// suggest asks the engine for a mapping of the chosen source, keeping the current one
// when it was made for this very source (a loaded plan, or a visit before going back).
func (s *state) suggest(ctx context.Context) error {
	if s.env.Suggest == nil {
		if s.suggestedFor != "" {
			return nil
		}
		return errUnavailable("suggesting a mapping")
	}
	m, cols, err := s.env.Suggest(ctx, s.plan)
	if err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	s.columns = cols
	if key := sourceKey(s.plan); key != s.suggestedFor {
		s.plan.Mapping = m
		s.suggestedFor = key
		s.loadAnswers()
	}
	return nil
}

// save writes the plan where the review step said, refusing literal secrets.
func (s *state) save() (string, error) {
	path := strings.TrimSpace(s.savePath)
	if path == "" {
		return "", fmt.Errorf("give a file name to save the plan to")
	}
	if s.unreadable != nil && path == DefaultPlanFile {
		s.unreadable = nil // said once: saving again to the same name overwrites it
		return "", fmt.Errorf("%s exists and is not a plan the wizard can read; save to another file name, or save again to overwrite it", path)
	}
	if err := s.plan.CheckNoSecrets(); err != nil {
		return "", err
	}
	if s.env.SavePlan == nil {
		return "", errUnavailable("saving a plan")
	}
	if rel := relativeTo(path, s.plan.Source.Path); rel != s.plan.Source.Path {
		// Saved relative to the plan (as the plan resolves it), so the checkout can move;
		// File says what it is relative to for the run that follows.
		s.plan.Source.Path = rel
		s.plan.File = path
	}
	if err := s.env.SavePlan(path, s.plan); err != nil {
		return "", fmt.Errorf("save plan: %w", err)
	}
	s.saved = path
	return fmt.Sprintf("Saved %s; replay it with: cutover run --plan %s", path, path), nil
}

// relativeTo returns an absolute source path relative to the directory of the plan
// file planPath when it lies below that directory (the demo database does); any other
// path is returned as it is.
func relativeTo(planPath, src string) string {
	if !filepath.IsAbs(src) {
		return src
	}
	dir, err := filepath.Abs(filepath.Dir(planPath))
	if err != nil {
		return src
	}
	rel, err := filepath.Rel(dir, src)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return src
	}
	return rel
}

// secretToEnv moves a literal secret out of a plan field: the value goes into the
// process environment (so the engine can expand it now) and the field becomes ${name},
// with a note telling the user to export it before replaying the plan.
func (s *state) secretToEnv(field *string, name string) error {
	v := strings.TrimSpace(*field)
	*field = v
	if v == "" || strategies.IsEnvRef(v) {
		return nil
	}
	probe := &strategies.Plan{}
	switch name {
	case envDSN:
		probe.Source.DSN = v
	default:
		probe.Mapping.PasswordKey = v
	}
	// A bind password is always a secret; a DSN or a key is one when it holds one.
	if name != envLDAPPassword && probe.CheckNoSecrets() == nil {
		return nil
	}
	if s.env.Setenv == nil {
		return fmt.Errorf("this build cannot hold a secret for the run; write ${%s} here and export %s before starting cutover", name, name)
	}
	if err := s.env.Setenv(name, v); err != nil {
		return fmt.Errorf("keep the secret in $%s: %w", name, err)
	}
	*field = "${" + name + "}"
	note := fmt.Sprintf("The plan refers to ${%s}: export %s (with the value you typed) before 'cutover run --plan'.", name, name)
	if !slices.Contains(s.notes, note) {
		s.notes = append(s.notes, note)
	}
	return nil
}

func probeSummary(p *strategies.Plan, r ProbeResult) string {
	if strategies.IsDatabase(p.Source.Kind) {
		v := r.Version
		if v == "" {
			v = p.Source.Kind
		}
		return fmt.Sprintf("Connected: %s, %d table(s).", v, len(r.Tables))
	}
	if r.Rows >= 0 {
		return fmt.Sprintf("Read %s: %s record(s).", p.Source.Path, strategies.GroupDigits(r.Rows))
	}
	return fmt.Sprintf("Opened %s.", p.Source.Path)
}

// formatAttrs renders custom attributes as "name=column, name=column".
func formatAttrs(m map[string]strategies.FieldRef) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + m[k].Column
	}
	return strings.Join(parts, ", ")
}

// parseAttrs reads "name=column, name=column", keeping the transform of an attribute
// whose column did not change.
func parseAttrs(s string, old map[string]strategies.FieldRef) (map[string]strategies.FieldRef, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	out := map[string]strategies.FieldRef{}
	for _, part := range strings.Split(s, ",") {
		name, col, ok := strings.Cut(strings.TrimSpace(part), "=")
		name, col = strings.TrimSpace(name), strings.TrimSpace(col)
		if !ok || name == "" || col == "" {
			return nil, fmt.Errorf("mapping.custom_attributes: %q is not name=column; write e.g. member_id=member_no, plan=plan_code", strings.TrimSpace(part))
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("mapping.custom_attributes: %q is given twice", name)
		}
		ref := strategies.FieldRef{Column: col}
		if o, ok := old[name]; ok && o.Column == col {
			ref = o
		}
		out[name] = ref
	}
	return out, nil
}

func itoaOrEmpty(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func atoiOrZero(key, s string) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s: %q is not a whole number; leave it empty for the default", key, s)
	}
	return n, nil
}
