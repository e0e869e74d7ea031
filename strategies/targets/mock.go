package targets

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
)

// openMock opens a mockidp target: one given by target.url like an Authgear, else the
// bundled mock IdP started in-process for the run, keeping its users on disk in
// .cutover/mockidp beside the run directories; closing the target stops it.
func openMock(ctx context.Context, p *strategies.Plan, log *slog.Logger) (*idp.Target, error) {
	if p.Target.URL != "" {
		return openAuthgear(ctx, p, log)
	}
	root, err := p.RunRoot()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(filepath.Dir(root), "mockidp")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create the mock IdP's directory: %w", err)
	}
	_, t, err := StartMock(mockidp.Config{Profile: p.Target.Profile, DBPath: filepath.Join(dir, "users.db"), AdminKeyDir: dir}, log)
	return t, err
}

// StartMock starts the bundled mock IdP on a loopback port and returns it with a
// target importing into it; closing the target stops the IdP.
func StartMock(cfg mockidp.Config, log *slog.Logger) (*mockidp.Local, *idp.Target, error) {
	l, err := mockidp.StartLocal(cfg)
	if err != nil {
		return nil, nil, err
	}
	c, err := idp.New(idp.Config{BaseURL: l.Info.Issuer, Project: l.Info.Project, KeyID: l.Info.KeyID, Key: l.Info.AdminKey, Log: log})
	if err != nil {
		l.Close()
		return nil, nil, err
	}
	return l, &idp.Target{Importer: &idp.MockClient{Client: c}, Hashes: idp.ProfileHashes(l.Info.Profile), Name: "mockidp-" + l.Info.Profile,
		URL: l.Info.Issuer, Close: l.Close}, nil
}

// Opener returns Open as the function runners take.
func Opener(log *slog.Logger) func(context.Context, *strategies.Plan) (*idp.Target, error) {
	return func(ctx context.Context, p *strategies.Plan) (*idp.Target, error) { return Open(ctx, p, log) }
}
