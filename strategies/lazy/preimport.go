package lazy

import (
	"context"
	"fmt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/targets"
)

// PreImport is the first step of a lazy migration into a target that calls the bridge
// only for users it already holds (strategies.TargetKind.PreImport: Ory Kratos calls
// its password-migration hook only for identities flagged for it). It imports every
// legacy user through r, without a password and flagged for the hook, in a run of its
// own (resumable, undoable, reconciled like any bulk run). Users without a hash are
// imported without a password: the bridge could not verify them either.
func PreImport(ctx context.Context, p *strategies.Plan, r *bulk.Runner, o strategies.RunOptions) (*strategies.Report, error) {
	if k, _ := strategies.TargetKindOf(p.Target.Kind); !k.PreImport {
		return nil, p.PlanError("target.kind", "a %s target calls the bridge for users it does not hold yet: there is nothing to pre-import; start 'cutover bridge' and point the IdP at it", p.Target.Kind)
	}
	run := *r
	run.OpenTarget = func(ctx context.Context, p *strategies.Plan) (*idp.Target, error) {
		return targets.OpenPreImport(ctx, p, r.Log)
	}
	rep, err := run.Run(ctx, p, o)
	if err != nil {
		return nil, err
	}
	rep.Strategy = strategies.StrategyLazy
	if !o.DryRun && rep.Failed == 0 {
		rep.NextSteps = append(rep.NextSteps, fmt.Sprintf("every valid user is at the IdP waiting for its first sign-in: start 'cutover bridge --plan %[1]s', turn on the IdP's password-migration hook with the bridge's URL, watch 'cutover status --plan %[1]s', and finish with 'cutover sweep --plan %[1]s'", p.File))
	}
	return rep, nil
}
