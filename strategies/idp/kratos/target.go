package kratos

import (
	"context"
	"fmt"
	"net/http"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/passwords"
)

// pendingLookups is how many identities found already there are checked at once for
// a pending migration hook.
const pendingLookups = 8

// PasswordType is the idp.Password type of a hash already in Kratos's syntax.
const PasswordType = "kratos"

// MigrationHookType is the idp.Password type of a user imported with no hash and
// flagged for the password-migration hook (the lazy strategy's pre-import).
const MigrationHookType = "kratos_migration_hook"

// Target wraps a Client as an idp.Importer with lookup and deletion, so the bulk
// pipeline, undo and the lazy sweep run against Kratos as against Authgear.
type Target struct {
	*Client
}

var (
	_ idp.Importer = Target{}
	_ idp.Looker   = Target{}
	_ idp.Deleter  = Target{}
)

// Limits are Kratos v1.3.1's: up to MaxBatch identities per PATCH, DefaultBatch by
// default. The body limit is Authgear's, which no batch of DefaultBatch users reaches.
func Limits() idp.Limits {
	return idp.Limits{BatchRecords: DefaultBatch, MaxRecords: MaxBatch}
}

// ImportUsers implements idp.Importer: one PATCH /admin/identities per batch, each
// user's result as a Detail. Kratos's batch API cannot update an identity, so with
// b.Upsert an existing one is still skipped, and the reason says so.
func (t Target) ImportUsers(ctx context.Context, b *idp.ImportBatch) (*idp.Job, error) {
	ids := make([]Identity, len(b.Users))
	for i, u := range b.Users {
		var pw *Password
		switch p := b.Passwords[i]; {
		case p == nil:
		case p.Type == MigrationHookType:
			pw = &Password{MigrationHook: true}
		case p.Type == PasswordType:
			pw = &Password{Hash: p.Hash}
		default:
			return nil, fmt.Errorf("kratos: a %s password reached the Kratos target untranslated (a bug in cutover)", p.Type)
		}
		ids[i] = NewIdentity(u, pw)
	}
	res, err := t.ImportBatch(ctx, b.RunID, ids)
	if err != nil {
		return nil, err
	}
	// Identities already there may be the lazy pre-import's, waiting for the hook: they
	// get their hash (the sweep). Each needs a look and a write, so several go at once.
	pending := make([]string, len(res))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(pendingLookups)
	for i, r := range res {
		if r.Outcome == strategies.OutcomeSkipped {
			g.Go(func() (err error) {
				pending[i], err = t.givePendingHash(gctx, ids[i], b.Passwords[i])
				return err
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	j := &idp.Job{Status: idp.StatusCompleted, Summary: &idp.Summary{Total: len(res)}, Details: make([]idp.Detail, len(res))}
	for i, r := range res {
		d := idp.Detail{Index: i, UserID: r.ID}
		switch {
		case r.Outcome == strategies.OutcomeInserted:
			d.Outcome = "inserted"
		case r.Outcome == strategies.OutcomeSkipped && pending[i] != "":
			d.Outcome, d.UserID = "updated", pending[i]
			d.Warnings = []idp.Warning{{Message: ReasonHookHashSet}}
		case r.Outcome == strategies.OutcomeSkipped:
			d.Outcome = "skipped"
			if b.Upsert {
				r.Reason += " (Kratos's batch import cannot update an identity: bulk.upsert does not apply)"
			}
			d.Warnings = []idp.Warning{{Message: r.Reason}}
		default:
			d.Outcome = "failed"
			d.Errors = []*idp.APIError{{Status: http.StatusUnprocessableEntity, Message: r.Reason}}
		}
		j.Details[i] = d
	}
	return j, nil
}

// ReasonHookHashSet is why a user already at Kratos was updated: the lazy strategy's
// pre-import left them waiting for the migration hook, they never signed in, and the
// import (the sweep) gave them their legacy hash.
const ReasonHookHashSet = "pre-imported for the migration hook and never signed in: the legacy hash, translated, is now their password at Kratos"

// givePendingHash gives an identity that was already there its translated hash when it
// still waits for the migration hook (see Client.SetHashIfHookPending).
func (t Target) givePendingHash(ctx context.Context, id Identity, pw *idp.Password) (string, error) {
	ident := identifierOf(id.Traits)
	if pw == nil || pw.Type != PasswordType || ident == "" {
		return "", nil
	}
	return t.SetHashIfHookPending(ctx, ident, pw.Hash)
}

// LookupUser implements idp.Looker: the identity whose credentials identifier is value.
func (t Target) LookupUser(ctx context.Context, _, value string) (*idp.TargetUser, error) {
	f, err := t.FindByIdentifier(ctx, value)
	if err != nil || f == nil {
		return nil, err
	}
	u := &idp.TargetUser{ID: f.ID, CreatedAt: f.CreatedAt, Source: "import"}
	u.Email, _ = f.Traits["email"].(string)
	u.PhoneNumber, _ = f.Traits["phone_number"].(string)
	u.PreferredUsername, _ = f.Traits["preferred_username"].(string)
	return u, nil
}

// DeleteUsers implements idp.Deleter (for `cutover undo`), one identity at a time:
// Kratos has no batch delete. It stops at the first failure and says how many went.
func (t Target) DeleteUsers(ctx context.Context, ids []string) (int, error) {
	n := 0
	for _, id := range ids {
		ok, err := t.Delete(ctx, id)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Hashes are Kratos's hash rules: legacy formats translated into Kratos's syntax
// (Table), the rest not importable. Safe for concurrent use.
type Hashes struct {
	mu sync.Mutex
	v  *passwords.Verifier // the verifier tr was made for
	tr *Translator
}

var _ idp.Hashes = (*Hashes)(nil)

// Name implements idp.Hashes.
func (h *Hashes) Name() string { return "kratos" }

// Rules implements idp.Hashes.
func (h *Hashes) Rules() string {
	return "Ory Kratos: bcrypt, argon2, pbkdf2, scrypt, Firebase scrypt, salted md5/sha and {SSHA} (translated)"
}

// Importable implements idp.Hashes.
func (h *Hashes) Importable(format string) bool {
	r, ok := RuleFor(format)
	return ok && r.Importable()
}

// Password implements idp.Hashes: the hash translated into Kratos's syntax.
func (h *Hashes) Password(v *passwords.Verifier, s passwords.Stored) (*idp.Password, error) {
	tr, err := h.translator(v)
	if err != nil {
		return nil, err
	}
	hash, _, err := tr.Translate(s)
	if err != nil {
		return nil, err
	}
	return &idp.Password{Type: PasswordType, Hash: hash}, nil
}

func (h *Hashes) translator(v *passwords.Verifier) (*Translator, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.tr == nil || h.v != v {
		tr, err := NewTranslator(v.Options())
		if err != nil {
			return nil, err
		}
		h.v, h.tr = v, tr
	}
	return h.tr, nil
}

// HookHashes are the hash rules of the lazy pre-import: every user with a hash is
// imported without it, flagged for the password-migration hook, so Kratos asks the
// bridge at their first sign-in.
type HookHashes struct{}

var _ idp.Hashes = HookHashes{}

// Name implements idp.Hashes.
func (HookHashes) Name() string { return "kratos-migration-hook" }

// Rules implements idp.Hashes.
func (HookHashes) Rules() string {
	return "Ory Kratos with the password-migration hook: every hash is checked by cutover bridge at first sign-in"
}

// Importable implements idp.Hashes: the bridge verifies every format cutover knows.
func (HookHashes) Importable(string) bool { return true }

// Password implements idp.Hashes.
func (HookHashes) Password(*passwords.Verifier, passwords.Stored) (*idp.Password, error) {
	return &idp.Password{Type: MigrationHookType}, nil
}
