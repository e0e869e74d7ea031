package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/cutover/cutover/strategies/signin"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"
)

// loginFlags are the options of `cutover login`.
type loginFlags struct {
	idp, email, clientID string
	json                 bool
}

func newLoginCmd(a *app) *cobra.Command {
	var f loginFlags
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Sign in at an IdP with the password grant and print the token claims",
		Long: `Sign in at an identity provider with the OAuth 2.0 password grant (the mock IdP
allows it for rehearsals), verify the ID token against the IdP's discovery document
and keys (signature, issuer, audience, expiry), and print its claims as JSON on
standard output.

The password is read from the first line of standard input, never from a flag, so it
stays out of shell history and process lists. A one-time code from the mock IdP's
/_mock/users/{id}/otp endpoint works in place of the password.

Exit status: 0 signed in, 1 the email or password is wrong (invalid_grant) or the IdP
failed, 2 bad flags.`,
		Example: `  echo 'correct horse' | cutover login --idp http://127.0.0.1:8787 --email user1@example.com
  cutover login --idp http://127.0.0.1:8787 --email user1@example.com --json < password.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogin(cmd, a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.idp, "idp", "", "issuer URL of the IdP (its /.well-known/openid-configuration is read)")
	fl.StringVar(&f.email, "email", "", "email (or phone number / username) to sign in with")
	fl.StringVar(&f.clientID, "client-id", "cutover", "OAuth client id (public, no secret)")
	fl.BoolVar(&f.json, "json", false, "print {claims, access_token_expiry, scope} instead of the bare claims")
	_ = cmd.MarkFlagRequired("idp")
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
	password, err := readPassword(a.stdin, "echo 'secret' | cutover login ...")
	if err != nil {
		return err
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
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
