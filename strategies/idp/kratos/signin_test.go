package kratos

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cutover/cutover/strategies"
)

// TestSignInReplay replays the real Kratos's login API flows: the right password, a
// wrong one, an unknown user, an inactive identity, then a session check with the
// token and with a bad token.
func TestSignInReplay(t *testing.T) {
	var bodies []map[string]string
	srv := replay(t, "signin", func(e exchange, body []byte) {
		if e.Method == http.MethodPost {
			var b map[string]string
			if err := json.Unmarshal(body, &b); err != nil {
				t.Errorf("login body: %v", err)
			}
			bodies = append(bodies, b)
		}
	})
	c := newClient(t, "", srv.URL)
	ctx := context.Background()
	for _, tc := range []struct {
		name, login, password string
		ok                    bool
		reason                string
	}{
		{"right password", "alice@example.com", "correct horse battery staple", true, ""},
		{"wrong password", "alice@example.com", "correct horse battery staple!", false, "invalid_credentials"},
		{"unknown user", "nobody@example.com", "x", false, "invalid_credentials"},
		{"inactive identity", "carol@example.com", "correct horse battery staple", false, "disabled"},
	} {
		r, err := c.SignIn(ctx, tc.login, tc.password)
		if err != nil {
			t.Fatalf("%s: SignIn: %v", tc.name, err)
		}
		if r.OK != tc.ok || !strings.HasPrefix(r.Reason, tc.reason) || (r.OK && r.Subject == "") {
			t.Errorf("%s: %+v; want ok %v, reason %q (and a subject when ok)", tc.name, r, tc.ok, tc.reason)
		}
	}
	s, reason, err := c.Login(ctx, "alice@example.com", "correct horse battery staple")
	if err != nil || s == nil || s.Token == "" {
		t.Fatalf("Login = %+v, %q, %v; want a session", s, reason, err)
	}
	who, err := c.WhoAmI(ctx, s.Token)
	if err != nil || who == nil || who.IdentityID != s.IdentityID {
		t.Errorf("WhoAmI = %+v, %v; want the session of %s", who, err, s.IdentityID)
	}
	if who, err := c.WhoAmI(ctx, "ory_st_notatoken"); err != nil || who != nil {
		t.Errorf("WhoAmI(bad token) = %+v, %v; want nil, nil", who, err)
	}
	if len(bodies) == 0 || bodies[0]["method"] != "password" || bodies[0]["identifier"] != "alice@example.com" {
		t.Errorf("login bodies %v; want method password and the identifier", bodies)
	}
}

// TestSignInNotResent: a submitted login is never resent (Kratos may have counted the
// attempt); a 5xx on submit is an error, not a refusal.
func TestSignInNotResent(t *testing.T) {
	var posts atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(`{"id":"f1","ui":{"nodes":[]}}`))
			return
		}
		posts.Add(1)
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(`{"error":{"code":502,"status":"Bad Gateway","message":"the password migration hook responded improperly"}}`))
	}))
	defer fake.Close()
	c := newClient(t, "", fake.URL)
	r, err := c.SignIn(context.Background(), "a@example.com", "pw")
	if err == nil || r.OK || posts.Load() != 1 {
		t.Errorf("SignIn = %+v, %v after %d posts; want an error after one post", r, err, posts.Load())
	}
	if strings.Contains(err.Error(), "pw") && !strings.Contains(err.Error(), "password") {
		t.Errorf("the error repeats the password: %v", err)
	}
}

var _ strategies.SignIner = (*Client)(nil)
