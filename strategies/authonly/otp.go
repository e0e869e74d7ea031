package authonly

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// Mock IdP endpoints a rehearsal signs users in through. Users imported without a
// password sign in with a one-time code, which the mock IdP hands out to admins.
const (
	mockOTPPath   = "/_mock/users/%s/otp"
	mockTokenPath = "/oauth2/token"
)

// OTPSignIn signs a user imported without a password in at the bundled mock IdP: it asks
// the mock-only admin endpoint for a one-time code for userID (adminJWT authorises it)
// and exchanges login + code through the password grant for clientID. It returns the
// access token. hc nil uses http.DefaultClient. The code is never logged or returned.
func OTPSignIn(ctx context.Context, hc *http.Client, issuer, adminJWT, clientID, userID, login string) (string, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	base := strings.TrimRight(issuer, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+fmt.Sprintf(mockOTPPath, url.PathEscape(userID)), nil)
	if err != nil {
		return "", fmt.Errorf("one-time code: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+adminJWT)
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("one-time code: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return "", fmt.Errorf("one-time code: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("one-time code: the mock IdP answered %s", resp.Status)
	}
	var otp struct {
		Result struct {
			Code string `json:"code"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &otp); err != nil || otp.Result.Code == "" {
		return "", errors.New("one-time code: the mock IdP's answer has no code")
	}
	conf := &oauth2.Config{ClientID: clientID, Endpoint: oauth2.Endpoint{TokenURL: base + mockTokenPath, AuthStyle: oauth2.AuthStyleInParams},
		Scopes: []string{"openid", "email"}}
	tok, err := conf.PasswordCredentialsToken(context.WithValue(ctx, oauth2.HTTPClient, hc), login, otp.Result.Code)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.ErrorCode != "" {
			return "", fmt.Errorf("sign in with a one-time code: %s: %s", re.ErrorCode, re.ErrorDescription)
		}
		return "", fmt.Errorf("sign in with a one-time code: %w", err)
	}
	return tok.AccessToken, nil
}
