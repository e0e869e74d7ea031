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
	// LoadPlan reads a plan file (strategies.LoadPlan): with no --plan the wizard starts
	// from the plan an earlier walk saved in DefaultPlanFile, rather than overwrite it.
	LoadPlan func(path string) (*strategies.Plan, error)
	// Setenv makes a secret typed into the wizard available to the engine as ${VAR}
	// without writing it into the plan. The wizard never touches the process
	// environment itself; nil means a typed secret is refused (give a ${VAR} instead).
	Setenv func(key, value string) error
}

// The engine's answers the wizard draws; the engine defines them.
type (
	// ProbeResult is what a successful connection test found.
	ProbeResult = strategies.SourceProbe
	// TableInfo is one table of a database source.
	TableInfo = strategies.TableInfo
	// PreviewResult is the preview step's content: mapped rows, validation and preflight.
	PreviewResult = strategies.Preview
	// InvalidExample is one invalid row shown as an example of its reason.
	InvalidExample = strategies.InvalidExample
	// FormatCount is one bar of the password-format histogram.
	FormatCount = strategies.FormatCount
)

// errUnavailable says a capability has not been wired into this build.
func errUnavailable(what string) error {
	return errors.New(what + " is not available in this build yet; write the plan by hand (see README.md) and run it with 'cutover run --plan FILE'")
}
