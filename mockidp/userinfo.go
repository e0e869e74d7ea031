package mockidp

// The userinfo endpoint and the claims the mock puts in tokens and userinfo answers.

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// userClaims are the standard claims of a user: identifiers and the imported profile.
func userClaims(u *user) map[string]any {
	c := map[string]any{}
	if len(u.Profile) > 0 {
		var p map[string]any
		if json.Unmarshal(u.Profile, &p) == nil {
			for k, v := range p {
				c[k] = v
			}
		}
	}
	if u.Email != "" {
		c["email"] = u.Email
		if _, ok := c["email_verified"]; !ok {
			// A lazy user proved the legacy password for this address (the hook's own
			// email_verified, when it sent one, is in the profile); nobody checked the
			// address of an imported or signed-up user.
			c["email_verified"] = u.Source == SourceLazy
		}
	}
	if u.Phone != "" {
		c["phone_number"] = u.Phone
		if _, ok := c["phone_number_verified"]; !ok {
			c["phone_number_verified"] = false
		}
	}
	if u.Username != "" {
		c["preferred_username"] = u.Username
	}
	c["sub"] = u.ID
	return c
}

// bearerUser verifies the access token of a userinfo request and loads its user.
func (s *Server) bearerUser(w http.ResponseWriter, r *http.Request) *user {
	scheme, raw, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	fail := func(desc string) *user {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token", "error_description": desc})
		return nil
	}
	if !strings.EqualFold(scheme, "Bearer") || raw == "" {
		return fail("an access token is required (Authorization: Bearer ...)")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return fail("the access token is malformed")
	}
	var c jwt.Claims
	var at struct {
		ClientID string `json:"client_id"`
	}
	if err := tok.Claims(&s.signer.key.PublicKey, &c, &at); err != nil {
		return fail("the access token signature is invalid")
	}
	iss := s.issuerFor(r)
	if err := c.ValidateWithLeeway(jwt.Expected{Issuer: iss, AnyAudience: jwt.Audience{iss}, Time: s.now()}, time.Minute); err != nil {
		return fail("the access token is expired or not for this IdP")
	}
	if at.ClientID != ClientID {
		return fail("not an access token of this IdP's client (an ID token is not an access token)")
	}
	u, err := s.store.byID(r.Context(), c.Subject)
	if err != nil {
		return fail("the user no longer exists")
	}
	return u
}

func (s *Server) handleUserinfoGet(w http.ResponseWriter, r *http.Request) {
	u := s.bearerUser(w, r)
	if u == nil {
		return
	}
	writeJSON(w, http.StatusOK, userinfoClaims(u))
}

// userinfoClaims is the stored user_info blob overlaid with the standard claims (which win).
// The blob never speaks for the account's email or its verification: the user can replace
// it (POST userinfo), and relying parties link accounts by a verified email.
//
// Reserved claims are dropped in any case: relying parties decode userinfo with
// encoding/json, which matches "Email" to an `json:"email"` field, so a blob key
// "Email" would otherwise speak for the account's email (issue 13 item 8). A blob key
// that is a case variant of any claim the IdP sets is dropped for the same reason.
func userinfoClaims(u *user) map[string]any {
	std := userClaims(u)
	var blob map[string]any
	if len(u.UserInfo) > 0 {
		_ = json.Unmarshal(u.UserInfo, &blob)
	}
	out := make(map[string]any, len(blob)+len(std))
	for k, v := range blob {
		if !reservedClaim(k, std) {
			out[k] = v
		}
	}
	for k, v := range std {
		out[k] = v
	}
	return out
}

// reservedClaims are the claims only the IdP sets, whether or not this user has them.
var reservedClaims = []string{"sub", "email", "email_verified", "phone_number", "phone_number_verified", "preferred_username"}

// reservedClaim reports whether the blob key k equals, in any case, a reserved claim or
// a claim the IdP sets for this user (std).
func reservedClaim(k string, std map[string]any) bool {
	for _, r := range reservedClaims {
		if strings.EqualFold(k, r) {
			return true
		}
	}
	for c := range std {
		if strings.EqualFold(k, c) {
			return true
		}
	}
	return false
}

func (s *Server) handleUserinfoPost(w http.ResponseWriter, r *http.Request) {
	u := s.bearerUser(w, r)
	if u == nil {
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": "invalid_request", "error_description": "the user_info blob is limited to 64 KiB"})
		return
	}
	var blob map[string]json.RawMessage
	if err := json.Unmarshal(body, &blob); err != nil || blob == nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "the body must be a JSON object"})
		return
	}
	if _, ok := blob["sub"]; ok {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_request", "error_description": "do not send sub: it is set by the IdP"})
		return
	}
	if err := s.store.setUserInfo(r.Context(), u.ID, body); err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "cannot store user_info"})
		return
	}
	u.UserInfo = body
	writeJSON(w, http.StatusOK, userinfoClaims(u))
}
