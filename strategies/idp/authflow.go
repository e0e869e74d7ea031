package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
)

// Authentication Flow API paths (Authgear's headless sign-in, on the project's public
// origin, not the Admin API).
const (
	PathAuthFlows      = "/api/v1/authentication_flows"
	PathAuthFlowsInput = "/api/v1/authentication_flows/states/input"
)

// AuthFlowConfig says how to reach an Authgear project's Authentication Flow API.
type AuthFlowConfig struct {
	// BaseURL is the project's public origin, e.g. https://myapp.authgear.cloud (the
	// Admin API's origin is another one on a self-hosted Authgear).
	BaseURL string
	// FlowName is the login flow to run; "" is "default", Authgear's built-in flow.
	FlowName string
	// Identification forces the login id kind ("email", "phone" or "username"); ""
	// guesses from the login: an @ is an email, a leading + a phone number.
	Identification string
	// Lookup, when set, finds the signed-in user's id for SignInResult.Subject (the flow
	// itself does not name the user); when it is also a PasswordChecker, a refusal of a
	// user without a password says so. A *Client on the Admin API is both.
	Lookup Looker
	// HTTP is the client to use (its Jar is ignored: every sign-in gets its own); nil
	// means one with a 30 s timeout.
	HTTP  *http.Client
	Retry Retry        // zero means DefaultRetry(): a 429 from the rate limiter is waited out
	Log   *slog.Logger // nil means discard
}

// AuthFlow signs users in at Authgear the way its login page does, through the
// Authentication Flow API: create a login flow, identify by login id, authenticate
// with the primary password. It is a strategies.SignIner.
type AuthFlow struct {
	base  *url.URL
	cfg   AuthFlowConfig
	http  *http.Client
	retry Retry
	log   *slog.Logger
}

var _ strategies.SignIner = (*AuthFlow)(nil)

// NewAuthFlow returns an AuthFlow for cfg.
func NewAuthFlow(cfg AuthFlowConfig) (*AuthFlow, error) {
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("idp: %q is not an absolute URL (want the project's public origin)", cfg.BaseURL)
	}
	switch cfg.Identification {
	case "", "email", "phone", "username":
	default:
		return nil, fmt.Errorf("idp: identification %q is not email, phone or username", cfg.Identification)
	}
	if cfg.FlowName == "" {
		cfg.FlowName = "default"
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	r := cfg.Retry
	if r.Attempts == 0 {
		r = DefaultRetry()
	}
	l := cfg.Log
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	return &AuthFlow{base: u, cfg: cfg, http: hc, retry: r, log: l}, nil
}

// Stable reasons of a refused sign-in (SignInResult.Reason starts with one).
const (
	ReasonInvalidCredentials = "invalid_credentials"
	ReasonDisabled           = "disabled"
	ReasonUnknownUser        = "unknown_user"
	ReasonNoPassword         = "no_password"
	ReasonLocked             = "locked"
	ReasonOutsideValidPeriod = "outside_valid_period"
	ReasonDeleted            = "scheduled_for_deletion"
)

// refusals maps Authgear's error reasons that mean "this user cannot sign in with this
// password" to cutover's stable reasons; any other error is an error, not a refusal.
var refusals = map[string]string{
	"InvalidCredentials":            ReasonInvalidCredentials,
	"DisabledUser":                  ReasonDisabled,
	"UserNotFound":                  ReasonUnknownUser,
	"AccountLockout":                ReasonLocked,
	"UserOutsideValidPeriod":        ReasonOutsideValidPeriod,
	"ScheduledDeletionByAdmin":      ReasonDeleted,
	"ScheduledDeletionByEndUser":    ReasonDeleted,
	"ScheduledAnonymizationByAdmin": ReasonDeleted,
	"AnonymizedUser":                ReasonDeleted,
}

// flowState is the part of an Authentication Flow answer the sign-in reads.
type flowState struct {
	StateToken string `json:"state_token"`
	Action     struct {
		Type           string `json:"type"`
		Authentication string `json:"authentication"`
		Data           struct {
			Options []struct {
				Identification string `json:"identification"`
				Authentication string `json:"authentication"`
			} `json:"options"`
		} `json:"data"`
	} `json:"action"`
}

// SignIn runs one login flow. A refusal (wrong password, disabled, unknown, no
// password) is a result with OK false and a reason; an error means the flow could not
// be run to an answer.
func (a *AuthFlow) SignIn(ctx context.Context, login, password string) (strategies.SignInResult, error) {
	jar, _ := cookiejar.New(nil) // never fails with nil options
	hc := *a.http
	hc.Jar = jar // the flow may keep state in cookies; users never share them
	kind := a.cfg.Identification
	if kind == "" {
		kind = identificationOf(login)
	}

	st, res, err := a.post(ctx, &hc, PathAuthFlows, map[string]any{"type": "login", "name": a.cfg.FlowName})
	if err != nil || res != nil {
		return orFail(res, err, "start a login flow")
	}
	if st.Action.Type != "identify" {
		return strategies.SignInResult{}, fmt.Errorf("start a login flow: the flow asks to %q, want identify", st.Action.Type)
	}
	if !st.offers(kind, "") {
		return strategies.SignInResult{}, fmt.Errorf("the login flow %q offers no %s identification (it offers %s): enable that login id in the project", a.cfg.FlowName, kind, st.optionList())
	}

	st, res, err = a.post(ctx, &hc, PathAuthFlowsInput, map[string]any{
		"state_token": st.StateToken,
		"input":       map[string]any{"identification": kind, "login_id": login},
	})
	if err != nil || res != nil {
		return orFail(res, err, "identify")
	}
	if st.Action.Type != "authenticate" {
		return strategies.SignInResult{}, fmt.Errorf("identify: the flow asks to %q, want authenticate", st.Action.Type)
	}
	if !st.offers("", "primary_password") {
		// Authgear names the ways this user can sign in; a user imported without a
		// password has none that takes one.
		return strategies.SignInResult{Reason: ReasonNoPassword + ": the user can sign in only with " + st.optionList()}, nil
	}

	st, res, err = a.post(ctx, &hc, PathAuthFlowsInput, map[string]any{
		"state_token": st.StateToken,
		"input":       map[string]any{"authentication": "primary_password", "password": password},
	})
	if err == nil && res != nil && strings.HasPrefix(res.Reason, ReasonInvalidCredentials) {
		// Authgear offers the password step to a user imported without a password and
		// then answers as for a wrong one; the Admin API can tell the two apart.
		if pc, ok := a.cfg.Lookup.(PasswordChecker); ok {
			if known, has, cerr := pc.HasPrimaryPassword(ctx, lookupIdentifier[kind], login); cerr == nil && known && !has {
				res.Reason = ReasonNoPassword + ": InvalidCredentials (the user has no password at the target)"
			}
		}
	}
	if err != nil || res != nil {
		return orFail(res, err, "authenticate")
	}
	out := strategies.SignInResult{OK: true}
	if st.Action.Type != "finished" {
		// The password was accepted; the project asks for more (a second factor, a new
		// password). Signing in is the user's to finish, the password is proven.
		out.Reason = "password accepted; the flow then asks to " + st.Action.Type
		if st.Action.Authentication != "" {
			out.Reason += " (" + st.Action.Authentication + ")"
		}
	}
	if a.cfg.Lookup != nil {
		if u, err := a.cfg.Lookup.LookupUser(ctx, lookupIdentifier[kind], login); err == nil && u != nil {
			out.Subject = u.ID
		} else if err != nil {
			return out, fmt.Errorf("signed in, but looking the user up failed: %w", err)
		}
	}
	return out, nil
}

// orFail turns a refusal or an error of one step into SignIn's answer.
func orFail(res *strategies.SignInResult, err error, step string) (strategies.SignInResult, error) {
	if err != nil {
		return strategies.SignInResult{}, fmt.Errorf("%s: %w", step, err)
	}
	return *res, nil
}

// lookupIdentifier maps the flow's identification kinds to cutover's identifiers.
var lookupIdentifier = map[string]string{"email": "email", "phone": "phone_number", "username": "preferred_username"}

func identificationOf(login string) string {
	switch {
	case strings.Contains(login, "@"):
		return "email"
	case strings.HasPrefix(login, "+"):
		return "phone"
	}
	return "username"
}

func (s *flowState) offers(identification, authentication string) bool {
	for _, o := range s.Action.Data.Options {
		if identification != "" && o.Identification == identification ||
			authentication != "" && o.Authentication == authentication {
			return true
		}
	}
	return false
}

func (s *flowState) optionList() string {
	var names []string
	for _, o := range s.Action.Data.Options {
		names = append(names, o.Identification+o.Authentication)
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// post sends one step of the flow, waiting out rate limits and transient failures.
// It returns the new state, or a refusal when Authgear refused the user, or an error.
func (a *AuthFlow) post(ctx context.Context, hc *http.Client, path string, body any) (*flowState, *strategies.SignInResult, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, nil, err
	}
	u := a.base.JoinPath(path).String()
	for attempt := 1; ; attempt++ {
		status, answer, retryAfter, err := flowOnce(ctx, hc, u, data)
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		transient := err != nil && IsTransient(err) || err == nil && retryableAnswer(status, answer)
		if !transient || attempt >= a.retry.Attempts {
			if err != nil {
				return nil, nil, err
			}
			return decodeFlow(status, answer)
		}
		wait := a.retry.Backoff(attempt, retryAfter)
		a.log.DebugContext(ctx, "retrying a sign-in step", "path", path, "status", status, "err", err, "wait", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
	}
}

// flowOnce sends one request. The password is in the body: it never reaches a log.
func flowOnce(ctx context.Context, hc *http.Client, u string, body []byte) (int, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, data, ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), nil
}

// decodeFlow reads an Authentication Flow answer: {"result": state} or {"error": ...}.
func decodeFlow(status int, data []byte) (*flowState, *strategies.SignInResult, error) {
	var env struct {
		Result *flowState `json:"result"`
		Error  *APIError  `json:"error"`
	}
	if err := json.Unmarshal(data, &env); err != nil {
		return nil, nil, &APIError{Status: status, Message: FirstLine(data)}
	}
	if env.Error != nil {
		env.Error.Status = status
		if r, ok := refusals[env.Error.Reason]; ok {
			return nil, &strategies.SignInResult{Reason: r + ": " + env.Error.Reason + " (" + env.Error.Message + ")"}, nil
		}
		// Not APIError itself: its hint about Admin API tokens does not apply here.
		return nil, nil, fmt.Errorf("HTTP %d %s (%s): %s", status, env.Error.Name, env.Error.Reason, env.Error.Message)
	}
	if env.Result == nil || env.Result.StateToken == "" {
		return nil, nil, errors.New("the answer has no state_token")
	}
	return env.Result, nil, nil
}
