package main

import (
	"context"
	"log/slog"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/bulk"
)

// opener hands a runner its target.
type opener = func(context.Context, *strategies.Plan) (*bulk.Target, error)

// strategyKind is what the commands do with a plan of one strategy. (Rehearsals are the
// engine's: strategies/rehearse keeps its own row per strategy.)
type strategyKind struct {
	// run is 'cutover run'.
	run func(ctx context.Context, a *app, p *strategies.Plan, f runFlags) error
	// runner runs the plan for the wizard, into the target the wizard opened; nil means
	// the wizard rehearses the plan instead (a lazy migration is a service, not a run).
	runner func(open opener, log *slog.Logger) strategies.Runner
	// imported is the plan whose import the run records (its run directory's).
	imported func(p *strategies.Plan) *strategies.Plan
}

// strategyKinds has one row per strategy the plan file can name.
var strategyKinds = map[string]strategyKind{
	strategies.StrategyBulk: {run: runBulkPlan, imported: func(p *strategies.Plan) *strategies.Plan { return p },
		runner: func(open opener, log *slog.Logger) strategies.Runner { return &bulk.Runner{OpenTarget: open, Log: log} }},
	strategies.StrategyAuthOnly: {run: runAuthOnlyPlan, imported: authonly.ImportPlan,
		runner: func(open opener, log *slog.Logger) strategies.Runner {
			return &authonly.Runner{OpenTarget: open, Log: log}
		}},
	strategies.StrategyLazy: {run: runLazyPlan},
}
