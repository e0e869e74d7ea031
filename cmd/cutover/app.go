package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/rehearse"
)

// exampleAppFlags are the options of `cutover example-app`.
type exampleAppFlags struct {
	plan      string
	idp       string
	discovery string
	clientID  string
	listen    string
}

func newExampleAppCmd(a *app) *cobra.Command {
	var f exampleAppFlags
	cmd := &cobra.Command{
		Use:   "example-app --plan FILE [--idp URL] [--listen ADDR]",
		Short: "Serve a tiny app protected by the authonly middleware",
		Long: `Serve a tiny protected app over the legacy users table of an authonly plan, to
see (and test) the middleware an app uses once sign-in has moved to the IdP.

  GET /           public: no token needed
  GET /protected  needs "Authorization: Bearer <access token>" from the IdP; answers
                  the local user the token resolves to, as JSON

The middleware verifies the token through the IdP's discovery document and keys
(issuer, audience, expiry, signature), finds the local user by the IdP id column
(authonly.id_column, default idp_user_id), links a legacy user by verified email on
first sign-in, and otherwise creates a local user with the email and IdP id (or
answers 403 when the table will not take such a row). A missing or bad token gets
401 with WWW-Authenticate.

The issuer is --idp, else the plan's target.url. Inside a container network, where
the IdP is reached at another address than its issuer, give that address with
--discovery-url. The source must be a database (postgres, mysql, sqlite).

Exit codes: 0 stopped by Ctrl+C or SIGTERM, 1 it could not serve, 2 bad flags or plan.`,
		Example: `  cutover example-app --plan cutover.yaml --idp http://127.0.0.1:8080
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/protected`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExampleApp(cmd.Context(), a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.plan, "plan", "", "the authonly plan whose users table the app uses (required)")
	fl.StringVar(&f.idp, "idp", "", "the IdP's issuer URL (default: the plan's target.url)")
	fl.StringVar(&f.discovery, "discovery-url", "", "fetch the IdP's discovery document here instead of at the issuer")
	fl.StringVar(&f.clientID, "client-id", mockidp.ClientID, "the audience access tokens must be for")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8081", "address to serve on")
	_ = cmd.MarkFlagRequired("plan")
	return cmd
}

func runExampleApp(ctx context.Context, a *app, f exampleAppFlags) error {
	p, err := strategies.LoadPlan(f.plan)
	if err != nil {
		return err
	}
	issuer := f.idp
	if issuer == "" {
		if issuer, err = strategies.Expand("target.url", p.Target.URL); err != nil {
			return err
		}
	}
	if issuer == "" {
		return usagef("give the IdP's issuer with --idp (the plan has no target.url)")
	}
	err = rehearse.ServeExampleApp(ctx, p, rehearse.ExampleAppConfig{Issuer: issuer, Discovery: f.discovery,
		ClientID: f.clientID, Listen: f.listen, Log: a.log, Ready: func(addr string) {
			fmt.Fprintf(a.stderr, "example app on http://%s (GET / public, GET /protected with a bearer token from %s); Ctrl+C stops it\n", addr, issuer)
		}})
	if err != nil && strategies.CodeOf(err) == "" {
		return exitError{exitFailure, err}
	}
	return err
}
