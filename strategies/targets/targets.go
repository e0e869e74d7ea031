// Package targets is the registry of identity providers cutover imports into: for
// each target.kind of the plan (strategies.TargetKinds), how to open its import API,
// which legacy hashes keep their password there, how to check it is reachable and how
// users sign in at it. Every command and the wizard reach a target through here, so
// adding one is its package and a row of impls.
package targets

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
)

// impl is what cutover does with one target kind.
type impl struct {
	// open connects to the target's import API (bulk, the lazy sweep, authonly, undo).
	open func(ctx context.Context, p *strategies.Plan, log *slog.Logger) (*idp.Target, error)
	// hashes are the target's hash rules, known without connecting (preflight, wizard).
	hashes func(p *strategies.Plan) idp.Hashes
	// check connects and says in a sentence what answered, or why it cannot be used.
	check func(ctx context.Context, p *strategies.Plan) (string, error)
	// signIn returns what signs users in at the target with a password (rehearsals,
	// `cutover login`); nil when the target offers no such API.
	signIn func(ctx context.Context, p *strategies.Plan, log *slog.Logger) (strategies.SignIner, error)
	// preImport opens the target for the lazy strategy's pre-import (TargetKind.PreImport).
	preImport func(ctx context.Context, p *strategies.Plan, log *slog.Logger) (*idp.Target, error)
	// rules are the ways the target can lock a migrated user out; nil means commonRules.
	rules func(p *strategies.Plan) []Rule
}

// impls has one row per strategies.TargetKinds row.
var impls = map[string]impl{
	strategies.TargetMockIDP:  {open: openMock, hashes: profileHashes, check: checkMock},
	strategies.TargetAuthgear: {open: openAuthgear, hashes: profileHashes, check: checkAuthgear, signIn: authgearSignIn},
	strategies.TargetKratos:   {open: openKratos, hashes: kratosHashes, check: checkKratos, signIn: kratosSignIn, preImport: openKratosHook, rules: kratosRules},
}

func of(p *strategies.Plan) (impl, error) {
	i, ok := impls[p.Target.Kind]
	if !ok {
		return impl{}, p.PlanError("target.kind", "%q is not a target cutover knows", p.Target.Kind)
	}
	return i, nil
}

// Open connects to the plan's target; a mockidp target without a URL is started
// in-process (see openMock).
func Open(ctx context.Context, p *strategies.Plan, log *slog.Logger) (*idp.Target, error) {
	i, err := of(p)
	if err != nil {
		return nil, err
	}
	return i.open(ctx, p, log)
}

// Hashes returns the plan's target's hash rules: which legacy formats keep their
// password there. An unknown kind has Authgear's (the plan's validation refuses it).
func Hashes(p *strategies.Plan) idp.Hashes {
	i, err := of(p)
	if err != nil {
		return idp.ProfileHashes(strategies.ProfileAuthgear)
	}
	return i.hashes(p)
}

// Check connects to the plan's target and says what answered.
func Check(ctx context.Context, p *strategies.Plan) (string, error) {
	i, err := of(p)
	if err != nil {
		return "", err
	}
	return i.check(ctx, p)
}

// SignIner returns what signs users in at the plan's target with a password; ok is
// false when the target kind has no such API (the mock IdP is started by the caller).
func SignIner(ctx context.Context, p *strategies.Plan, log *slog.Logger) (si strategies.SignIner, ok bool, err error) {
	i, err := of(p)
	if err != nil || i.signIn == nil {
		return nil, false, err
	}
	si, err = i.signIn(ctx, p, log)
	return si, err == nil, err
}

// OpenPreImport opens the plan's target for the lazy strategy's pre-import: every
// user imported without a password and flagged so the target asks the bridge at their
// first sign-in. Only kinds with TargetKind.PreImport have one.
func OpenPreImport(ctx context.Context, p *strategies.Plan, log *slog.Logger) (*idp.Target, error) {
	i, err := of(p)
	if err != nil {
		return nil, err
	}
	if i.preImport == nil {
		return nil, fmt.Errorf("a %s target calls the bridge for users it does not hold: nothing to pre-import", p.Target.Kind)
	}
	return i.preImport(ctx, p, log)
}

func profileHashes(p *strategies.Plan) idp.Hashes {
	if p.Target.Kind == strategies.TargetMockIDP && p.Target.Profile == strategies.ProfilePermissive {
		return idp.ProfileHashes(strategies.ProfilePermissive)
	}
	return idp.ProfileHashes(strategies.ProfileAuthgear)
}
