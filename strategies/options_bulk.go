package strategies

import "path/filepath"

// UnsupportedHash choices: what bulk does with a hash the target cannot import.
const (
	UnsupportedFail            = "fail"             // report the row as failed
	UnsupportedWithoutPassword = "without_password" // import the user with no password (they reset or use a code)
	UnsupportedSkip            = "skip"             // leave the user out, reported as skipped
)

// BulkOptions are the plan's `bulk:` options. Zero values mean the defaults.
type BulkOptions struct {
	Concurrency     int    `yaml:"concurrency,omitempty"`      // import jobs in flight (default 4)
	Upsert          bool   `yaml:"upsert,omitempty"`           // update users that exist instead of skipping them
	UnsupportedHash string `yaml:"unsupported_hash,omitempty"` // fail | without_password | skip (default fail)
	RunDir          string `yaml:"run_dir,omitempty"`          // where run records live (default .cutover/runs)
	Identifier      string `yaml:"identifier,omitempty"`       // email | phone_number | preferred_username (default: first mapped)
	BatchBytes      int    `yaml:"batch_bytes,omitempty"`      // request body limit (default 500000, Authgear's)
	LogEmails       bool   `yaml:"log_emails,omitempty"`       // write emails into outcome logs and failure files
	BatchSize       int    `yaml:"batch_size,omitempty"`       // users per request (default: the target's, e.g. 1000 for Kratos)
}

func (o *BulkOptions) validate(bad badFunc) error {
	if o.Concurrency < 0 || o.Concurrency > 64 {
		return bad("bulk.concurrency", "%d is out of range; use 1 to 64", o.Concurrency)
	}
	if o.UnsupportedHash != "" {
		if err := oneOf(bad, "bulk.unsupported_hash", o.UnsupportedHash, UnsupportedFail, UnsupportedWithoutPassword, UnsupportedSkip); err != nil {
			return err
		}
	}
	if o.Identifier != "" {
		if err := oneOf(bad, "bulk.identifier", o.Identifier, "email", "phone_number", "preferred_username"); err != nil {
			return err
		}
	}
	if o.BatchBytes != 0 && (o.BatchBytes < 10_000 || o.BatchBytes > 500_000) {
		return bad("bulk.batch_bytes", "%d is out of range; use 10000 to 500000", o.BatchBytes)
	}
	if o.BatchSize < 0 || o.BatchSize > 10_000 {
		return bad("bulk.batch_size", "%d is out of range; use 1 to 10000 (or leave it out for the target's default)", o.BatchSize)
	}
	return nil
}

// DefaultRunRoot is where run directories live unless bulk.run_dir says: beside the plan.
const DefaultRunRoot = ".cutover/runs"

// RunRoot returns the directory holding the plan's run directories: bulk.run_dir, or
// DefaultRunRoot beside the plan file.
func (p *Plan) RunRoot() (string, error) {
	root := p.Bulk.RunDir
	if root == "" {
		root = DefaultRunRoot
		if p.File != "" {
			return filepath.Join(filepath.Dir(p.File), root), nil
		}
		return root, nil
	}
	return p.Resolve("bulk.run_dir", root)
}
