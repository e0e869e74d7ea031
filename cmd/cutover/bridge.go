package main

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/lazy"
)

// defaultBridgeListen is where the bridge listens unless lazy.listen or --listen says.
const defaultBridgeListen = "127.0.0.1:8788"

func newBridgeCmd(a *app) *cobra.Command {
	var planPath, listen string
	cmd := &cobra.Command{
		Use:   "bridge --plan FILE",
		Short: "Serve the lazy-migration verification endpoint",
		Long: `Serve the endpoint an identity provider calls when a user it does not know yet
signs in: the bridge looks the user up in the legacy source by email (an indexed
query for databases, an index built at start for files), verifies the password
with the legacy hash, and answers with the user's mapped profile. The IdP stores
the user and never asks again. Disabled users and users without a usable hash
fail. Every success is recorded (lazy.store, default .cutover/lazy.db beside the
plan) for 'cutover status' and 'cutover sweep'.

Dialects (lazy.dialect), all on the same core:
  authproject  POST /verify, form email & password -> {"success": true, "user_info": {...}}
               or {"success": false} (the default; what 'cutover mockidp' calls)
  keycloak     GET /users/{email} -> user JSON or 404; POST /users/{email}
               {"password": "..."} -> 200 or 401 (keycloak-user-migration plugin)
  kratos       POST /password-migration {"identifier","password"} ->
               200 {"status":"password_match"} or 403 (Ory's password migration hook)
  fusionauth   POST /authenticate {"loginId","password",...} -> 200 {"user":{...}}
               or 404 (FusionAuth Generic Connector)
GET /healthz answers without a secret.

With lazy.delegate the bridge forwards the credentials to the legacy app's own
login endpoint instead of verifying hashes, and reads the profile from the source.

Security: callers must send "Authorization: Bearer <secret>" (or Basic auth with
the secret as password); the secret comes from lazy.secret, a ${ENV} reference,
unless lazy.no_auth is true. Failed attempts are limited per email and requests
per client address (lazy.rate_limit; 10 and 600 per minute), answering 429. An
unknown email costs what a wrong password costs. Passwords are never logged.
With lazy.tls_cert and lazy.tls_key the bridge serves HTTPS. Ctrl+C or SIGTERM
stops it after the requests in flight have finished.

Exit codes: 0 stopped by Ctrl+C or SIGTERM, 1 it could not serve (listen, source),
2 bad flags or plan (a lazy plan without lazy.secret says what to add).`,
		Example: `  export BRIDGE_SECRET=$(openssl rand -hex 32)
  cutover bridge --plan cutover.yaml
  cutover bridge --plan cutover.yaml --listen 0.0.0.0:8788
  curl -H "Authorization: Bearer $BRIDGE_SECRET" -d email=a@example.com -d password=... http://127.0.0.1:8788/verify`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBridge(cmd.Context(), a, planPath, listen)
		},
	}
	cmd.Flags().StringVar(&planPath, "plan", "", "the lazy plan (required)")
	cmd.Flags().StringVar(&listen, "listen", "", "host:port to listen on (default lazy.listen, else "+defaultBridgeListen+")")
	_ = cmd.MarkFlagRequired("plan")
	return cmd
}

// loadLazyPlan loads a plan and checks that its strategy is lazy.
func loadLazyPlan(path, command string) (*strategies.Plan, error) {
	if path == "" {
		return nil, usageError{err: fmt.Errorf("--plan is required (see 'cutover %s --help')", command)}
	}
	p, err := strategies.LoadPlan(path)
	if err != nil {
		return nil, err
	}
	if p.Strategy != strategies.StrategyLazy {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: path, Field: "strategy",
			Message: fmt.Sprintf("is %s; 'cutover %s' is for lazy plans (use 'cutover run' for this one)", p.Strategy, command)}
	}
	return p, nil
}

func runBridge(ctx context.Context, a *app, planPath, listen string) error {
	p, err := loadLazyPlan(planPath, "bridge")
	if err != nil {
		return err
	}
	if listen == "" {
		listen = p.Lazy.Listen
	}
	if listen == "" {
		listen = defaultBridgeListen
	}
	b, err := lazy.New(ctx, lazy.Config{Plan: p, Log: a.log})
	if err != nil {
		return err
	}
	defer b.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return exitError{exitFailure, fmt.Errorf("bridge: cannot listen on %s (lazy.listen or --listen): %w", listen, err)}
	}
	scheme := "http"
	if p.Lazy.TLSCert != "" {
		scheme = "https"
	}
	a.log.Info("bridge listening", "url", scheme+"://"+ln.Addr().String(), "dialect", b.Dialect(),
		"endpoints", strings.Join(lazy.Paths(b.Dialect()), ", "), "store", b.Store().Path())
	if p.Lazy.NoAuth {
		a.log.Warn("lazy.no_auth is set: anyone who can reach the bridge can test passwords against it")
	}
	if err := b.Serve(ctx, ln); err != nil {
		return err
	}
	st := b.Stats()
	a.log.Info("bridge stopped", "verified", st.Verified, "failed", st.Failed, "rate_limited", st.RateLimited, "errors", st.Errors)
	return nil
}
