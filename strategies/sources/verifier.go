package sources

import (
	"context"
	"fmt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
)

// Verifier builds the password verifier a pass over src needs: the plan's pepper
// (mapping.password_key) and, for a source that carries them (Firebase exports), the
// hash parameters. Every pass builds it here so that preflight, bulk and the bridge
// detect the same formats: without the Firebase parameters every Firebase hash would
// be malformed.
func Verifier(ctx context.Context, p *strategies.Plan, src Source) (*passwords.Verifier, error) {
	var opts passwords.Options
	if p.Mapping.PasswordKey != "" {
		k, err := strategies.Expand("mapping.password_key", p.Mapping.PasswordKey)
		if err != nil {
			return nil, err
		}
		opts.Key = []byte(k)
	}
	if hc, ok := src.(HashConfiger); ok && p.Source.Kind == strategies.SourceFirebase {
		fc, err := hc.HashConfig(ctx)
		if err != nil {
			return nil, err
		}
		opts.Firebase = fc
	}
	v, err := passwords.New(opts)
	if err != nil {
		return nil, fmt.Errorf("set up password formats: %w", err)
	}
	return v, nil
}
