package mockidp

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies/passwords"
)

// errBadCredentials is the one answer to a failed sign-in, whatever the reason, so it
// does not reveal whether the account exists.
var errBadCredentials = errors.New("the email or password is wrong")

// errDisabled is returned for a disabled account with the right password.
var errDisabled = errors.New("this account is disabled")

// authState holds the short-lived sign-in state: codes, refresh tokens, one-time codes.
type authState struct {
	mu      sync.Mutex
	codes   map[string]*authCode
	refresh map[string]*refreshGrant
	otps    map[string]otp // by user id
	// failures counts wrong passwords by user id (or by login for unknown users), so
	// every login of one account (email, phone, username, any case) shares one limit.
	failures map[string]*loginFailures
	lazy     [64]sync.Mutex // striped locks so one email never calls the hook twice at once
}

type authCode struct {
	clientID, redirectURI, userID, nonce, challenge, scope string
	authTime, expires                                      time.Time
}

type refreshGrant struct {
	clientID, userID, scope string
	authTime, expires       time.Time
}

type otp struct {
	code    string
	expires time.Time
	fails   int // wrong codes tried; at maxOTPFailures the code is dropped
}

// maxOTPFailures is how many wrong codes end a one-time code: enough for typos, far
// too few to guess one of a million codes in its lifetime.
const maxOTPFailures = 5

// maxLoginFailures is how many wrong passwords one login may get within
// loginFailureWindow before the password grant and the form refuse it until the window ends.
const maxLoginFailures = 10

// loginFailureWindow is how long wrong passwords count against a login.
const loginFailureWindow = 15 * time.Minute

// errTooManyFailures refuses a login that had maxLoginFailures wrong passwords within
// loginFailureWindow. Without it the password grant and the form let anyone guess a
// password at the speed of bcrypt (issue 13 item 10).
var errTooManyFailures = errors.New("too many failed sign-ins for this account; wait 15 minutes and try again")

// loginFailures counts one account's wrong passwords in the current window.
type loginFailures struct {
	n     int
	until time.Time // end of the window that started with the first failure
}

func newAuthState() *authState {
	return &authState{codes: map[string]*authCode{}, refresh: map[string]*refreshGrant{}, otps: map[string]otp{}, failures: map[string]*loginFailures{}}
}

// OTP is a one-time sign-in code issued by the mock-only admin endpoint.
type OTP struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
}

// otpLifetime is how long a one-time code can be used.
const otpLifetime = 10 * time.Minute

func (s *Server) issueOTP(userID string) OTP {
	n, _ := rand.Int(rand.Reader, big.NewInt(1_000_000))
	o := otp{code: fmt.Sprintf("%06d", n.Int64()), expires: s.now().Add(otpLifetime)}
	s.auth.mu.Lock()
	s.auth.otps[userID] = o
	s.auth.mu.Unlock()
	return OTP{Code: o.code, ExpiresAt: o.expires.UTC()}
}

// useOTP consumes the user's one-time code if password is that code.
func (s *Server) useOTP(userID, password string) bool {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	o, ok := s.auth.otps[userID]
	if !ok || s.now().After(o.expires) {
		return false
	}
	if subtle.ConstantTimeCompare([]byte(o.code), []byte(password)) != 1 {
		if o.fails++; o.fails >= maxOTPFailures {
			delete(s.auth.otps, userID)
		} else {
			s.auth.otps[userID] = o
		}
		return false
	}
	delete(s.auth.otps, userID)
	return true
}

func (a *authState) lazyLock(key string) *sync.Mutex {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return &a.lazy[h.Sum32()%uint32(len(a.lazy))]
}

// authenticate signs a user in with a login (email, phone or username) and password or
// one-time code. Unknown users go to the lazy hook when one is configured. A legacy hash
// that verifies is replaced by a native bcrypt hash.
func (s *Server) authenticate(ctx context.Context, login, password string) (*user, error) {
	login = strings.TrimSpace(login)
	if login == "" || password == "" {
		return nil, errBadCredentials
	}
	u, err := s.store.findByLogin(ctx, login)
	key := "login:" + strings.ToLower(login)
	if err == nil {
		key = u.ID
	}
	if !s.loginAllowed(key) {
		return nil, errTooManyFailures
	}
	if errors.Is(err, errNoUser) {
		u, err = s.authenticateUnknown(ctx, login, password)
	} else if err == nil {
		u, err = s.checkPassword(ctx, u, password)
	}
	s.countLogin(key, err)
	return u, err
}

// loginAllowed reports whether key may try a password now.
func (s *Server) loginAllowed(key string) bool {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	f := s.auth.failures[key]
	return f == nil || f.n < maxLoginFailures || s.now().After(f.until)
}

// countLogin records the outcome of a password check: a wrong password counts, a
// success clears the count. Expired windows are dropped as the map grows, so an attacker
// trying many logins cannot grow it without bound.
func (s *Server) countLogin(key string, err error) {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	if err == nil {
		delete(s.auth.failures, key)
		return
	}
	if !errors.Is(err, errBadCredentials) {
		return
	}
	now := s.now()
	f := s.auth.failures[key]
	if f == nil || now.After(f.until) {
		if len(s.auth.failures) >= 4096 {
			for k, old := range s.auth.failures {
				if now.After(old.until) {
					delete(s.auth.failures, k)
				}
			}
		}
		f = &loginFailures{until: now.Add(loginFailureWindow)}
		s.auth.failures[key] = f
	}
	f.n++
}

func (s *Server) checkPassword(ctx context.Context, u *user, password string) (*user, error) {
	if s.useOTP(u.ID, password) {
		if u.Disabled {
			return nil, errDisabled
		}
		return u, nil
	}
	if u.PasswordHash == "" {
		s.verifier.VerifyUnknown(ctx, password)
		return nil, errBadCredentials
	}
	var ok bool
	var err error
	if u.PasswordFormat == "bcrypt" {
		err = bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password))
		ok = err == nil
		if errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
			err = nil
		}
	} else {
		ok, err = s.verifier.Verify(ctx, passwords.Stored{Hash: u.PasswordHash, Salt: u.PasswordSalt, Format: u.PasswordFormat}, password)
	}
	if err != nil {
		s.log.Warn("stored password hash cannot be verified", "user", u.ID, "format", u.PasswordFormat, "err", err)
		return nil, errBadCredentials
	}
	if !ok {
		return nil, errBadCredentials
	}
	if u.Disabled {
		return nil, errDisabled
	}
	if !u.PasswordNative {
		// As real IdPs do: the legacy hash served its purpose, store a native one.
		h, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
		if err == nil {
			err = s.store.upgradePassword(ctx, u.ID, string(h))
		}
		if err != nil {
			s.log.Warn("password upgrade failed", "user", u.ID, "err", err)
		} else {
			u.PasswordHash, u.PasswordFormat, u.PasswordNative, u.PasswordSalt = string(h), "bcrypt", true, ""
		}
	}
	return u, nil
}

// authenticateUnknown handles a login nobody has: the lazy hook, if configured, decides.
func (s *Server) authenticateUnknown(ctx context.Context, login, password string) (*user, error) {
	if s.cfg.LazyHook.URL == "" || !strings.Contains(login, "@") {
		s.verifier.VerifyUnknown(ctx, password)
		return nil, errBadCredentials
	}
	mu := s.auth.lazyLock(strings.ToLower(login))
	mu.Lock()
	defer mu.Unlock()
	// Another sign-in may have created the user while this one waited.
	if u, err := s.store.findByLogin(ctx, login); err == nil {
		return s.checkPassword(ctx, u, password)
	} else if !errors.Is(err, errNoUser) {
		return nil, err
	}
	info, err := s.callLazyHook(ctx, login, password)
	if err != nil {
		if !errors.Is(err, errBadCredentials) {
			s.log.Warn("lazy hook failed; sign-in refused", "url", s.cfg.LazyHook.URL, "err", err)
		}
		return nil, errBadCredentials
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), s.cfg.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	u := &user{Email: login, Source: SourceLazy, PasswordHash: string(h), PasswordFormat: "bcrypt", UserInfo: info}
	// The legacy system's word on the address, kept where the user cannot rewrite it.
	var verified struct {
		EmailVerified *bool `json:"email_verified"`
	}
	if json.Unmarshal(info, &verified) == nil && verified.EmailVerified != nil {
		u.Profile, _ = json.Marshal(map[string]bool{"email_verified": *verified.EmailVerified})
	}
	if err := s.store.create(ctx, u); err != nil {
		return nil, err
	}
	s.log.Info("user migrated by the lazy hook", "user", u.ID)
	return u, nil
}

// lazyReply is the verification endpoint's answer.
type lazyReply struct {
	Success  *bool           `json:"success"`
	UserInfo json.RawMessage `json:"user_info"`
}

// callLazyHook POSTs the form email/password to the verification endpoint. It returns the
// user_info blob on {"success": true}, errBadCredentials on {"success": false}, and an
// error for anything else (timeout, non-200, bad JSON).
func (s *Server) callLazyHook(ctx context.Context, email, password string) (json.RawMessage, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.LazyHook.Timeout)
	defer cancel()
	form := url.Values{"email": {email}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.cfg.LazyHook.URL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("lazy hook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if s.cfg.LazyHook.Secret != "" {
		req.Header.Set("Authorization", "Bearer "+s.cfg.LazyHook.Secret)
	}
	resp, err := s.lazy.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lazy hook call: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("lazy hook read reply: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("lazy hook answered HTTP %d", resp.StatusCode)
	}
	var r lazyReply
	if err := json.Unmarshal(body, &r); err != nil || r.Success == nil {
		return nil, errors.New(`lazy hook reply is not {"success": true|false, ...}`)
	}
	if !*r.Success {
		return nil, errBadCredentials
	}
	info := r.UserInfo
	if len(info) == 0 || string(info) == "null" {
		info = json.RawMessage("{}")
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(info, &obj) != nil || obj == nil {
		return nil, errors.New("lazy hook user_info is not a JSON object")
	}
	return info, nil
}
