package lazy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/directory"
)

// delegator forwards credentials to the legacy app's own login endpoint, for legacy
// systems whose hash scheme is unknown or secret.
type delegator struct {
	url           string
	json          bool
	emailField    string
	passwordField string
	status        int
	successField  string // dotted path into the JSON reply that must be true
	client        *http.Client
	// bind, when set (lazy.bind), lets the directory decide by a bind as the user:
	// Active Directory and locked-down OpenLDAP have no hash the bridge could read.
	bind *directory.BindVerifier
}

func newDelegator(p *strategies.Plan, c *http.Client) (*delegator, error) {
	d := p.Lazy.Delegate
	u, err := strategies.Expand("lazy.delegate.url", d.URL)
	if err != nil {
		return nil, err
	}
	if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "lazy.delegate.url", Message: "is not an absolute http(s) URL; give the legacy app's login endpoint"}
	}
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	out := &delegator{url: u, json: d.Encoding == "json", emailField: d.EmailField, passwordField: d.PasswordField,
		status: d.SuccessStatus, successField: d.SuccessField, client: c}
	if out.emailField == "" {
		out.emailField = "email"
	}
	if out.passwordField == "" {
		out.passwordField = "password"
	}
	if out.status == 0 {
		out.status = http.StatusOK
	}
	return out, nil
}

// check asks the legacy app whether login and password sign in. A refusal (any status
// but the success one, below 500, or a success status without the success field) is
// false; a 5xx or an unreachable app is an error.
func (d *delegator) check(ctx context.Context, login, password string) (bool, error) {
	if d.bind != nil {
		return d.bind.Verify(ctx, login, password)
	}
	var body []byte
	ctype := "application/x-www-form-urlencoded"
	if d.json {
		body, _ = json.Marshal(map[string]string{d.emailField: login, d.passwordField: password})
		ctype = "application/json"
	} else {
		body = []byte(url.Values{d.emailField: {login}, d.passwordField: {password}}.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("delegate sign-in: %w", err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Accept", "application/json")
	resp, err := d.client.Do(req)
	if err != nil {
		// The URL may carry the form; the error must not: report the host only.
		return false, fmt.Errorf("delegate sign-in to %s: the legacy app cannot be reached", req.URL.Host)
	}
	defer resp.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return false, fmt.Errorf("delegate sign-in to %s: read reply: %w", req.URL.Host, err)
	}
	if resp.StatusCode >= 500 {
		return false, fmt.Errorf("delegate sign-in to %s: the legacy app answered HTTP %d", req.URL.Host, resp.StatusCode)
	}
	if resp.StatusCode != d.status {
		return false, nil
	}
	if d.successField == "" {
		return true, nil
	}
	var v any
	if json.Unmarshal(reply, &v) != nil {
		return false, nil
	}
	for _, part := range strings.Split(d.successField, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return false, nil
		}
		v = m[part]
	}
	ok, _ := v.(bool)
	return ok, nil
}

// verifyDelegated lets the legacy app decide, then takes the profile of u, the record
// lookup found for login. When several records match the login and none exactly, the
// bridge cannot know which one the app accepted, and refuses rather than hand the IdP
// another person's profile.
func (b *Bridge) verifyDelegated(ctx context.Context, u *strategies.User, ambiguous bool, login, password string) (Result, error) {
	ok, err := b.delegate.check(ctx, login, password)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{Reason: ReasonWrong}, nil
	}
	if ambiguous {
		b.log.Warn("the legacy app accepted a login several legacy records share, none exactly; refused", "dialect", b.dialect)
		return Result{Reason: ReasonAmbiguous}, nil
	}
	if u == nil && b.delegate.bind != nil {
		// The directory holds more accounts than the source reads (service accounts,
		// entries outside source.ldap.filter or base_dn): a bind proves a password, not
		// that the account is a user to migrate.
		b.log.Warn("the directory accepted a bind for an account the source does not read; refused")
		return Result{Reason: ReasonWrong}, nil
	}
	if u == nil {
		// The legacy app knows the user but the source does not: sign in with what we know.
		b.log.Warn("the legacy app accepted a user the source does not have; user_info holds the identifier only")
		u = &strategies.User{}
		if strings.Contains(login, "@") {
			u.Email = login
		} else {
			u.PreferredUsername = login
		}
	}
	res := Result{User: scrub(u)}
	if u.Disabled {
		res.Reason = ReasonDisabled
		return res, nil
	}
	res.OK = true
	res.UserInfo = b.userInfoOf(u)
	return res, nil
}
