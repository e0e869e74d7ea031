package mockidp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Names of the files written to Config.AdminKeyDir.
const (
	AdminKeyPEMFile  = "admin-key.pem"
	AdminKeyJSONFile = "admin-key.json"
)

// AdminKeyInfo is the content of admin-key.json: what scripts and plans need besides the key.
type AdminKeyInfo struct {
	Project  string `json:"project"`
	KeyID    string `json:"key_id"`
	Issuer   string `json:"issuer"`
	ClientID string `json:"client_id"`
}

type adminKey struct {
	key      *rsa.PrivateKey
	pem      []byte
	keyID    string
	project  string
	dir      string
	pemFile  string
	jsonFile string
}

// randomID returns n random bytes as lower-case unpadded base32.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

func loadOrCreateAdminKey(cfg Config) (adminKey, error) {
	ak := adminKey{project: cfg.Project, dir: cfg.AdminKeyDir}
	var info AdminKeyInfo
	if cfg.AdminKeyDir != "" {
		ak.pemFile = filepath.Join(cfg.AdminKeyDir, AdminKeyPEMFile)
		ak.jsonFile = filepath.Join(cfg.AdminKeyDir, AdminKeyJSONFile)
		data, err := os.ReadFile(ak.pemFile)
		switch {
		case err == nil:
			k, err := parseRSAKey(data)
			if err != nil {
				return ak, fmt.Errorf("%s: %w (delete it to have a new key created)", ak.pemFile, err)
			}
			ak.key, ak.pem = k, data
			if j, err := os.ReadFile(ak.jsonFile); err == nil {
				if err := json.Unmarshal(j, &info); err != nil {
					return ak, fmt.Errorf("%s: %w (delete it to have it rewritten)", ak.jsonFile, err)
				}
			} else if !errors.Is(err, fs.ErrNotExist) {
				return ak, fmt.Errorf("read %s: %w", ak.jsonFile, err)
			}
		case errors.Is(err, fs.ErrNotExist):
		default:
			return ak, fmt.Errorf("read %s: %w", ak.pemFile, err)
		}
	}
	if ak.key == nil {
		k := cfg.AdminKey
		if k == nil {
			var err error
			if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
				return ak, fmt.Errorf("generate: %w", err)
			}
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return ak, fmt.Errorf("encode: %w", err)
		}
		ak.key = k
		ak.pem = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	ak.keyID = info.KeyID
	if ak.keyID == "" {
		ak.keyID = "mock-" + randomID(10)
	}
	if ak.project == "" {
		ak.project = info.Project
	}
	if ak.project == "" {
		ak.project = DefaultProject
	}
	if ak.dir != "" {
		if err := os.MkdirAll(ak.dir, 0o700); err != nil {
			return ak, fmt.Errorf("create %s: %w", ak.dir, err)
		}
		if err := writeFileAtomic(ak.pemFile, ak.pem, 0o600); err != nil {
			return ak, err
		}
		if err := ak.writeInfo(cfg.Issuer); err != nil {
			return ak, err
		}
	}
	return ak, nil
}

// writeInfo (re)writes admin-key.json, e.g. once the issuer is known.
func (ak adminKey) writeInfo(issuer string) error {
	if ak.jsonFile == "" {
		return nil
	}
	b, err := json.MarshalIndent(AdminKeyInfo{Project: ak.project, KeyID: ak.keyID, Issuer: issuer, ClientID: ClientID}, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(ak.jsonFile, append(b, '\n'), 0o600)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

func parseRSAKey(data []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil, errors.New("no PEM block found")
	}
	if k, err := x509.ParsePKCS8PrivateKey(blk.Bytes); err == nil {
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, errors.New("not an RSA private key")
		}
		return rk, nil
	}
	k, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.New("not a PKCS#8 or PKCS#1 RSA private key")
	}
	return k, nil
}

// AdminToken signs an Admin API JWT with the admin key: RS256, kid, aud = [project], iat, exp.
func (i Info) AdminToken(now time.Time, ttl time.Duration) (string, error) {
	return SignAdminToken(i.AdminKey, i.KeyID, i.Project, now, ttl)
}

// SignAdminToken signs an Admin API JWT as Authgear expects one: RS256 with kid, aud = [project].
func SignAdminToken(key *rsa.PrivateKey, keyID, project string, now time.Time, ttl time.Duration) (string, error) {
	if key == nil {
		return "", errors.New("sign admin token: no key")
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), keyID))
	if err != nil {
		return "", fmt.Errorf("sign admin token: %w", err)
	}
	tok, err := jwt.Signed(sig).Claims(map[string]any{
		"aud": []string{project},
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign admin token: %w", err)
	}
	return tok, nil
}

// tokenSigner signs the OIDC ID and access tokens.
type tokenSigner struct {
	key    *rsa.PrivateKey
	keyID  string
	signer jose.Signer
	jwks   []byte
}

func newTokenSigner(k *rsa.PrivateKey) (*tokenSigner, error) {
	if k == nil {
		var err error
		if k, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			return nil, err
		}
	}
	// The key id follows from the key, so a key kept across restarts keeps its kid.
	thumb, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, err
	}
	kid := "sig-" + base64.RawURLEncoding.EncodeToString(thumb)[:16]
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: k},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), kid))
	if err != nil {
		return nil, err
	}
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &k.PublicKey, KeyID: kid, Algorithm: string(jose.RS256), Use: "sig"}}})
	if err != nil {
		return nil, err
	}
	return &tokenSigner{key: k, keyID: kid, signer: sig, jwks: jwks}, nil
}

func (t *tokenSigner) sign(claims map[string]any) (string, error) {
	return jwt.Signed(t.signer).Claims(claims).Serialize()
}
