package wizard

import (
	"context"
	"errors"

	"github.com/cutover/cutover/strategies"
)

// Env is what the wizard is handed by cmd/cutover: the engine's entry points. The wizard
// calls them with the plan as answered so far and never reaches into the engine itself.
// A nil function means the capability is not available in this build; the wizard says so
// at the step that needs it.
type Env struct {
	// Probe connects to the plan's source (the live "test connection") and lists its tables.
	Probe func(ctx context.Context, p *strategies.Plan) (ProbeResult, error)
	// Suggest proposes a mapping for the plan's source and returns the source's columns.
	Suggest func(ctx context.Context, p *strategies.Plan) (strategies.Mapping, []string, error)
	// Preview maps and validates the first rows (n of them are returned) and runs the
	// preflight over the whole source, reporting its progress (progress may be nil).
	Preview func(ctx context.Context, p *strategies.Plan, n int, progress func(strategies.Progress)) (PreviewResult, error)
	// CheckTarget checks the plan's target (reachable, key accepted) and describes it.
	CheckTarget func(ctx context.Context, p *strategies.Plan) (string, error)
	// Runner runs the finished plan.
	Runner strategies.Runner
	// SavePlan writes a plan file; strategies.SavePlan in production.
	SavePlan func(path string, p *strategies.Plan) error
	// DemoPlan returns the defaults of a fresh checkout: the bundled demo database and the
	// in-process mock IdP.
	DemoPlan func() (*strategies.Plan, error)
	// DemoNote is shown on the welcome screen when the wizard starts from DemoPlan: where
	// the demo data and its known passwords are (a few lines of at most 72 cells).
	DemoNote string
	// Setenv makes a secret typed into the wizard available to the engine as ${VAR}
	// without writing it into the plan; os.Setenv when nil.
	Setenv func(key, value string) error
}

// ProbeResult is what a successful connection test found.
type ProbeResult struct {
	Version string      // server version ("PostgreSQL 15.4") or file kind ("CSV file")
	Rows    int64       // file sources: records in the file; -1 when unknown
	Tables  []TableInfo // database sources: the tables that look like users tables first
}

// TableInfo is one table of a database source.
type TableInfo struct {
	Name    string
	Rows    int64 // estimate; -1 when unknown
	Columns []string
}

// PreviewResult is the preview step's content: mapped rows, validation and preflight.
type PreviewResult struct {
	Columns        []string   // canonical field names, in display order
	Rows           [][]string // the first mapped rows; hashes already truncated by the engine
	Total          int64      // rows read for the summary; -1 when unknown
	Invalid        map[string]int
	Examples       []InvalidExample
	Formats        []FormatCount
	Recommendation string // the preflight's recommended strategy and why
}

// InvalidExample is one invalid row shown as an example of its reason.
type InvalidExample struct {
	Row    int
	Reason string
	Detail string
}

// FormatCount is one bar of the password-format histogram.
type FormatCount struct {
	Format     string
	Count      int
	Importable bool // the target can import hashes of this format as they are
}

// errUnavailable says a capability has not been wired into this build.
func errUnavailable(what string) error {
	return errors.New(what + " is not available in this build yet; write the plan by hand (see README.md) and run it with 'cutover run --plan FILE'")
}
