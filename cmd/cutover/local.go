package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/rehearse"
	"github.com/cutover/cutover/strategies/sources"
	"github.com/cutover/cutover/strategies/targets"
)

// rehearsalTarget hands the rehearsal engine a fresh in-memory mock IdP: its import API,
// its password grant and its one-time codes; for a lazy plan its hook calls the bridge.
func rehearsalTarget(p *strategies.Plan, log *slog.Logger) func(context.Context, *rehearse.Hook) (*rehearse.Target, error) {
	return func(ctx context.Context, hook *rehearse.Hook) (*rehearse.Target, error) {
		fb, err := sources.FirebaseConfigOf(ctx, p) // so the mock verifies a Firebase export's hashes
		if err != nil {
			return nil, err
		}
		cfg := mockidp.Config{Profile: p.Target.Profile, Logger: log, Firebase: fb}
		if hook != nil {
			cfg.LazyHook = mockidp.LazyHook{URL: hook.URL, Secret: hook.Secret, Timeout: 30 * time.Second}
		}
		l, tgt, err := targets.StartMock(cfg, log)
		if err != nil {
			return nil, err
		}
		return &rehearse.Target{Bulk: tgt, SignIn: l, Codes: l, Issuer: l.Info.Issuer, ClientID: mockidp.ClientID,
			Name: "the mock IdP", Close: l.Close}, nil
	}
}

// quietLog logs warnings only: the services a rehearsal starts log every request.
func quietLog(a *app) *slog.Logger {
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
