package idp

import (
	"cmp"
	"context"
	"fmt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
)

// Target is an identity provider a run imports into: its import API, its limits and
// what it does with legacy password hashes. strategies/targets opens one per
// target.kind; the bulk pipeline, the lazy sweep and authonly only see this.
type Target struct {
	Importer Importer // may also be a Finder, Looker or Deleter
	Limits   Limits
	Hashes   Hashes
	// Name identifies the target in the run directory's name, e.g. "mockidp-authgear".
	Name  string
	URL   string
	Close func() error // may be nil
}

// Limits are what a target takes in one request, and how many requests at once.
type Limits struct {
	BatchBytes   int // request body limit; 0 means BodyMaxSize
	BatchRecords int // users per request unless bulk.batch_size says; 0 means as many as fit in BatchBytes
	MaxRecords   int // the most users the target takes in one request; 0 means no limit
	Concurrency  int // requests in flight unless bulk.concurrency says; 0 means the runner's default
}

// Importer imports one batch of canonical users and reports what became of each.
type Importer interface {
	// ImportUsers imports b and returns a completed job with one Detail per user
	// (Index into b.Users). An error means the batch as a whole did not go through.
	ImportUsers(ctx context.Context, b *ImportBatch) (*Job, error)
	// Retries returns how many requests were retried so far.
	Retries() int64
}

// ImportBatch is one request's users: canonical users with their passwords already in
// the target's syntax, and the same users encoded as import records under the batch's
// options (Body: {"upsert","identifier","records"}), for targets whose API takes
// exactly that (Authgear, the mock IdP).
type ImportBatch struct {
	Upsert     bool
	Identifier string // email, phone_number or preferred_username
	Users      []*strategies.User
	Passwords  []*Password // per user; nil: the user moves without a password
	Body       []byte
	// RunID names the run (stable across --resume), for targets that can mark what a
	// run created.
	RunID string
}

// Hashes is what a target does with legacy password hashes.
type Hashes interface {
	// Name names the rules in a run's report: "authgear", "permissive", "kratos".
	Name() string
	// Rules says in a few words which hashes the target imports, e.g. "Authgear:
	// bcrypt hashes only".
	Rules() string
	// Importable reports whether users whose hashes are of format (a passwords format
	// name) keep their password at the target.
	Importable(format string) bool
	// Password returns what to import for s, read with v; an error (CodeUnsupportedHash
	// for a format the target cannot take) says why the user cannot keep it. It never
	// holds the hash.
	Password(v *passwords.Verifier, s passwords.Stored) (*Password, error)
}

// ProfileHashes are the hash rules of Authgear and of the mock IdP's profiles:
// "authgear" (bcrypt, and formats that convert to it) or "permissive" (any format
// cutover verifies, sent as it is with its salt).
type ProfileHashes string

var _ Hashes = ProfileHashes("")

// Name implements Hashes.
func (p ProfileHashes) Name() string { return cmp.Or(string(p), strategies.ProfileAuthgear) }

// Rules implements Hashes.
func (p ProfileHashes) Rules() string {
	if p == strategies.ProfilePermissive {
		return "any format cutover can verify (permissive mock IdP)"
	}
	return "Authgear: bcrypt hashes only"
}

// Importable implements Hashes.
func (p ProfileHashes) Importable(format string) bool { return passwords.Importable(format, string(p)) }

// Password implements Hashes.
func (p ProfileHashes) Password(v *passwords.Verifier, s passwords.Stored) (*Password, error) {
	hash, typ, ok := v.Convert(s, string(p))
	if !ok {
		return nil, &strategies.Error{Code: strategies.CodeUnsupportedHash, Field: "password_hash",
			Message: fmt.Sprintf("the %s target cannot import this format", p)}
	}
	pw := &Password{Type: typ, Hash: hash}
	if p == strategies.ProfilePermissive {
		pw.Salt = s.Salt
	}
	return pw, nil
}

// ImportUsers implements Importer: Authgear's User Import API takes the records as
// they are.
func (c *Client) ImportUsers(ctx context.Context, b *ImportBatch) (*Job, error) {
	return c.Import(ctx, b.Body)
}
