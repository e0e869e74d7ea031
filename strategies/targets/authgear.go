package targets

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
)

// openAuthgear connects to an Authgear-compatible target described by the plan: the
// target's URL, project, key_file and key_id. The client looks users up and deletes them
// through the Admin API GraphQL; for a mock IdP given by URL it adds the mock's listing
// (Finder) and batch deletion.
func openAuthgear(_ context.Context, p *strategies.Plan, log *slog.Logger) (*idp.Target, error) {
	t := p.Target
	if t.URL == "" {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "target.url",
			Message: "missing; an in-process mock IdP is started by `cutover run` and `cutover rehearse`, otherwise give the target's URL"}
	}
	keyPath, err := p.Resolve("target.key_file", t.KeyFile)
	if err != nil {
		return nil, err
	}
	if keyPath == "" {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "target.key_file", Message: "missing; give the Admin API private key (PEM) file"}
	}
	key, err := idp.LoadKey(keyPath)
	if err != nil {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "target.key_file", Message: "cannot use the Admin API key", Err: err}
	}
	url, err := strategies.Expand("target.url", t.URL)
	if err != nil {
		return nil, err
	}
	c, err := idp.New(idp.Config{BaseURL: url, Project: t.Project, KeyID: t.KeyID, Key: key, Log: log})
	if err != nil {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "target.url", Message: "cannot use the target URL", Err: err}
	}
	out := &idp.Target{Importer: c, Hashes: idp.ProfileHashes(strategies.ProfileAuthgear), Name: c.BaseURL(), URL: url}
	if t.Kind == strategies.TargetMockIDP {
		out.Importer = &idp.MockClient{Client: c}
		if t.Profile != "" {
			out.Hashes = idp.ProfileHashes(t.Profile)
		}
	}
	return out, nil
}

// authgearSignIn signs users in through the project's Authentication Flow API at
// target.signin_url (target.url when unset), as its login page would; the Admin API
// tells a user imported without a password from a wrong password.
func authgearSignIn(ctx context.Context, p *strategies.Plan, log *slog.Logger) (strategies.SignIner, error) {
	b, err := openAuthgear(ctx, p, log)
	if err != nil {
		return nil, err
	}
	origin, err := strategies.Expand("target.signin_url", p.Target.SignInOrigin())
	if err != nil {
		return nil, err
	}
	var lookup idp.Looker
	if l, ok := b.Importer.(idp.Looker); ok {
		lookup = l
	}
	af, err := idp.NewAuthFlow(idp.AuthFlowConfig{BaseURL: origin, Lookup: lookup, Log: log})
	if err != nil {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "target.signin_url", Message: "cannot sign users in there", Err: err}
	}
	return af, nil
}

// checkTimeout bounds the target check: the wizard waits on it.
const checkTimeout = 15 * time.Second

// checkMock describes the in-process mock IdP, or checks a mock IdP given by URL as
// an Authgear.
func checkMock(ctx context.Context, p *strategies.Plan) (string, error) {
	t := p.Target
	if t.URL == "" {
		profile := cmp.Or(t.Profile, strategies.ProfileAuthgear)
		what := "imports bcrypt hashes only, like Authgear; other formats follow bulk.unsupported_hash"
		if profile == strategies.ProfilePermissive {
			what = "imports every hash format cutover can verify"
		}
		return fmt.Sprintf("Mock IdP: started in-process for the run (users kept in .cutover/mockidp); profile %s %s.", profile, what), nil
	}
	return checkAuthgear(ctx, p)
}

// checkAuthgear checks an Authgear-compatible target live: its discovery document is
// reachable and its Admin API takes the key (asking for an import job that does not
// exist must be a 404, not a 403).
func checkAuthgear(ctx context.Context, p *strategies.Plan) (string, error) {
	t := p.Target
	ctx, cancel := context.WithTimeout(ctx, checkTimeout)
	defer cancel()
	base, err := strategies.Expand("target.url", t.URL)
	if err != nil {
		return "", err
	}
	if base == "" {
		return "", &strategies.Error{Code: strategies.CodePlan, Field: "target.url", Message: "missing; give the IdP's base URL, e.g. https://myapp.authgear.cloud"}
	}
	base = strings.TrimRight(base, "/")
	hc := &http.Client{Timeout: checkTimeout}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", &strategies.Error{Code: strategies.CodePlan, Field: "target.url", Message: fmt.Sprintf("%q is not a URL; write e.g. https://myapp.authgear.cloud", base), Err: err}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", &strategies.Error{Code: strategies.CodeTarget, Field: "target.url", Message: "cannot reach " + base + "; check the URL and that this machine can reach it", Err: err}
	}
	var disc struct {
		Issuer string `json:"issuer"`
	}
	derr := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&disc)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || derr != nil {
		return "", &strategies.Error{Code: strategies.CodeTarget, Field: "target.url", Message: fmt.Sprintf("%s answered %s for its discovery document; is it the IdP's base URL (not a path below it)?", base, resp.Status)}
	}
	keyPath, err := p.Resolve("target.key_file", t.KeyFile)
	if err != nil {
		return "", err
	}
	key, err := idp.LoadKey(keyPath)
	if err != nil {
		return "", &strategies.Error{Code: strategies.CodePlan, File: keyPath, Field: "target.key_file", Message: "cannot read the Admin API private key (PEM); download it from the portal's Admin API page", Err: err}
	}
	c, err := idp.New(idp.Config{BaseURL: base, Project: t.Project, KeyID: t.KeyID, Key: key, HTTP: hc,
		Retry: idp.Retry{Attempts: 1, Base: time.Millisecond, Cap: time.Millisecond}})
	if err != nil {
		return "", err
	}
	_, err = c.GetImport(ctx, "cutover-wizard-check")
	var ae *idp.APIError
	switch {
	case errors.As(err, &ae) && ae.Status == http.StatusNotFound:
		return fmt.Sprintf("Connected to %s (issuer %s); the Admin API accepted the key for project %s.", base, disc.Issuer, t.Project), nil
	case errors.As(err, &ae) && (ae.Status == http.StatusForbidden || ae.Status == http.StatusUnauthorized):
		return "", &strategies.Error{Code: strategies.CodeTarget, Field: "target.key_file", Message: fmt.Sprintf("the Admin API refused the key (%s); check the project id (the token's audience), the key file and the key id", ae.Error())}
	case err == nil:
		return fmt.Sprintf("Connected to %s; the Admin API accepted the key.", base), nil
	}
	return "", &strategies.Error{Code: strategies.CodeTarget, Field: "target.url", Message: "the Admin API did not answer as an Authgear-compatible import API", Err: err}
}
