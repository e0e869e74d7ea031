package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/signin"
	"github.com/cutover/cutover/strategies/targets"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
)

// loginFlags are the options of `cutover login`.
type loginFlags struct {
	idp, authgear, plan, email, clientID string
	json                                 bool
}

func newLoginCmd(a *app) *cobra.Command {
	var f loginFlags
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign a user in at an IdP (password grant) or an Authgear project and print the result",
		Long: `Sign a user in, in one of three ways (give exactly one):

  --idp URL       the OAuth 2.0 password grant (the mock IdP allows it for
                  rehearsals); the ID token is verified against the IdP's discovery
                  document and keys (signature, issuer, audience, expiry) and its
                  claims are printed as JSON on standard output
  --authgear URL  Authgear's Authentication Flow API at the project's public origin
                  (identify by login id, then primary password), as its login page
                  signs users in; prints {ok, subject, note} as JSON
  --plan FILE     the same at the plan's target: Authgear (target.signin_url, default
                  target.url; its Admin API names the user and tells no_password),
                  or Ory Kratos (its login API flow at target.public_url)

A refusal at Authgear says Authgear's reason: invalid_credentials, disabled,
unknown_user, or no_password (with --plan).

The password is read from the first line of standard input, never from a flag, so it
stays out of shell history and process lists. A one-time code from the mock IdP's
/_mock/users/{id}/otp endpoint works in place of the password.

Exit codes: 0 signed in, 1 the sign-in was refused (wrong email or password,
disabled, ...) or the IdP failed, 2 bad flags.`,
		Example: `  echo 'correct horse' | cutover login --idp http://127.0.0.1:8787 --email user1@example.com
  cutover login --authgear https://myapp.authgear.cloud --email user1@example.com < password.txt
  cutover login --plan staging.yaml --email user1@example.com < password.txt
  cutover login --idp http://127.0.0.1:8787 --email user1@example.com --json < password.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogin(cmd, a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.idp, "idp", "", "issuer URL of the IdP (its /.well-known/openid-configuration is read)")
	fl.StringVar(&f.authgear, "authgear", "", "public origin of an Authgear project (its Authentication Flow API)")
	fl.StringVar(&f.plan, "plan", "", "sign in at this plan's target (authgear or kratos)")
	fl.StringVar(&f.email, "email", "", "email (or phone number / username) to sign in with")
	fl.StringVar(&f.clientID, "client-id", "cutover", "OAuth client id (public, no secret)")
	fl.BoolVar(&f.json, "json", false, "print {claims, access_token_expiry, scope} instead of the bare claims")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

// readPassword returns the first line of r without its line ending: passwords come on
// standard input, never in flags, so they stay out of shell history and process lists.
// example shows how to pipe one in, for the error when there is none.
func readPassword(r io.Reader, example string) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	// An empty first line is no password: most often an unset variable piped in.
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", usagef("no password on standard input: pipe it in, e.g. %s", example)
	}
	return line, nil
}

func runLogin(cmd *cobra.Command, a *app, f loginFlags) error {
	ctx := cmd.Context()
	if n := len(slices.DeleteFunc([]string{f.idp, f.authgear, f.plan}, func(s string) bool { return s == "" })); n != 1 {
		return usagef("give exactly one of --idp (password grant), --authgear (an Authgear project's origin) or --plan (its target); got %d", n)
	}
	password, err := readPassword(a.stdin, "echo 'secret' | cutover login ...")
	if err != nil {
		return err
	}
	if f.idp == "" {
		return loginAuthgear(ctx, a, f, password)
	}
	g := &signin.PasswordGrant{Issuer: strings.TrimRight(f.idp, "/"), ClientID: f.clientID,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile", "phone", oidc.ScopeOfflineAccess}}
	tok, idt, err := g.Token(ctx, f.email, password)
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re) && re.ErrorCode == "invalid_grant":
		return exitError{exitFailure, fmt.Errorf("login: %s was refused: the email or password is wrong (or the account is disabled)", f.email)}
	case errors.Is(err, signin.ErrNoIDToken):
		return exitError{exitFailure, errors.New("login: the IdP returned no ID token; does it support the openid scope?")}
	case err != nil && re == nil && tok == nil && !errors.Is(err, signin.ErrNotVerified):
		return exitError{exitFailure, fmt.Errorf("login: %w (is the IdP running, and is --idp its issuer URL?)", err)}
	case err != nil:
		return exitError{exitFailure, fmt.Errorf("login: %w", err)}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return exitError{exitFailure, fmt.Errorf("login: read ID token claims: %w", err)}
	}
	var out any = claims
	if f.json {
		scope, _ := tok.Extra("scope").(string)
		out = map[string]any{"claims": claims, "access_token_expiry": tok.Expiry.UTC(), "scope": scope, "token_type": tok.TokenType}
	}
	return writeJSON(a.stdout, out)
}

// loginAuthgear signs in through Authgear's Authentication Flow API at --authgear, or
// at the --plan's target with its Admin API to name the user and tell no_password.
func loginAuthgear(ctx context.Context, a *app, f loginFlags, password string) error {
	if f.plan != "" {
		p, err := strategies.LoadPlan(f.plan)
		if err != nil {
			return err
		}
		si, ok, err := targets.SignIner(ctx, p, a.log)
		if err != nil {
			return err
		}
		if !ok {
			return usagef("--plan: %s's target is %q, which has no sign-in API here (use --idp for the mock IdP)", f.plan, p.Target.Kind)
		}
		return printSignIn(ctx, a, si, f.email, password)
	}
	af, err := idp.NewAuthFlow(idp.AuthFlowConfig{BaseURL: f.authgear, Log: a.log})
	if err != nil {
		return usagef("--authgear: %v", err)
	}
	return printSignIn(ctx, a, af, f.email, password)
}

// printSignIn signs login in at si and prints {ok, subject, note}; a refusal is exit 1
// with the IdP's reason.
func printSignIn(ctx context.Context, a *app, si strategies.SignIner, login, password string) error {
	r, err := si.SignIn(ctx, login, password)
	switch {
	case err != nil:
		return exitError{exitFailure, fmt.Errorf("login: %w (is the URL the Authgear project's public origin?)", err)}
	case !r.OK:
		return exitError{exitFailure, fmt.Errorf("login: %s was refused: %s", login, r.Reason)}
	}
	return writeJSON(a.stdout, map[string]any{"ok": true, "subject": r.Subject, "note": r.Reason})
}
