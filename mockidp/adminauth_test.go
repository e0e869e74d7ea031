package mockidp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

func signWith(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func unsignedToken(claims map[string]any) string {
	h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT", "kid": "x"})
	c, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c) + "."
}

func TestAdminJWTAttacks(t *testing.T) {
	s := startServer(t, Config{Project: "acme"})
	info := s.Config()
	now := time.Now()
	good := map[string]any{"aud": []string{"acme"}, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	with := func(k string, v any) map[string]any {
		c := map[string]any{}
		for kk, vv := range good {
			c[kk] = vv
		}
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
		return c
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&info.AdminKey.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	tests := []struct {
		name   string
		header string
		status int
	}{
		{"valid token", "Bearer " + signWith(t, jose.RS256, info.AdminKey, info.KeyID, good), http.StatusOK},
		{"within clock skew", "Bearer " + signWith(t, jose.RS256, info.AdminKey, info.KeyID, with("iat", now.Add(30*time.Second).Unix())), http.StatusOK},
		{"no header", "", http.StatusForbidden},
		{"basic scheme", "Basic " + signWith(t, jose.RS256, info.AdminKey, info.KeyID, good), http.StatusForbidden},
		{"alg none", "Bearer " + unsignedToken(good), http.StatusForbidden},
		{"HS256 keyed with the public key", "Bearer " + signWith(t, jose.HS256, pubPEM, info.KeyID, good), http.StatusForbidden},
		{"another RSA key, same kid", "Bearer " + signWith(t, jose.RS256, other, info.KeyID, good), http.StatusForbidden},
		{"expired", "Bearer " + signWith(t, jose.RS256, info.AdminKey, info.KeyID, with("exp", now.Add(-5*time.Minute).Unix())), http.StatusForbidden},
		// As the real Authgear (observed): exp and iat are not required, aud may be a
		// string, and the scheme must be "Bearer" in this case.
		{"no exp", "Bearer " + signWith(t, jose.RS256, info.AdminKey, info.KeyID, with("exp", nil)), http.StatusOK},
		{"no iat", "Bearer " + signWith(t, jose.RS256, info.AdminKey, info.KeyID, with("iat", nil)), http.StatusOK},
		{"aud as a string", "Bearer " + signWith(t, jose.RS256, info.AdminKey, info.KeyID, with("aud", "acme")), http.StatusOK},
		{"lower-case bearer", "bearer " + signWith(t, jose.RS256, info.AdminKey, info.KeyID, good), http.StatusForbidden},
		{"issued in the future", "Bearer " + signWith(t, jose.RS256, info.AdminKey, info.KeyID, with("iat", now.Add(10*time.Minute).Unix())), http.StatusForbidden},
		{"wrong audience", "Bearer " + signWith(t, jose.RS256, info.AdminKey, info.KeyID, with("aud", []string{"other-project"})), http.StatusForbidden},
		{"missing kid", "Bearer " + signWith(t, jose.RS256, info.AdminKey, "", good), http.StatusForbidden},
		{"unknown kid", "Bearer " + signWith(t, jose.RS256, info.AdminKey, "not-the-kid", good), http.StatusForbidden},
		{"garbage", "Bearer not.a.jwt", http.StatusForbidden},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{PathImport + "/userimport_X", PathMockUsers} {
				req, _ := http.NewRequest(http.MethodGet, info.Issuer+path, nil)
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				status := resp.StatusCode
				if status == http.StatusNotFound && tc.status == http.StatusOK {
					status = http.StatusOK // the unknown job id is fine: the token passed
				}
				if status != tc.status {
					t.Fatalf("%s: got HTTP %d %s, want %d", path, resp.StatusCode, body, tc.status)
				}
				if tc.status == http.StatusForbidden && (!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || strings.TrimSpace(string(body)) != "Forbidden") {
					t.Fatalf("%s: got %q %q, want a plain-text Forbidden", path, resp.Header.Get("Content-Type"), body)
				}
			}
		})
	}
}
