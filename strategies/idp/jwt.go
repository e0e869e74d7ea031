package idp

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// tokenLifetime is how long a minted Admin API JWT lives; a fresh one is minted when
// less than tokenSlack remains.
const (
	tokenLifetime = 5 * time.Minute
	tokenSlack    = time.Minute
)

// tokenSource mints and caches Admin API JWTs: RS256, header kid, aud = [project].
type tokenSource struct {
	project string
	kid     string
	key     *rsa.PrivateKey

	mu  sync.Mutex
	tok string
	exp time.Time
}

func (s *tokenSource) token(now time.Time) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok != "" && now.Add(tokenSlack).Before(s.exp) {
		return s.tok, nil
	}
	tok, err := MintAdminJWT(s.key, s.kid, s.project, now, tokenLifetime)
	if err != nil {
		return "", err
	}
	s.tok, s.exp = tok, now.Add(tokenLifetime)
	return tok, nil
}

// MintAdminJWT signs an Authgear Admin API token: RS256 with header kid, claims
// aud = [project], iat and exp = iat + ttl.
func MintAdminJWT(key *rsa.PrivateKey, kid, project string, now time.Time, ttl time.Duration) (string, error) {
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		return "", fmt.Errorf("admin api token: %w", err)
	}
	claims := map[string]any{
		"aud": []string{project},
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", fmt.Errorf("admin api token: %w", err)
	}
	return tok, nil
}

// LoadKey reads an RSA private key from a PEM file (PKCS#1 or PKCS#8).
func LoadKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read admin api key: %w", err)
	}
	k, err := ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParseKey parses a PEM-encoded RSA private key (PKCS#1 or PKCS#8).
func ParseKey(data []byte) (*rsa.PrivateKey, error) {
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, errors.New("no RSA private key found; expected a PEM block \"RSA PRIVATE KEY\" or \"PRIVATE KEY\" (the Admin API key downloaded from the portal)")
		}
		switch b.Type {
		case "RSA PRIVATE KEY":
			k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PKCS#1 key: %w", err)
			}
			return k, nil
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
			if err != nil {
				return nil, fmt.Errorf("parse PKCS#8 key: %w", err)
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, fmt.Errorf("the key is a %T; the Admin API needs an RSA key", k)
			}
			return rk, nil
		}
	}
}
