// Package signin signs users in at an OpenID Connect provider with the OAuth 2.0
// password grant, the way a rehearsal or `cutover login` proves a user can sign in: the
// token comes from the provider's token endpoint and the ID token is checked with a
// standard verifier (signature, issuer, audience, expiry).
package signin

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/cutover/cutover/strategies"
)

// PasswordGrant signs users in at the provider whose issuer URL is Issuer, as the public
// client ClientID (no secret). It is a strategies.SignIner.
type PasswordGrant struct {
	Issuer   string
	ClientID string
	Scopes   []string // default openid and email

	once     sync.Once
	provider *oidc.Provider
	discErr  error
}

var _ strategies.SignIner = (*PasswordGrant)(nil)

// Errors of Token when the provider said yes but its answer does not prove the sign-in.
var (
	ErrNoIDToken   = errors.New("the token response has no id_token")
	ErrNotVerified = errors.New("the ID token does not verify")
)

// discover reads the discovery document once, through HTTP, like any OIDC client.
func (g *PasswordGrant) discover(ctx context.Context) (*oidc.Provider, error) {
	g.once.Do(func() {
		// The provider keeps ctx for fetching keys later: it must outlive this call.
		g.provider, g.discErr = oidc.NewProvider(context.WithoutCancel(ctx), strings.TrimRight(g.Issuer, "/"))
		if g.discErr != nil {
			g.discErr = fmt.Errorf("read the discovery document of %s: %w", g.Issuer, g.discErr)
		}
	})
	return g.provider, g.discErr
}

// Token signs login in with password and returns the token response and the verified
// ID token. A refusal is an error wrapping the provider's *oauth2.RetrieveError.
func (g *PasswordGrant) Token(ctx context.Context, login, password string) (*oauth2.Token, *oidc.IDToken, error) {
	p, err := g.discover(ctx)
	if err != nil {
		return nil, nil, err
	}
	e := p.Endpoint()
	// A public client: the id goes in the form. Left to auto-detection, x/oauth2 first
	// tries a Basic header and repeats a refused request, so one wrong password would
	// count twice against the provider's (and a lazy bridge's) attempt limits.
	e.AuthStyle = oauth2.AuthStyleInParams
	conf := &oauth2.Config{ClientID: g.ClientID, Endpoint: e, Scopes: g.Scopes}
	if len(conf.Scopes) == 0 {
		conf.Scopes = []string{oidc.ScopeOpenID, "email"}
	}
	tok, err := conf.PasswordCredentialsToken(ctx, login, password)
	if err != nil {
		return nil, nil, fmt.Errorf("password grant at %s: %w", e.TokenURL, err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return tok, nil, ErrNoIDToken
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: g.ClientID}).Verify(ctx, raw)
	if err != nil {
		return tok, nil, fmt.Errorf("%w: %w", ErrNotVerified, err)
	}
	return tok, idt, nil
}

// SignIn signs a user in and checks that the ID token is for this login. A refusal, or
// a token that does not verify, is a result with the reason, never an error.
func (g *PasswordGrant) SignIn(ctx context.Context, login, password string) (strategies.SignInResult, error) {
	_, idt, err := g.Token(ctx, login, password)
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re):
		return strategies.SignInResult{Reason: Reason(re)}, nil
	case errors.Is(err, ErrNoIDToken), errors.Is(err, ErrNotVerified):
		return strategies.SignInResult{Reason: err.Error()}, nil
	case err != nil:
		return strategies.SignInResult{}, err
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err == nil && claims.Email != "" && !strings.EqualFold(claims.Email, login) {
		return strategies.SignInResult{Reason: fmt.Sprintf("the ID token is for %s, not %s", claims.Email, login)}, nil
	}
	return strategies.SignInResult{OK: true, Subject: idt.Subject}, nil
}

// Reason is the provider's refusal in short: "invalid_grant: wrong password".
func Reason(re *oauth2.RetrieveError) string {
	switch {
	case re.ErrorDescription != "":
		return re.ErrorCode + ": " + re.ErrorDescription
	case re.ErrorCode != "":
		return re.ErrorCode
	}
	return re.Error()
}
