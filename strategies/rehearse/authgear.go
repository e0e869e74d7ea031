package rehearse

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/targets"
)

// AtRealTarget returns an Open that connects to the plan's own target (Authgear,
// Kratos): the import goes to its admin API, and users sign in through its own sign-in
// API, as its login page would sign them in (targets.SignIner).
//
// Unlike the mock IdP this target is real: the rehearsal's import stays there.
func AtRealTarget(p *strategies.Plan, log *slog.Logger) func(context.Context, *Hook) (*Target, error) {
	return func(ctx context.Context, _ *Hook) (*Target, error) {
		b, err := targets.Open(ctx, p, log)
		if err != nil {
			return nil, err
		}
		si, ok, err := targets.SignIner(ctx, p, log)
		if err != nil || !ok {
			if b.Close != nil {
				b.Close()
			}
			if err == nil {
				err = fmt.Errorf("a %s target offers no sign-in API to rehearse with", p.Target.Kind)
			}
			return nil, err
		}
		k, _ := strategies.TargetKindOf(p.Target.Kind)
		return &Target{Bulk: b, SignIn: si, Name: k.Title + " at " + b.URL, Close: b.Close}, nil
	}
}

// AtTarget reports whether p is rehearsed at its own target rather than at the mock
// IdP: a bulk plan aimed at a real target whose sign-in API can prove the passwords.
func AtTarget(p *strategies.Plan) bool {
	return p.Target.Kind != strategies.TargetMockIDP && p.Strategy == strategies.StrategyBulk
}

// MockPlan is p aimed at the in-process mock IdP with the plan's profile; an authgear
// target rehearses with the authgear profile, which takes what Authgear takes.
func MockPlan(p *strategies.Plan) *strategies.Plan {
	profile := p.Target.Profile
	if p.Target.Kind != strategies.TargetMockIDP || profile == "" {
		profile = strategies.ProfileAuthgear
	}
	rp := *p
	rp.Target = strategies.Target{Kind: strategies.TargetMockIDP, Profile: profile}
	return &rp
}
