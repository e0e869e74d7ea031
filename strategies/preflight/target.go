package preflight

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
)

// checkTimeout bounds the target check: the wizard waits on it.
const checkTimeout = 15 * time.Second

// CheckTarget describes the in-process mock IdP, or checks an Authgear-compatible
// target live: its discovery document is reachable and its Admin API takes the key
// (asking for an import job that does not exist must be a 404, not a 403).
func CheckTarget(ctx context.Context, p *strategies.Plan) (string, error) {
	t := p.Target
	if t.Kind == strategies.TargetMockIDP && t.URL == "" {
		profile := cmp.Or(t.Profile, strategies.ProfileAuthgear)
		what := "imports bcrypt hashes only, like Authgear; other formats follow bulk.unsupported_hash"
		if profile == strategies.ProfilePermissive {
			what = "imports every hash format cutover can verify"
		}
		return fmt.Sprintf("Mock IdP: started in-process for the run (users kept in .cutover/mockidp); profile %s %s.", profile, what), nil
	}
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
