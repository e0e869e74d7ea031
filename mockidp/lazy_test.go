package mockidp

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// verificationEndpoint is a legacy system's lazy-migration endpoint knowing one user.
type verificationEndpoint struct {
	calls    atomic.Int32
	delay    time.Duration
	badAuth  atomic.Int32
	secret   string
	email    string
	password string
}

func (v *verificationEndpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.calls.Add(1)
	if v.delay > 0 {
		select {
		case <-time.After(v.delay):
		case <-r.Context().Done():
			return
		}
	}
	if r.Header.Get("Authorization") != "Bearer "+v.secret || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		v.badAuth.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if r.PostForm.Get("email") == v.email && r.PostForm.Get("password") == v.password {
		_ = json.NewEncoder(w).Encode(map[string]any{"success": true, "user_info": map[string]any{"legacy_id": 7, "plan": "pro"}})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"success": false})
}

func TestLazyHook(t *testing.T) {
	ep := &verificationEndpoint{secret: "hook-secret", email: "legacy@example.com", password: "old password"}
	hook := httptest.NewServer(ep)
	defer hook.Close()
	s := startServer(t, Config{LazyHook: LazyHook{URL: hook.URL, Secret: ep.secret, Timeout: 2 * time.Second}})
	ctx := context.Background()

	if _, err := passwordGrant(ctx, s, "legacy@example.com", "wrong password"); !isInvalidGrant(err) {
		t.Fatalf("wrong password: got %v, want invalid_grant", err)
	}
	if got := ep.calls.Load(); got != 1 {
		t.Fatalf("hook calls after a wrong password: got %d, want 1", got)
	}
	tok, err := passwordGrant(ctx, s, "legacy@example.com", "old password")
	if err != nil {
		t.Fatalf("first sign-in: %v", err)
	}
	if got := ep.calls.Load(); got != 2 {
		t.Fatalf("hook calls after the first sign-in: got %d, want 2", got)
	}
	if _, err := passwordGrant(ctx, s, "legacy@example.com", "old password"); err != nil {
		t.Fatalf("second sign-in: %v", err)
	}
	if _, err := passwordGrant(ctx, s, "legacy@example.com", "wrong password"); !isInvalidGrant(err) {
		t.Fatalf("wrong password once migrated: got %v, want invalid_grant", err)
	}
	if got := ep.calls.Load(); got != 2 {
		t.Fatalf("hook calls after later sign-ins: got %d, want still 2", got)
	}
	if got := ep.badAuth.Load(); got != 0 {
		t.Fatalf("hook requests without the secret or form body: got %d, want 0", got)
	}

	provider, err := oidc.NewProvider(ctx, s.Config().Issuer)
	if err != nil {
		t.Fatal(err)
	}
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	var claims map[string]any
	if err != nil || ui.Claims(&claims) != nil {
		t.Fatalf("userinfo: %v", err)
	}
	if claims["plan"] != "pro" || claims["legacy_id"] != float64(7) || claims["sub"] == "" || claims["email"] != "legacy@example.com" {
		t.Fatalf("userinfo: got %v, want the hook's user_info with sub and email", claims)
	}
	_, data := adminDo(t, s, http.MethodGet, PathMockUsers+"?email=LEGACY@example.com", nil)
	list := decodeEnvelope[MockUserList](t, data)
	if list.Result.Total != 1 || list.Result.BySource[SourceLazy] != 1 || list.Result.Users[0].Source != SourceLazy {
		t.Fatalf("mock listing: got %s, want one lazy user", data)
	}
}

func TestLazyHookTimeout(t *testing.T) {
	ep := &verificationEndpoint{secret: "s", email: "slow@example.com", password: "pw", delay: 2 * time.Second}
	hook := httptest.NewServer(ep)
	defer hook.Close()
	s := startServer(t, Config{LazyHook: LazyHook{URL: hook.URL, Secret: "s", Timeout: 100 * time.Millisecond}})
	start := time.Now()
	_, err := passwordGrant(context.Background(), s, "slow@example.com", "pw")
	if !isInvalidGrant(err) {
		t.Fatalf("got %v, want invalid_grant", err)
	}
	if el := time.Since(start); el > time.Second {
		t.Fatalf("sign-in took %v, want it to give up after the 100ms timeout", el)
	}
	_, data := adminDo(t, s, http.MethodGet, PathMockUsers, nil)
	if list := decodeEnvelope[MockUserList](t, data); list.Result.Total != 0 {
		t.Fatalf("users after a timed-out hook: got %d, want 0", list.Result.Total)
	}
}

func TestLazyHookBadReplies(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    http.HandlerFunc
	}{
		{"HTTP 500", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }},
		{"not JSON", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("ok")) }},
		{"no success key", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"user_info":{}}`)) }},
		{"user_info not an object", func(w http.ResponseWriter, r *http.Request) {
			_, _ = w.Write([]byte(`{"success":true,"user_info":[1]}`))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := httptest.NewServer(tc.h)
			defer hook.Close()
			s := startServer(t, Config{LazyHook: LazyHook{URL: hook.URL}})
			if _, err := passwordGrant(context.Background(), s, "x@example.com", "pw"); !isInvalidGrant(err) {
				t.Fatalf("got %v, want invalid_grant", err)
			}
		})
	}
}
