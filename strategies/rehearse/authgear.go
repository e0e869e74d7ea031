package rehearse

import (
	"context"
	"log/slog"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
)

// Authgear returns an Open that connects to the Authgear project p's target names: the
// import goes to its Admin API, and users sign in through its Authentication Flow API at
// target.signin_url (target.url when unset), as its login page would sign them in. The
// Admin API client tells a user imported without a password from a wrong password.
//
// Unlike the mock IdP this target is real: the rehearsal's import stays there.
func Authgear(p *strategies.Plan, log *slog.Logger) func(context.Context, *Hook) (*Target, error) {
	return func(ctx context.Context, _ *Hook) (*Target, error) {
		b, err := bulk.OpenTarget(ctx, p, log)
		if err != nil {
			return nil, err
		}
		origin, err := strategies.Expand("target.signin_url", p.Target.SignInOrigin())
		if err != nil {
			return nil, err
		}
		var lookup idp.Looker
		if l, ok := b.Importer.(idp.Looker); ok {
			lookup = l
		}
		af, err := idp.NewAuthFlow(idp.AuthFlowConfig{BaseURL: origin, Lookup: lookup, Log: log})
		if err != nil {
			return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "target.signin_url", Message: "cannot sign users in there", Err: err}
		}
		return &Target{Bulk: b, SignIn: af, Name: "Authgear at " + b.Name + " (sign-ins at " + origin + ")", Close: b.Close}, nil
	}
}

// AtTarget reports whether p is rehearsed at its own target rather than at the mock
// IdP: a bulk plan aimed at Authgear is (Authgear's sign-in API proves the passwords).
func AtTarget(p *strategies.Plan) bool {
	return p.Target.Kind == strategies.TargetAuthgear && p.Strategy == strategies.StrategyBulk
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
