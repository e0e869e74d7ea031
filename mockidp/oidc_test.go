package mockidp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// signInClient fetches the sign-in page, submits its form as a browser would, and returns
// the redirect to the client's callback without following it.
func signInClient() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// browserSignIn follows authURL through the HTML page and returns the callback URL.
func browserSignIn(t *testing.T, authURL, login, password string) (*url.URL, int) {
	t.Helper()
	c := signInClient()
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("GET sign-in page: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("sign-in page: got HTTP %d %s, want an HTML page", resp.StatusCode, page)
	}
	form := url.Values{"login": {login}, "password": {password}, "action": {"signin"}}
	for _, m := range hiddenInput.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], htmlUnescape(m[2]))
	}
	action := regexp.MustCompile(`<form method="post" action="([^"]+)"`).FindStringSubmatch(string(page))
	if action == nil {
		t.Fatalf("sign-in page has no form: %s", page)
	}
	u, _ := url.Parse(authURL)
	ref, _ := url.Parse(htmlUnescape(action[1]))
	resp, err = c.PostForm(u.ResolveReference(ref).String(), form)
	if err != nil {
		t.Fatalf("POST sign-in form: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return nil, resp.StatusCode
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("redirect Location: %v", err)
	}
	return loc, resp.StatusCode
}

func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&#43;", "+").Replace(s)
}

func randomString(t *testing.T) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestOIDCAuthorizationCodePKCE(t *testing.T) {
	s := startServer(t, Config{})
	importAndWait(t, s, map[string]any{"identifier": "email", "records": seedRecords(t)})
	ctx := context.Background()
	provider, err := oidc.NewProvider(ctx, s.Config().Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := oauth2.Config{ClientID: ClientID, Endpoint: provider.Endpoint(), RedirectURL: "http://127.0.0.1:53682/callback",
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"}}
	verifier := provider.Verifier(&oidc.Config{ClientID: ClientID})

	state, nonce, pkce := randomString(t), randomString(t), oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(pkce))
	cb, status := browserSignIn(t, authURL, "user2@example.com", "battery staple 2")
	if cb == nil {
		t.Fatalf("sign-in: got HTTP %d, want a redirect to the callback", status)
	}
	if got := cb.Scheme + "://" + cb.Host + cb.Path; got != conf.RedirectURL {
		t.Fatalf("redirect: got %s, want %s", got, conf.RedirectURL)
	}
	if got := cb.Query().Get("state"); got != state {
		t.Fatalf("state: got %q, want %q", got, state)
	}
	code := cb.Query().Get("code")

	t.Run("wrong code_verifier is refused", func(t *testing.T) {
		// A separate code: a failed exchange burns the code it used.
		cb2, _ := browserSignIn(t, conf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce)), "user2@example.com", "battery staple 2")
		_, err := conf.Exchange(ctx, cb2.Query().Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if !isInvalidGrant(err) {
			t.Fatalf("got %v, want invalid_grant", err)
		}
	})

	tok, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := verifier.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("verify ID token: %v", err)
	}
	if idt.Nonce != nonce {
		t.Fatalf("nonce: got %q, want %q", idt.Nonce, nonce)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var claims struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != "user2@example.com" || claims.Name != "John Doe" {
		t.Errorf("claims: got %+v (%v), want user2@example.com / John Doe", claims, err)
	}

	t.Run("code is single use", func(t *testing.T) {
		if _, err := conf.Exchange(ctx, code, oauth2.VerifierOption(pkce)); !isInvalidGrant(err) {
			t.Fatalf("got %v, want invalid_grant", err)
		}
	})

	t.Run("verifier rejects", func(t *testing.T) {
		keys := oidc.NewRemoteKeySet(ctx, s.Config().Issuer+PathJWKS)
		tampered := rawID[:len(rawID)-4] + "AAAA"
		for _, tc := range []struct {
			name string
			v    *oidc.IDTokenVerifier
			tok  string
		}{
			{"another audience", provider.Verifier(&oidc.Config{ClientID: "another-client"}), rawID},
			{"another issuer", oidc.NewVerifier("http://idp.invalid", keys, &oidc.Config{ClientID: ClientID}), rawID},
			{"after expiry", provider.Verifier(&oidc.Config{ClientID: ClientID, Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}), rawID},
			{"a tampered signature", verifier, tampered},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if _, err := tc.v.Verify(ctx, tc.tok); err == nil {
					t.Fatal("got a verified token, want an error")
				}
			})
		}
	})

	t.Run("access token has Authgear's shape and the ID token is no access token", func(t *testing.T) {
		// Authgear's JWT access tokens: aud is the project endpoint, client_id the app.
		at, err := oidc.NewVerifier(s.Config().Issuer, oidc.NewRemoteKeySet(ctx, s.Config().Issuer+PathJWKS),
			&oidc.Config{SkipClientIDCheck: true}).Verify(ctx, tok.AccessToken)
		if err != nil {
			t.Fatalf("verify the access token: %v", err)
		}
		var c struct {
			ClientID string `json:"client_id"`
		}
		if err := at.Claims(&c); err != nil || len(at.Audience) != 1 || at.Audience[0] != s.Config().Issuer || c.ClientID != ClientID {
			t.Errorf("access token: got aud %q client_id %q (%v), want aud [%s] and client_id %s", at.Audience, c.ClientID, err, s.Config().Issuer, ClientID)
		}
		req, _ := http.NewRequest(http.MethodGet, s.Config().Issuer+PathUserinfo, nil)
		req.Header.Set("Authorization", "Bearer "+rawID)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("userinfo with the ID token as bearer: got HTTP %d, want 401", resp.StatusCode)
		}
	})

	t.Run("userinfo get and post", func(t *testing.T) {
		ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		if err != nil {
			t.Fatalf("userinfo: %v", err)
		}
		if ui.Subject != idt.Subject || ui.Email != "user2@example.com" {
			t.Fatalf("userinfo: got sub %q email %q, want %q user2@example.com", ui.Subject, ui.Email, idt.Subject)
		}
		hc := conf.Client(ctx, tok)
		resp, err := hc.Post(s.Config().Issuer+PathUserinfo, "application/json", strings.NewReader(`{"plan":"gold","legacy_id":42}`))
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("POST userinfo: got %v %v, want 200", resp, err)
		}
		resp.Body.Close()
		ui, err = provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
		var blob map[string]any
		if err != nil || ui.Claims(&blob) != nil || blob["plan"] != "gold" || blob["sub"] != idt.Subject {
			t.Fatalf("userinfo after POST: got %v (%v), want plan gold and sub", blob, err)
		}
		resp, err = hc.Post(s.Config().Issuer+PathUserinfo, "application/json", strings.NewReader(`{"sub":"someone-else"}`))
		if err != nil || resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("POST userinfo with sub: got %v %v, want 400", resp, err)
		}
		resp.Body.Close()
	})

	t.Run("refresh", func(t *testing.T) {
		old := tok.RefreshToken
		expired := &oauth2.Token{RefreshToken: old, Expiry: time.Now().Add(-time.Hour), AccessToken: "stale"}
		nt, err := conf.TokenSource(ctx, expired).Token()
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if nt.AccessToken == tok.AccessToken || nt.RefreshToken == old {
			t.Fatalf("refresh: got the same tokens, want new access and refresh tokens")
		}
		raw, _ := nt.Extra("id_token").(string)
		if nidt, err := verifier.Verify(ctx, raw); err != nil || nidt.Subject != idt.Subject {
			t.Fatalf("refreshed ID token: got %v %v, want subject %q", nidt, err, idt.Subject)
		}
		if _, err := conf.TokenSource(ctx, expired).Token(); !isInvalidGrant(err) {
			t.Fatalf("reusing a rotated refresh token: got %v, want invalid_grant", err)
		}
	})
}

func TestOIDCSignInPageErrors(t *testing.T) {
	s := startServer(t, Config{})
	importAndWait(t, s, map[string]any{"identifier": "email", "records": seedRecords(t)})
	iss := s.Config().Issuer
	pkce := oauth2.S256ChallengeOption(oauth2.GenerateVerifier())
	conf := oauth2.Config{ClientID: ClientID, Endpoint: oauth2.Endpoint{AuthURL: iss + PathAuthorize, TokenURL: iss + PathToken},
		RedirectURL: "http://localhost:9999/cb", Scopes: []string{"openid"}}

	t.Run("wrong password shows the page again", func(t *testing.T) {
		cb, status := browserSignIn(t, conf.AuthCodeURL("st", pkce), "user1@example.com", "nope")
		if cb != nil || status != http.StatusUnauthorized {
			t.Fatalf("got redirect %v status %d, want 401 and no redirect", cb, status)
		}
	})
	for _, tc := range []struct {
		name   string
		mutate func(q url.Values)
		status int
		errc   string
	}{
		{"no PKCE", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }, http.StatusFound, "invalid_request"},
		{"plain PKCE", func(q url.Values) { q.Set("code_challenge_method", "plain") }, http.StatusFound, "invalid_request"},
		{"token response type", func(q url.Values) { q.Set("response_type", "token") }, http.StatusFound, "unsupported_response_type"},
		{"non-loopback redirect", func(q url.Values) { q.Set("redirect_uri", "http://evil.example.com/cb") }, http.StatusBadRequest, ""},
		{"unknown client", func(q url.Values) { q.Set("client_id", "other") }, http.StatusBadRequest, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, _ := url.Parse(conf.AuthCodeURL("st", pkce))
			q := u.Query()
			tc.mutate(q)
			u.RawQuery = q.Encode()
			resp, err := signInClient().Get(u.String())
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("got HTTP %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.errc != "" {
				loc, _ := url.Parse(resp.Header.Get("Location"))
				if got := loc.Query().Get("error"); got != tc.errc || loc.Query().Get("state") != "st" {
					t.Fatalf("got error %q state %q, want %q and st", got, loc.Query().Get("state"), tc.errc)
				}
			}
		})
	}
}

func TestPasswordGrantUpgradesLegacyHash(t *testing.T) {
	s := startServer(t, Config{BcryptCost: 5})
	importAndWait(t, s, map[string]any{"identifier": "email", "records": seedRecords(t)[:1]})
	ctx := context.Background()
	before, err := s.store.findByLogin(ctx, "user1@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if before.PasswordNative {
		t.Fatalf("imported hash: got native, want legacy")
	}
	if _, err := passwordGrant(ctx, s, "user1@example.com", "correct horse 1"); err != nil {
		t.Fatalf("first sign-in: %v", err)
	}
	after, _ := s.store.findByLogin(ctx, "user1@example.com")
	if !after.PasswordNative || after.PasswordHash == before.PasswordHash || !strings.HasPrefix(after.PasswordHash, "$2a$05$") {
		t.Fatalf("after sign-in: got native=%v hash prefix %.7s, want a new native cost-5 bcrypt hash", after.PasswordNative, after.PasswordHash)
	}
	if _, err := passwordGrant(ctx, s, "user1@example.com", "correct horse 1"); err != nil {
		t.Fatalf("sign-in with the upgraded hash: %v", err)
	}
	if _, err := passwordGrant(ctx, s, "user1@example.com", "wrong"); !isInvalidGrant(err) {
		t.Fatalf("wrong password after upgrade: got %v, want invalid_grant", err)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	s := startServer(t, Config{})
	iss := s.Config().Issuer
	for _, tc := range []struct {
		name   string
		form   url.Values
		basic  [2]string
		status int
		errc   string
	}{
		{"unknown grant", url.Values{"grant_type": {"client_credentials"}, "client_id": {ClientID}}, [2]string{}, 400, "unsupported_grant_type"},
		{"unknown client", url.Values{"grant_type": {"password"}, "client_id": {"other"}}, [2]string{}, 401, "invalid_client"},
		{"secret on a public client", url.Values{"grant_type": {"password"}}, [2]string{ClientID, "s3cret"}, 401, "invalid_client"},
		{"missing grant", url.Values{"client_id": {ClientID}}, [2]string{}, 400, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, iss+PathToken, strings.NewReader(tc.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.basic[0] != "" {
				req.SetBasicAuth(tc.basic[0], tc.basic[1])
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(body), `"error":"`+tc.errc+`"`) {
				t.Fatalf("got HTTP %d %s, want %d %s", resp.StatusCode, body, tc.status, tc.errc)
			}
		})
	}
	t.Run("basic auth with empty secret works", func(t *testing.T) {
		conf := oauth2.Config{ClientID: ClientID, Endpoint: oauth2.Endpoint{TokenURL: iss + PathToken, AuthStyle: oauth2.AuthStyleInHeader}}
		_, err := conf.PasswordCredentialsToken(context.Background(), "nobody@example.com", "x")
		if !isInvalidGrant(err) {
			t.Fatalf("got %v, want invalid_grant (client accepted, user unknown)", err)
		}
	})
	t.Run("userinfo without token", func(t *testing.T) {
		resp, err := http.Get(iss + PathUserinfo)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("got HTTP %d, want 401", resp.StatusCode)
		}
	})
}
