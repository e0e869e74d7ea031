package kratos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
)

var _ strategies.SignIner = (*Client)(nil)

// Kratos's message ids (text/id.go, v1.3.1) a sign-in can end with.
const (
	MsgInvalidCredentials = 4000006 // wrong password, or no such identifier
	MsgIdentifierMissing  = 4000009
	MsgPasswordMaxLength  = 4000033 // a bcrypt hash and a password over 72 bytes
)

// Session is a signed-in session of the API flow.
type Session struct {
	Token      string // the session token (send as X-Session-Token)
	IdentityID string
	ExpiresAt  time.Time
}

type uiMessage struct {
	ID   int    `json:"id"`
	Text string `json:"text"`
	Type string `json:"type"`
}

// flowAnswer is a login flow as Kratos returns it (only what cutover reads).
type flowAnswer struct {
	ID string `json:"id"`
	UI struct {
		Messages []uiMessage `json:"messages"`
		Nodes    []struct {
			Messages []uiMessage `json:"messages"`
		} `json:"nodes"`
	} `json:"ui"`
}

type loginAnswer struct {
	SessionToken string `json:"session_token"`
	Session      struct {
		ID        string    `json:"id"`
		Active    bool      `json:"active"`
		ExpiresAt time.Time `json:"expires_at"`
		Identity  struct {
			ID string `json:"id"`
		} `json:"identity"`
	} `json:"session"`
}

// SignIn signs a user in through the self-service login API flow, the way a native
// app would: create a flow, submit the password method. A refusal is a result with OK
// false and a reason (invalid_credentials, disabled, password_too_long, ...); an
// error means the sign-in could not be attempted.
func (c *Client) SignIn(ctx context.Context, login, password string) (strategies.SignInResult, error) {
	s, reason, err := c.Login(ctx, login, password)
	if err != nil {
		return strategies.SignInResult{}, err
	}
	if s == nil {
		return strategies.SignInResult{Reason: reason}, nil
	}
	return strategies.SignInResult{OK: true, Subject: s.IdentityID}, nil
}

// Login is SignIn returning the session: nil and a reason when Kratos refused.
func (c *Client) Login(ctx context.Context, login, password string) (*Session, string, error) {
	if c.public == nil {
		return nil, "", &strategies.Error{Code: strategies.CodePlan, Field: "target.public_url", Message: "no Kratos public URL; set the public API's URL (port 4433 when self-hosted) to sign users in"}
	}
	status, data, _, err := c.send(ctx, c.public, http.MethodGet, PathLoginAPI, nil)
	if err != nil {
		return nil, "", err
	}
	if status != http.StatusOK {
		return nil, "", fmt.Errorf("create login flow: %w", decodeError(status, data))
	}
	var flow flowAnswer
	if err := json.Unmarshal(data, &flow); err != nil || flow.ID == "" {
		return nil, "", fmt.Errorf("kratos: create login flow: the answer has no flow id")
	}
	body, err := json.Marshal(map[string]string{"method": "password", "identifier": login, "password": password})
	if err != nil {
		return nil, "", err
	}
	// A submitted flow is not resent on a transient failure: Kratos may have counted
	// the attempt, and a rehearsal must not double a user's failed sign-ins. once, not send.
	u := c.public.JoinPath(PathLogin)
	u.RawQuery = url.Values{"flow": {flow.ID}}.Encode()
	status, data, _, err = c.once(ctx, false, http.MethodPost, u.String(), body)
	if err != nil {
		return nil, "", fmt.Errorf("kratos: submit login flow: %w", err)
	}
	switch status {
	case http.StatusOK:
		var ans loginAnswer
		if err := json.Unmarshal(data, &ans); err != nil || ans.SessionToken == "" {
			return nil, "", errors.New("kratos: the login answer has no session token")
		}
		return &Session{Token: ans.SessionToken, IdentityID: ans.Session.Identity.ID, ExpiresAt: ans.Session.ExpiresAt}, "", nil
	case http.StatusBadRequest:
		// The flow comes back with messages: the refusal and its reason.
		var f flowAnswer
		if err := json.Unmarshal(data, &f); err == nil && f.ID != "" {
			return nil, refusal(f), nil
		}
	case http.StatusUnauthorized, http.StatusForbidden:
		if e, ok := decodeError(status, data).(*APIError); ok && strings.Contains(strings.ToLower(e.Reason+e.Message), "disabled") {
			return nil, "disabled: " + e.Reason, nil
		}
	}
	return nil, "", fmt.Errorf("submit login flow: %w", decodeError(status, data))
}

// refusal turns a refused flow's messages into a SignInResult reason.
func refusal(f flowAnswer) string {
	msgs := f.UI.Messages
	for _, n := range f.UI.Nodes {
		msgs = append(msgs, n.Messages...)
	}
	for _, m := range msgs {
		switch m.ID {
		case MsgInvalidCredentials:
			return "invalid_credentials"
		case MsgPasswordMaxLength:
			return "password_too_long: " + m.Text
		case MsgIdentifierMissing:
			return "unknown_user: " + m.Text
		}
	}
	if len(msgs) > 0 {
		return "refused: " + strconv.Itoa(msgs[0].ID) + " " + msgs[0].Text
	}
	return "refused"
}

// WhoAmI checks a session token at /sessions/whoami: the session when it is active,
// nil when Kratos says it is not (expired, revoked, unknown token).
func (c *Client) WhoAmI(ctx context.Context, token string) (*Session, error) {
	if c.public == nil {
		return nil, errors.New("kratos: no public URL")
	}
	u := c.public.JoinPath(PathWhoami)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Session-Token", token)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("kratos: whoami: %w", err)
	}
	defer resp.Body.Close()
	var ans struct {
		ID        string    `json:"id"`
		Active    bool      `json:"active"`
		ExpiresAt time.Time `json:"expires_at"`
		Identity  struct {
			ID string `json:"id"`
		} `json:"identity"`
	}
	switch resp.StatusCode {
	case http.StatusOK:
		if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
			return nil, fmt.Errorf("kratos: whoami: decode answer: %w", err)
		}
		if !ans.Active {
			return nil, nil
		}
		return &Session{Token: token, IdentityID: ans.Identity.ID, ExpiresAt: ans.ExpiresAt}, nil
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, nil
	}
	var buf [4096]byte
	n, _ := resp.Body.Read(buf[:])
	return nil, fmt.Errorf("kratos: whoami: %w", decodeError(resp.StatusCode, buf[:n]))
}
