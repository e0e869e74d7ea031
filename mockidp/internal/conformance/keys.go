package conformance

import (
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"os"

	"github.com/go-jose/go-jose/v4"
	"go.yaml.in/yaml/v3"
)

// KeyFromSecrets reads the Admin API key (the first key of the admin-api.auth secret)
// from an Authgear authgear.secrets.yaml: its kid and the RSA private key.
func KeyFromSecrets(path string) (string, *rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	var doc struct {
		Secrets []struct {
			Key  string `yaml:"key"`
			Data struct {
				Keys []map[string]any `yaml:"keys"`
			} `yaml:"data"`
		} `yaml:"secrets"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, s := range doc.Secrets {
		if s.Key != "admin-api.auth" || len(s.Data.Keys) == 0 {
			continue
		}
		raw, err := json.Marshal(s.Data.Keys[0])
		if err != nil {
			return "", nil, err
		}
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(raw); err != nil {
			return "", nil, fmt.Errorf("%s: admin-api.auth: %w", path, err)
		}
		k, ok := jwk.Key.(*rsa.PrivateKey)
		if !ok {
			return "", nil, fmt.Errorf("%s: admin-api.auth holds a %T, want an RSA private key", path, jwk.Key)
		}
		return jwk.KeyID, k, nil
	}
	return "", nil, fmt.Errorf("%s: no admin-api.auth secret", path)
}
