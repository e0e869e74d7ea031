package targets

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/idp/kratos"
)

// kratosClient builds the Kratos client the plan describes: the admin API at
// target.url (with target.api_key on Ory Network), the public API at
// target.public_url, identities of target.schema_id.
func kratosClient(p *strategies.Plan, log *slog.Logger, hc *http.Client) (*kratos.Client, error) {
	t := p.Target
	var vals [3]string
	for i, f := range []struct{ key, v string }{{"target.url", t.URL}, {"target.public_url", t.PublicURL}, {"target.api_key", t.APIKey}} {
		v, err := strategies.Expand(f.key, f.v)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	c, err := kratos.New(kratos.Config{AdminURL: vals[0], PublicURL: vals[1], APIKey: vals[2], SchemaID: t.SchemaID, Log: log, HTTP: hc})
	if err != nil {
		return nil, withPlanFile(p, err)
	}
	return c, nil
}

// withPlanFile points a plan error of the kratos package at the plan's file and line.
func withPlanFile(p *strategies.Plan, err error) error {
	if se, ok := err.(*strategies.Error); ok && se.Code == strategies.CodePlan && se.File == "" {
		c := *se
		c.File, c.Line = p.File, p.Line(se.Field)
		return &c
	}
	return err
}

func openKratos(_ context.Context, p *strategies.Plan, log *slog.Logger) (*idp.Target, error) {
	c, err := kratosClient(p, log, nil)
	if err != nil {
		return nil, err
	}
	return &idp.Target{Importer: kratos.Target{Client: c}, Limits: kratos.Limits(), Hashes: &kratos.Hashes{},
		Name: "kratos-" + c.AdminURL(), URL: c.AdminURL()}, nil
}

// openKratosHook is the lazy pre-import: the same identities, each flagged for the
// password-migration hook instead of carrying a hash. Its run has a name of its own,
// so the sweep's run is not taken for it.
func openKratosHook(ctx context.Context, p *strategies.Plan, log *slog.Logger) (*idp.Target, error) {
	t, err := openKratos(ctx, p, log)
	if err != nil {
		return nil, err
	}
	t.Hashes = kratos.HookHashes{}
	t.Name += "-migration-hook"
	return t, nil
}

func kratosHashes(*strategies.Plan) idp.Hashes { return &kratos.Hashes{} }

func kratosSignIn(_ context.Context, p *strategies.Plan, log *slog.Logger) (strategies.SignIner, error) {
	if p.Target.PublicURL == "" {
		return nil, p.PlanError("target.public_url", "missing; users sign in at Kratos's public API, e.g. http://127.0.0.1:4433")
	}
	return kratosClient(p, log, nil)
}

// checkKratos asks the admin API for one identity (which needs the API key on Ory
// Network) and the public API whether it is ready.
func checkKratos(ctx context.Context, p *strategies.Plan) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	c, err := kratosClient(p, nil, &http.Client{Timeout: checkTimeout})
	if err != nil {
		return "", err
	}
	c.SetRetry(idp.Retry{Attempts: 1, Base: time.Millisecond, Cap: time.Millisecond})
	if err := c.Ping(ctx); err != nil {
		return "", &strategies.Error{Code: strategies.CodeTarget, File: p.File, Field: "target.url", Message: "Kratos's admin API did not answer as expected; check target.url (the admin port, 4434 when self-hosted) and target.api_key", Err: err}
	}
	msg := fmt.Sprintf("Connected to Ory Kratos's admin API at %s.", c.AdminURL())
	if p.Target.PublicURL != "" {
		if err := c.PingPublic(ctx); err != nil {
			return "", &strategies.Error{Code: strategies.CodeTarget, File: p.File, Field: "target.public_url", Message: "Kratos's public API is not ready there; check target.public_url (port 4433 when self-hosted)", Err: err}
		}
		msg += fmt.Sprintf(" Users sign in at %s.", c.PublicURL())
	}
	return msg, nil
}
