package mockidp

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// signUpOnPage creates an account with the sign-in page's "Create account" button.
func signUpOnPage(t *testing.T, s *Server, email, password string) {
	t.Helper()
	sum := sha256.Sum256([]byte("verifier-verifier-verifier-verifier-verifier"))
	form := url.Values{"client_id": {ClientID}, "redirect_uri": {"http://127.0.0.1:9/callback"}, "response_type": {"code"},
		"scope": {"openid email"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "login": {email}, "password": {password}, "action": {"signup"}}
	resp, err := signInClient().PostForm(s.Config().Issuer+PathAuthorize, form)
	if err != nil {
		t.Fatalf("POST sign-up form: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("sign-up: got HTTP %d, want 302 to the callback", resp.StatusCode)
	}
}

// userinfoClaimsOf GETs userinfo with the token.
func userinfoClaimsOf(t *testing.T, s *Server, tok *oauth2.Token) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, s.Config().Issuer+PathUserinfo, nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET userinfo: %v", err)
	}
	defer resp.Body.Close()
	var c map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET userinfo: got HTTP %d (%v), want 200 JSON", resp.StatusCode, err)
	}
	return c
}

// TestEmailVerifiedCannotBeClaimed: email_verified is what relying parties (cutover's
// authonly middleware among them) link accounts by, so nobody may obtain
// "email_verified": true for an address whose ownership nobody checked.
func TestEmailVerifiedCannotBeClaimed(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// setup creates the user at s and returns a token of theirs.
		setup     func(t *testing.T, s *Server) *oauth2.Token
		hook      http.HandlerFunc // the lazy verification endpoint, when the case needs one
		wantEmail any              // the email claim in userinfo (nil: absent)
	}{
		{
			name: "signed up on the page without proving the address",
			setup: func(t *testing.T, s *Server) *oauth2.Token {
				signUpOnPage(t, s, "victim@example.com", "attacker-password")
				tok, err := passwordGrant(ctx, s, "victim@example.com", "attacker-password")
				if err != nil {
					t.Fatalf("sign in after sign-up: %v", err)
				}
				return tok
			},
			wantEmail: "victim@example.com",
		},
		{
			name: "phone-only user writes an email into their user_info blob",
			setup: func(t *testing.T, s *Server) *oauth2.Token {
				importAndWait(t, s, map[string]any{"identifier": "phone_number", "records": []any{map[string]any{
					"phone_number": "+85223456789", "password": map[string]any{"type": "bcrypt", "password_hash": bcryptHash(t, "phone pw")}}}})
				tok, err := passwordGrant(ctx, s, "+85223456789", "phone pw")
				if err != nil {
					t.Fatalf("phone sign-in: %v", err)
				}
				body, _ := json.Marshal(map[string]any{"email": "victim@example.com", "email_verified": true, "nickname": "x"})
				req, _ := http.NewRequest(http.MethodPost, s.Config().Issuer+PathUserinfo, bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("POST userinfo: got HTTP %d, want 200", resp.StatusCode)
				}
				return tok
			},
			wantEmail: nil,
		},
		{
			name: "lazy user whose legacy email was never verified",
			hook: func(w http.ResponseWriter, r *http.Request) {
				_ = r.ParseForm()
				ok := r.PostForm.Get("password") == "legacy pw"
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(map[string]any{"success": ok,
					"user_info": map[string]any{"email": r.PostForm.Get("email"), "email_verified": false}})
			},
			setup: func(t *testing.T, s *Server) *oauth2.Token {
				tok, err := passwordGrant(ctx, s, "unverified@example.com", "legacy pw")
				if err != nil {
					t.Fatalf("lazy sign-in: %v", err)
				}
				return tok
			},
			wantEmail: "unverified@example.com",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{LoginIDKeys: []string{LoginIDEmail, LoginIDPhone}}
			if tt.hook != nil {
				hook := httptest.NewServer(tt.hook)
				defer hook.Close()
				cfg.LazyHook = LazyHook{URL: hook.URL, Timeout: 2 * time.Second}
			}
			s := startServer(t, cfg)
			tok := tt.setup(t, s)
			info := userinfoClaimsOf(t, s, tok)
			if info["email"] != tt.wantEmail {
				t.Errorf("userinfo email: got %v, want %v", info["email"], tt.wantEmail)
			}
			if v := info["email_verified"]; v == true {
				t.Errorf("userinfo email_verified: got %v, want false or absent", v)
			}
			if c := idTokenClaims(t, tok); c["email_verified"] == true {
				t.Errorf("ID token email_verified: got %v, want false or absent", c["email_verified"])
			}
		})
	}
}

// TestOneTimeCodeSurvivesFewGuesses: a six-digit code must not be guessable by trying
// many codes within its ten minutes; a few typing mistakes are forgiven.
func TestOneTimeCodeSurvivesFewGuesses(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		wrong   int  // wrong codes tried before the right one
		wantOK  bool // whether the right code still signs in
		comment string
	}{
		{"two typos, then the right code", 2, true, "a user's mistakes"},
		{"six guesses, then the right code", 6, false, "an attacker's guessing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Config{})
			job := importAndWait(t, s, map[string]any{"identifier": "email", "records": []any{map[string]any{"email": "otp@example.com"}}})
			_, data := adminDo(t, s, http.MethodPost, "/_mock/users/"+job.Details[0].UserID+"/otp", nil)
			code := decodeEnvelope[OTP](t, data).Result.Code
			wrong := "000000"
			if code == wrong {
				wrong = "000001"
			}
			for range tt.wrong {
				if _, err := passwordGrant(ctx, s, "otp@example.com", wrong); !isInvalidGrant(err) {
					t.Fatalf("wrong code: got %v, want invalid_grant", err)
				}
			}
			_, err := passwordGrant(ctx, s, "otp@example.com", code)
			if got := err == nil; got != tt.wantOK {
				t.Errorf("right code after %d wrong ones (%s): got signed in %v (err %v), want %v", tt.wrong, tt.comment, got, err, tt.wantOK)
			}
		})
	}
}
