package mockidp

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Token lifetimes.
const (
	codeLifetime    = time.Minute
	tokenLifetime   = time.Hour
	refreshLifetime = 30 * 24 * time.Hour
)

func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	iss := s.issuerFor(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + PathAuthorize,
		"token_endpoint":                        iss + PathToken,
		"userinfo_endpoint":                     iss + PathUserinfo,
		"jwks_uri":                              iss + PathJWKS,
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"query"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token", "password"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"scopes_supported":                      []string{"openid", "email", "phone", "profile", "offline_access"},
		"token_endpoint_auth_methods_supported": []string{"none", "client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"claims_supported": []string{"sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "email", "email_verified",
			"phone_number", "phone_number_verified", "preferred_username", "name", "given_name", "family_name"},
	})
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.signer.jwks)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// oauthError writes an RFC 6749 error response.
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="cutover mock IdP"`)
	}
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// isLoopbackRedirect accepts http://127.0.0.1, http://[::1] and http://localhost on any
// port, as RFC 8252 asks of native-app clients.
func isLoopbackRedirect(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.Fragment != "" || u.User != nil {
		return false
	}
	h := u.Hostname()
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// authorizeRequest is the validated query (or hidden form fields) of the sign-in page.
type authorizeRequest struct {
	ClientID, RedirectURI, Scope, State, Nonce, Challenge, Method string
}

// parseAuthorize validates the request. errPage is shown on the page (the redirect URI
// cannot be trusted); redirectErr is sent back to the client as ?error=.
func parseAuthorize(v url.Values) (ar authorizeRequest, errPage string, redirectErr [2]string) {
	ar = authorizeRequest{ClientID: v.Get("client_id"), RedirectURI: v.Get("redirect_uri"), Scope: v.Get("scope"),
		State: v.Get("state"), Nonce: v.Get("nonce"), Challenge: v.Get("code_challenge"), Method: v.Get("code_challenge_method")}
	if ar.ClientID != ClientID {
		return ar, "Unknown client_id " + ar.ClientID + `: this IdP knows only the public client "cutover".`, redirectErr
	}
	if !isLoopbackRedirect(ar.RedirectURI) {
		return ar, "redirect_uri must be a loopback URL such as http://127.0.0.1:PORT/callback.", redirectErr
	}
	if rt := v.Get("response_type"); rt != "code" {
		return ar, "", [2]string{"unsupported_response_type", "only response_type=code is supported"}
	}
	if ar.Challenge == "" || ar.Method != "S256" {
		return ar, "", [2]string{"invalid_request", "PKCE is required: send code_challenge with code_challenge_method=S256"}
	}
	return ar, "", redirectErr
}

func redirectWithError(w http.ResponseWriter, r *http.Request, ar authorizeRequest, e [2]string) {
	u, _ := url.Parse(ar.RedirectURI)
	q := u.Query()
	q.Set("error", e[0])
	q.Set("error_description", e[1])
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var signInPage = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · cutover mock IdP</title>
<style>body{font-family:system-ui,sans-serif;max-width:24rem;margin:4rem auto;padding:0 1rem}
label{display:block;margin:.75rem 0 .25rem}input[type=email],input[type=text],input[type=password]{width:100%;padding:.4rem}
.error{color:#b00020}button{margin-top:1rem;padding:.4rem 1rem}small{color:#666}</style></head>
<body><h1>Sign in</h1><p><small>cutover mock IdP, project {{.Project}}</small></p>
{{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
{{if .Fatal}}{{else}}<form method="post" action="{{.Action}}">
<input type="hidden" name="client_id" value="{{.Req.ClientID}}">
<input type="hidden" name="redirect_uri" value="{{.Req.RedirectURI}}">
<input type="hidden" name="response_type" value="code">
<input type="hidden" name="scope" value="{{.Req.Scope}}">
<input type="hidden" name="state" value="{{.Req.State}}">
<input type="hidden" name="nonce" value="{{.Req.Nonce}}">
<input type="hidden" name="code_challenge" value="{{.Req.Challenge}}">
<input type="hidden" name="code_challenge_method" value="{{.Req.Method}}">
<label for="login">Email, phone number or username</label>
<input id="login" name="login" type="text" autocomplete="username" value="{{.Login}}" required autofocus>
<label for="password">Password or one-time code</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit" name="action" value="signin">Sign in</button>
<button type="submit" name="action" value="signup">Create account</button>
</form>{{end}}</body></html>`))

type pageData struct {
	Project, Action, Error, Login string
	Fatal                         bool
	Req                           authorizeRequest
}

func (s *Server) renderPage(w http.ResponseWriter, status int, d pageData) {
	d.Project, d.Action = s.admin.project, PathAuthorize
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = signInPage.Execute(w, d)
}

func (s *Server) handleAuthorizePage(w http.ResponseWriter, r *http.Request) {
	ar, errPage, redirErr := parseAuthorize(r.URL.Query())
	if errPage != "" {
		s.renderPage(w, http.StatusBadRequest, pageData{Error: errPage, Fatal: true})
		return
	}
	if redirErr[0] != "" {
		redirectWithError(w, r, ar, redirErr)
		return
	}
	s.renderPage(w, http.StatusOK, pageData{Req: ar})
}

func (s *Server) handleAuthorizeSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.renderPage(w, http.StatusBadRequest, pageData{Error: "The form could not be read.", Fatal: true})
		return
	}
	ar, errPage, redirErr := parseAuthorize(r.PostForm)
	if errPage != "" {
		s.renderPage(w, http.StatusBadRequest, pageData{Error: errPage, Fatal: true})
		return
	}
	if redirErr[0] != "" {
		redirectWithError(w, r, ar, redirErr)
		return
	}
	login, password := strings.TrimSpace(r.PostForm.Get("login")), r.PostForm.Get("password")
	var u *user
	var err error
	if r.PostForm.Get("action") == "signup" {
		u, err = s.signUp(r.Context(), login, password)
	} else {
		u, err = s.authenticate(r.Context(), login, password)
	}
	if err != nil {
		msg, status := "Sign-in failed: "+err.Error()+".", http.StatusUnauthorized
		switch {
		case errors.Is(err, errTooManyFailures):
			status = http.StatusTooManyRequests
		case !errors.Is(err, errBadCredentials) && !errors.Is(err, errDisabled) && !errors.Is(err, errSignup):
			s.log.Error("sign-in failed", "err", err)
			msg = "Sign-in failed because of a server error; try again."
		}
		s.renderPage(w, status, pageData{Req: ar, Error: msg, Login: login})
		return
	}
	code := randomID(32)
	now := s.now()
	s.auth.mu.Lock()
	for k, c := range s.auth.codes {
		if now.After(c.expires) {
			delete(s.auth.codes, k)
		}
	}
	s.auth.codes[code] = &authCode{clientID: ar.ClientID, redirectURI: ar.RedirectURI, userID: u.ID, nonce: ar.Nonce,
		challenge: ar.Challenge, scope: ar.Scope, authTime: now, expires: now.Add(codeLifetime)}
	s.auth.mu.Unlock()
	dest, _ := url.Parse(ar.RedirectURI)
	q := dest.Query()
	q.Set("code", code)
	if ar.State != "" {
		q.Set("state", ar.State)
	}
	dest.RawQuery = q.Encode()
	http.Redirect(w, r, dest.String(), http.StatusFound)
}

// errSignup explains why a sign-up was refused.
var errSignup = errors.New("an account needs an email address and a password of at least 8 characters, and the email must not be taken")

func (s *Server) signUp(ctx context.Context, login, password string) (*user, error) {
	if checkIdentifier("email", login) != nil || len(password) < 8 {
		return nil, errSignup
	}
	if _, err := s.store.findByLogin(ctx, login); err == nil {
		return nil, errSignup
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
	if err != nil {
		return nil, err
	}
	u := &user{Email: login, Source: SourceSignup, PasswordHash: string(h), PasswordFormat: "bcrypt"}
	if err := s.store.create(ctx, u); err != nil {
		if strings.Contains(err.Error(), "UNIQUE") {
			return nil, errSignup
		}
		return nil, err
	}
	return u, nil
}

// clientAuth checks the client: "cutover" is public, so a secret, if sent, must be empty.
func clientAuth(r *http.Request) (string, bool) {
	id, secret, basic := r.BasicAuth()
	if basic {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return id, id == ClientID && secret == ""
}

func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
		return
	}
	clientID, ok := clientAuth(r)
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_client", `unknown client; use the public client "cutover" without a secret`)
		return
	}
	f := r.PostForm
	switch f.Get("grant_type") {
	case "authorization_code":
		s.grantCode(w, r, clientID)
	case "refresh_token":
		s.grantRefresh(w, r, clientID)
	case "password":
		u, err := s.authenticate(r.Context(), f.Get("username"), f.Get("password"))
		if err != nil {
			if errors.Is(err, errBadCredentials) || errors.Is(err, errDisabled) || errors.Is(err, errTooManyFailures) {
				oauthError(w, http.StatusBadRequest, "invalid_grant", err.Error())
				return
			}
			s.log.Error("password grant failed", "err", err)
			oauthError(w, http.StatusInternalServerError, "server_error", "the sign-in could not be completed; try again")
			return
		}
		s.issueTokens(w, r, u, clientID, scopeOrDefault(f.Get("scope")), "", s.now())
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "grant_type is required")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "supported: authorization_code, refresh_token, password")
	}
}

func scopeOrDefault(s string) string {
	if s == "" {
		return "openid"
	}
	return s
}

func (s *Server) grantCode(w http.ResponseWriter, r *http.Request, clientID string) {
	f := r.PostForm
	code := f.Get("code")
	s.auth.mu.Lock()
	c := s.auth.codes[code]
	delete(s.auth.codes, code) // one use only, even when the exchange fails
	s.auth.mu.Unlock()
	switch {
	case c == nil || s.now().After(c.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the authorization code is unknown, used or expired")
		return
	case c.clientID != clientID || c.redirectURI != f.Get("redirect_uri"):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "client_id or redirect_uri does not match the authorization request")
		return
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	if subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(c.challenge)) != 1 {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
		return
	}
	// The user may have been disabled (or deleted) between the sign-in and the exchange.
	u, err := s.store.byID(r.Context(), c.userID)
	if err != nil || u.Disabled {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the user no longer exists or is disabled")
		return
	}
	s.issueTokens(w, r, u, clientID, scopeOrDefault(c.scope), c.nonce, c.authTime)
}

func (s *Server) grantRefresh(w http.ResponseWriter, r *http.Request, clientID string) {
	tok := r.PostForm.Get("refresh_token")
	s.auth.mu.Lock()
	g := s.auth.refresh[tok]
	delete(s.auth.refresh, tok) // rotated: the old token stops working
	s.auth.mu.Unlock()
	if g == nil || s.now().After(g.expires) || g.clientID != clientID {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the refresh token is unknown, used or expired")
		return
	}
	u, err := s.store.byID(r.Context(), g.userID)
	if err != nil || u.Disabled {
		oauthError(w, http.StatusBadRequest, "invalid_grant", "the user no longer exists or is disabled")
		return
	}
	s.issueTokens(w, r, u, clientID, g.scope, "", g.authTime)
}

// issueTokens answers the token endpoint: an RS256 access token (a JWT), an ID token
// when openid was asked for, and a refresh token. As at Authgear, the access token's aud
// is the issuer and client_id names the client, while the ID token's aud is the client:
// so neither passes for the other.
func (s *Server) issueTokens(w http.ResponseWriter, r *http.Request, u *user, clientID, scope, nonce string, authTime time.Time) {
	iss := s.issuerFor(r)
	now := s.now()
	exp := now.Add(tokenLifetime)
	at, err := s.signer.sign(map[string]any{
		"iss": iss, "sub": u.ID, "aud": []string{iss}, "exp": exp.Unix(), "iat": now.Unix(),
		"jti": randomID(16), "client_id": clientID, "scope": scope,
	})
	if err != nil {
		oauthError(w, http.StatusInternalServerError, "server_error", "cannot sign the access token")
		return
	}
	resp := map[string]any{"access_token": at, "token_type": "Bearer", "expires_in": int(tokenLifetime.Seconds()), "scope": scope}
	if hasScope(scope, "openid") {
		claims := userClaims(u)
		sum := sha256.Sum256([]byte(at))
		for k, v := range map[string]any{"iss": iss, "sub": u.ID, "aud": clientID, "exp": exp.Unix(), "iat": now.Unix(),
			"auth_time": authTime.Unix(), "at_hash": base64.RawURLEncoding.EncodeToString(sum[:16])} {
			claims[k] = v
		}
		if nonce != "" {
			claims["nonce"] = nonce
		}
		idt, err := s.signer.sign(claims)
		if err != nil {
			oauthError(w, http.StatusInternalServerError, "server_error", "cannot sign the ID token")
			return
		}
		resp["id_token"] = idt
	}
	rt := randomID(32)
	s.auth.mu.Lock()
	for k, g := range s.auth.refresh {
		if now.After(g.expires) {
			delete(s.auth.refresh, k)
		}
	}
	s.auth.refresh[rt] = &refreshGrant{clientID: clientID, userID: u.ID, scope: scope, authTime: authTime, expires: now.Add(refreshLifetime)}
	s.auth.mu.Unlock()
	resp["refresh_token"] = rt
	writeJSON(w, http.StatusOK, resp)
}

func hasScope(scope, want string) bool {
	for _, s := range strings.Fields(scope) {
		if s == want {
			return true
		}
	}
	return false
}
