package rehearse

import (
	"context"
	"log/slog"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
)

// Opener hands a runner its target.
type Opener = func(context.Context, *strategies.Plan) (*idp.Target, error)

// Strategy is what the tool does with a plan of one strategy: run it, and rehearse it.
// Every command and the wizard find a strategy here: adding a strategy adds its row.
type Strategy struct {
	// Runner runs the plan into the target open hands it; nil means the strategy is a
	// service, not a run (lazy: a bridge, then a sweep), and is only rehearsed.
	Runner func(open Opener, log *slog.Logger) strategies.Runner
	// Imported is the plan whose import the run records (its run directory's); nil
	// means the plan itself.
	Imported func(p *strategies.Plan) *strategies.Plan
	// rehearse runs the strategy's rehearsal.
	rehearse func(ctx context.Context, rh *rehearsal) (*Result, error)
}

// table has one row per strategy the plan file can name.
var table = map[string]Strategy{
	strategies.StrategyBulk: {rehearse: rehearseBulk,
		Runner: func(open Opener, log *slog.Logger) strategies.Runner { return &bulk.Runner{OpenTarget: open, Log: log} }},
	strategies.StrategyAuthOnly: {rehearse: rehearseAuthOnly, Imported: authonly.ImportPlan,
		Runner: func(open Opener, log *slog.Logger) strategies.Runner {
			return &authonly.Runner{OpenTarget: open, Log: log}
		}},
	strategies.StrategyLazy: {rehearse: rehearseLazy},
}

// StrategyOf returns the row of the strategy named name.
func StrategyOf(name string) (Strategy, bool) {
	s, ok := table[name]
	return s, ok
}

// RunContinuing runs p with its strategy's runner into the target open opens,
// continuing an interrupted run of the same plan into the same target (a run stopped
// against one profile of the mock is not this profile's, so the target is opened
// first). The wizard runs plans this way: a stopped run is resumed, not started over.
func (s Strategy) RunContinuing(ctx context.Context, p *strategies.Plan, o strategies.RunOptions, open Opener, log *slog.Logger) (*strategies.Report, error) {
	tgt, err := open(ctx, p)
	if err != nil {
		return nil, err
	}
	if tgt.Close != nil {
		defer tgt.Close()
	}
	opened := func(context.Context, *strategies.Plan) (*idp.Target, error) {
		t := *tgt
		t.Close = nil // closed here, whether or not the runner got as far as opening it
		return &t, nil
	}
	if !o.Resume {
		imported := p
		if s.Imported != nil {
			imported = s.Imported(p)
		}
		if o.Resume, err = bulk.Interrupted(imported, tgt.Name); err != nil {
			return nil, err
		}
	}
	return s.Runner(opened, log).Run(ctx, p, o)
}
