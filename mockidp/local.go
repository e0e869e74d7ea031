package mockidp

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/cutover/cutover/strategies"
)

// Local is a mock IdP serving on a loopback port for a run or a rehearsal on this
// machine. It signs users in the way a rehearsal needs: SignIn is the password grant
// (a strategies.SignIner), SignInWithCode the one-time code of a user imported without
// a password.
type Local struct {
	*Server
	Info Info // issuer, project, admin key: what a client of the import API needs

	once     sync.Once
	provider *oidc.Provider
	discErr  error
}

var _ strategies.SignIner = (*Local)(nil)

// StartLocal builds a mock IdP from cfg and serves it on a free 127.0.0.1 port. Close
// stops it. It is the one place cutover starts the bundled IdP in-process.
func StartLocal(cfg Config) (*Local, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("start the mock IdP: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("start the mock IdP: %w", err)
	}
	if err := s.Start(ln); err != nil {
		s.Close()
		return nil, fmt.Errorf("start the mock IdP: %w", err)
	}
	return &Local{Server: s, Info: s.Config()}, nil
}

// discover reads the IdP's own discovery document once, through HTTP, so sign-ins and
// token checks go the way any OIDC client's would.
func (l *Local) discover(ctx context.Context) (*oidc.Provider, error) {
	l.once.Do(func() {
		// The provider keeps ctx for fetching keys later: it must outlive this call.
		l.provider, l.discErr = oidc.NewProvider(context.WithoutCancel(ctx), l.Info.Issuer)
		if l.discErr != nil {
			l.discErr = fmt.Errorf("discover the mock IdP: %w", l.discErr)
		}
	})
	return l.provider, l.discErr
}

func (l *Local) oauth(p *oidc.Provider) *oauth2.Config {
	e := p.Endpoint()
	// A public client: the id goes in the form. Left to auto-detection, x/oauth2 would
	// repeat a refused request, and one wrong password would count twice.
	e.AuthStyle = oauth2.AuthStyleInParams
	return &oauth2.Config{ClientID: ClientID, Endpoint: e, Scopes: []string{oidc.ScopeOpenID, "email"}}
}

// SignIn signs a user in with the password grant and checks the ID token with a standard
// OIDC verifier (signature, issuer, audience, expiry) and that it is for this login. A
// refusal is a result with the IdP's reason, never an error.
func (l *Local) SignIn(ctx context.Context, login, password string) (strategies.SignInResult, error) {
	p, err := l.discover(ctx)
	if err != nil {
		return strategies.SignInResult{}, err
	}
	tok, err := l.oauth(p).PasswordCredentialsToken(ctx, login, password)
	if err != nil {
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) {
			return strategies.SignInResult{}, fmt.Errorf("sign in at the mock IdP: %w", err)
		}
		return strategies.SignInResult{Reason: oauthReason(re)}, nil
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return strategies.SignInResult{Reason: "the token response has no id_token"}, nil
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: ClientID}).Verify(ctx, raw)
	if err != nil {
		return strategies.SignInResult{Reason: "the ID token does not verify: " + err.Error()}, nil
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err == nil && claims.Email != "" && !strings.EqualFold(claims.Email, login) {
		return strategies.SignInResult{Reason: fmt.Sprintf("the ID token is for %s, not %s", claims.Email, login)}, nil
	}
	return strategies.SignInResult{OK: true, Subject: idt.Subject}, nil
}

// SignInWithCode signs in a user imported without a password, as they would at the IdP:
// with a one-time code (issued here, in-process, as the mock-only admin endpoint would)
// exchanged through the password grant. It returns the access token; the code is never
// logged or returned.
func (l *Local) SignInWithCode(ctx context.Context, userID, login string) (string, error) {
	p, err := l.discover(ctx)
	if err != nil {
		return "", err
	}
	if _, err := l.store.byID(ctx, userID); err != nil {
		return "", fmt.Errorf("one-time code: no user %s at the mock IdP", userID)
	}
	code := l.issueOTP(userID)
	tok, err := l.oauth(p).PasswordCredentialsToken(ctx, login, code.Code)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			return "", fmt.Errorf("sign in with a one-time code: %s: %s", re.ErrorCode, re.ErrorDescription)
		}
		return "", fmt.Errorf("sign in with a one-time code: %w", err)
	}
	return tok.AccessToken, nil
}

// oauthReason is the IdP's refusal in short: "invalid_grant: wrong password".
func oauthReason(re *oauth2.RetrieveError) string {
	switch {
	case re.ErrorDescription != "":
		return re.ErrorCode + ": " + re.ErrorDescription
	case re.ErrorCode != "":
		return re.ErrorCode
	}
	return re.Error()
}
