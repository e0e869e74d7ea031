package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// SessionVerifier checks a session the IdP issued, for IdPs whose sign-ins end in a
// session rather than an OIDC access token (Ory Kratos). Config.Sessions takes one.
type SessionVerifier interface {
	// VerifySession returns who the request's session belongs to; ErrNoSession when
	// the request carries none, another error when the IdP refuses it or cannot answer.
	VerifySession(ctx context.Context, r *http.Request) (Identity, error)
}

// ErrNoSession is returned by a SessionVerifier for a request without a session.
var ErrNoSession = errors.New("no session")

// errSessionRefused is the IdP's answer that the session is not (or no longer) valid.
var errSessionRefused = errors.New("the IdP refused the session")

// KratosSessions verifies Ory Kratos sessions with its public API's /sessions/whoami:
// the session token of an API client (X-Session-Token, or Authorization: Bearer) or
// the browser's session cookie (ory_kratos_session, forwarded as it came). The
// identity's id is the subject; its email trait is the email, verified when one of the
// identity's verifiable addresses with that value is.
type KratosSessions struct {
	// PublicURL is Kratos's public API, e.g. http://127.0.0.1:4433.
	PublicURL string
	// HTTPClient calls it; nil means one with a DefaultTimeout.
	HTTPClient *http.Client
}

var _ SessionVerifier = (*KratosSessions)(nil)

// kratosCookie is the name of Kratos's session cookie.
const kratosCookie = "ory_kratos_session"

// VerifySession implements SessionVerifier.
func (k *KratosSessions) VerifySession(ctx context.Context, r *http.Request) (Identity, error) {
	token := strings.TrimSpace(r.Header.Get("X-Session-Token"))
	if token == "" {
		token, _ = bearer(r)
	}
	cookie, _ := r.Cookie(kratosCookie)
	if token == "" && cookie == nil {
		return Identity{}, ErrNoSession
	}
	u, err := url.JoinPath(k.PublicURL, "/sessions/whoami")
	if err != nil {
		return Identity{}, fmt.Errorf("kratos sessions: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Identity{}, err
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("X-Session-Token", token)
	} else {
		req.AddCookie(&http.Cookie{Name: kratosCookie, Value: cookie.Value})
	}
	hc := k.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Identity{}, fmt.Errorf("kratos sessions: ask whoami: %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	switch {
	case err != nil:
		return Identity{}, fmt.Errorf("kratos sessions: read whoami: %w", err)
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return Identity{}, errSessionRefused
	case resp.StatusCode != http.StatusOK:
		return Identity{}, fmt.Errorf("kratos sessions: whoami answered %s", resp.Status)
	}
	return kratosIdentity(data)
}

// kratosIdentity reads the identity of a whoami answer.
func kratosIdentity(data []byte) (Identity, error) {
	var s struct {
		Active   bool `json:"active"`
		Identity struct {
			ID         string          `json:"id"`
			Traits     json.RawMessage `json:"traits"`
			Verifiable []struct {
				Value    string `json:"value"`
				Via      string `json:"via"`
				Verified bool   `json:"verified"`
			} `json:"verifiable_addresses"`
		} `json:"identity"`
	}
	if err := json.Unmarshal(data, &s); err != nil {
		return Identity{}, fmt.Errorf("kratos sessions: decode whoami: %w", err)
	}
	if !s.Active || s.Identity.ID == "" {
		return Identity{}, errSessionRefused
	}
	id := Identity{Subject: s.Identity.ID}
	// Traits are the user's to edit: read them strictly, as claims are.
	traits, err := parseClaims(s.Identity.Traits)
	if err != nil {
		return Identity{}, fmt.Errorf("kratos sessions: %w", err)
	}
	id.Email = traits.str("email")
	for _, a := range s.Identity.Verifiable {
		if a.Via == "email" && a.Verified && strings.EqualFold(a.Value, id.Email) {
			id.EmailVerified = true
		}
	}
	id.Claims = map[string]any{"sub": id.Subject}
	if id.Email != "" {
		id.Claims["email"] = id.Email
	}
	return id, nil
}
