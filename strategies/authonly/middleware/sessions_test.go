package middleware

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"
)

// whoamiReplay serves the /sessions/whoami answers recorded from a real Kratos v1.3.1
// (strategies/idp/kratos/testdata): the signed-in session for token "good", the 401
// for anything else. It also records the session credential each call carried.
func whoamiReplay(t *testing.T) (*httptest.Server, *[]string) {
	t.Helper()
	data, err := os.ReadFile("../../idp/kratos/testdata/kratos-v1.3.1/signin.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Exchanges []struct {
			Path     string          `json:"path"`
			Status   int             `json:"status"`
			Response json.RawMessage `json:"response"`
		} `json:"exchanges"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	answers := map[int]json.RawMessage{}
	for _, x := range rec.Exchanges {
		if x.Path == "/sessions/whoami" {
			answers[x.Status] = x.Response
		}
	}
	if answers[200] == nil || answers[401] == nil {
		t.Fatal("the recording lacks a whoami 200 or 401")
	}
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cred := r.Header.Get("X-Session-Token")
		if c, err := r.Cookie(kratosCookie); err == nil {
			cred = "cookie:" + c.Value
		}
		seen = append(seen, cred)
		status := http.StatusUnauthorized
		if r.URL.Path == "/sessions/whoami" && (cred == "good" || cred == "cookie:good") {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(answers[status])
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestKratosSessions(t *testing.T) {
	srv, seen := whoamiReplay(t)
	k := &KratosSessions{PublicURL: srv.URL}
	for _, tc := range []struct {
		name    string
		set     func(r *http.Request)
		wantErr error
		asked   string // the credential whoami must receive; "" means not asked
	}{
		{"session token", func(r *http.Request) { r.Header.Set("X-Session-Token", "good") }, nil, "good"},
		{"bearer token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer good") }, nil, "good"},
		{"browser cookie", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: kratosCookie, Value: "good"}) }, nil, "cookie:good"},
		{"refused token", func(r *http.Request) { r.Header.Set("X-Session-Token", "stolen") }, errSessionRefused, "stolen"},
		{"no session", func(*http.Request) {}, ErrNoSession, ""},
		{"another cookie only", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "other", Value: "good"}) }, ErrNoSession, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			*seen = nil
			r := httptest.NewRequest(http.MethodGet, "/account", nil)
			tc.set(r)
			id, err := k.VerifySession(t.Context(), r)
			if err != tc.wantErr {
				t.Fatalf("got error %v, want %v", err, tc.wantErr)
			}
			if got := append([]string(nil), *seen...); tc.asked == "" && len(got) != 0 || tc.asked != "" && (len(got) != 1 || got[0] != tc.asked) {
				t.Errorf("whoami was asked with %q, want %q", got, tc.asked)
			}
			if err == nil && (id.Subject != "b17a9d41-c549-4413-bac5-7de046a155e6" || id.Email != "alice-ffrsmfss6w@example.com" || !id.EmailVerified) {
				t.Errorf("identity: got %+v, want the recorded identity with its verified email", id)
			}
		})
	}
}

// TestKratosSessionsHandler checks the middleware's answers with a session verifier:
// 401 without a session or with a refused one, the local user with a good one.
func TestKratosSessionsHandler(t *testing.T) {
	srv, _ := whoamiReplay(t)
	store := &memStore{bySubject: map[string]string{"b17a9d41-c549-4413-bac5-7de046a155e6": "local-7"}}
	m, err := New(t.Context(), Config[string]{Store: store, Sessions: &KratosSessions{PublicURL: srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	h := m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := UserFrom[string](r.Context())
		w.Write([]byte(u))
	}))
	for _, tc := range []struct {
		token      string
		wantStatus int
		wantBody   string
	}{
		{"good", http.StatusOK, "local-7"},
		{"stolen", http.StatusUnauthorized, ""},
		{"", http.StatusUnauthorized, ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "/account", nil)
		if tc.token != "" {
			r.Header.Set("X-Session-Token", tc.token)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.wantStatus || tc.wantBody != "" && w.Body.String() != tc.wantBody {
			t.Errorf("token %q: got %d %q, want %d %q", tc.token, w.Code, w.Body.String(), tc.wantStatus, tc.wantBody)
		}
	}
}

// memStore finds local users by subject only.
type memStore struct{ bySubject map[string]string }

func (s *memStore) FindBySubject(_ context.Context, subject string) (string, error) {
	if u, ok := s.bySubject[subject]; ok {
		return u, nil
	}
	return "", ErrNotFound
}

func (s *memStore) LinkByEmail(context.Context, string, string) (string, error) {
	return "", ErrNotFound
}
