// Package lazy is the lazy strategy: the verification bridge an identity provider calls
// when a user it does not know signs in (one core, several dialects: authproject,
// keycloak, kratos, fusionauth), the store recording every successful verification,
// and the status and sweep that watch and finish the migration.
package lazy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/mapping"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources"
)

// Reasons a verification fails, as logged and counted (never with the password).
const (
	ReasonMissing     = "missing_credentials" // no identifier or no password
	ReasonUnknown     = "unknown_user"        // no legacy record has this identifier
	ReasonWrong       = "wrong_password"
	ReasonDisabled    = "disabled"      // the legacy user is disabled
	ReasonNoPassword  = "no_password"   // the legacy record has no hash
	ReasonUnusable    = "unusable_hash" // the hash is malformed or in a format that cannot be verified
	ReasonRateLimited = "rate_limited"  // too many failed attempts for this identifier
)

// Config configures a Bridge beyond the plan.
type Config struct {
	// Plan is the lazy plan: source, mapping and the lazy: options. Required.
	Plan *strategies.Plan
	// Source is the legacy source; nil opens the plan's (and Close closes it).
	// It must implement sources.Finder.
	Source sources.Source
	// Store records successful verifications; nil opens the plan's lazy.store (and
	// Close closes it).
	Store *Store
	// Secret, when not empty, is used instead of expanding the plan's lazy.secret.
	Secret string
	// Log receives one line per request, without passwords; nil discards.
	Log *slog.Logger
	// Now is the clock of the rate limits and the store; nil is time.Now.
	Now func() time.Time
	// Client makes delegation calls; nil uses a client with a 10 s timeout that does not
	// follow redirects.
	Client *http.Client
	// MaxConcurrent bounds verifications running at once (hashing is CPU and, for
	// argon2/scrypt, memory heavy); 0 means 2 per CPU.
	MaxConcurrent int
	// ShutdownTimeout bounds how long Serve waits for in-flight requests; 0 means 30 s.
	ShutdownTimeout time.Duration
}

// Result is the outcome of one verification.
type Result struct {
	OK       bool
	Limited  bool             // refused by the per-identifier rate limit
	Reason   string           // why not OK (one of the Reason constants)
	User     *strategies.User // the legacy user when found, without password hash or salt
	UserInfo map[string]any   // the mapped profile for the IdP (lazy.user_info), when OK
}

// Stats counts verifications by result since the bridge started.
type Stats struct {
	Verified    int64 `json:"verified"`
	Failed      int64 `json:"failed"`
	RateLimited int64 `json:"rate_limited"`
	Errors      int64 `json:"errors"`
}

// Bridge verifies legacy credentials for an IdP. It is safe for concurrent use.
type Bridge struct {
	plan     *strategies.Plan
	dialect  string
	src      sources.Source
	finder   sources.Finder
	store    *Store
	closers  []func() error
	verifier *passwords.Verifier
	format   string // the plan's password_format ("" = detect)
	log      *slog.Logger
	now      func() time.Time
	secret   string
	noAuth   bool
	perID    *limiter
	perCli   *limiter
	delegate *delegator
	userInfo []string
	sem      chan struct{}
	shutdown time.Duration

	emailCol, usernameCol, idCol string

	mapMu  sync.Mutex // mapping.Mapper keeps per-field counters: one Map at a time
	mapper *mapping.Mapper

	verified, failed, limited, errs atomic.Int64
}

// New builds a bridge for a lazy plan: it opens the source and the tracking store
// (unless given), checks that the source can look users up, expands the secret and
// prepares the password verifier with a decoy hash like the real users' so that an
// unknown identifier costs what a wrong password does.
func New(ctx context.Context, cfg Config) (_ *Bridge, err error) {
	p := cfg.Plan
	if p == nil {
		return nil, errors.New("new bridge: no plan")
	}
	o := p.Lazy
	b := &Bridge{
		plan: p, dialect: o.Dialect, log: cfg.Log, now: cfg.Now, noAuth: o.NoAuth,
		format: strings.TrimSpace(p.Mapping.PasswordFormat), shutdown: cfg.ShutdownTimeout,
		emailCol: p.Mapping.Email.Column, usernameCol: p.Mapping.PreferredUsername.Column, idCol: p.Mapping.LegacyID.Column,
	}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if b.dialect == "" {
		b.dialect = strategies.DialectAuthproject
	}
	if b.format == "auto" {
		b.format = ""
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	if b.shutdown == 0 {
		b.shutdown = 30 * time.Second
	}
	planErr := func(key, format string, args ...any) error {
		return &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: key, Message: fmt.Sprintf(format, args...)}
	}
	b.secret = cfg.Secret
	if b.secret == "" && o.Secret != "" {
		if b.secret, err = strategies.Expand("lazy.secret", o.Secret); err != nil {
			return nil, err
		}
	}
	if b.secret == "" && !b.noAuth {
		return nil, planErr("lazy.secret", "missing; callers must present a shared secret: write secret: ${BRIDGE_SECRET} and export BRIDGE_SECRET (or set no_auth: true to accept anyone, e.g. on a private network)")
	}
	if b.emailCol == "" && b.usernameCol == "" {
		return nil, planErr("mapping.email", "the bridge looks users up by email or preferred_username; map one of them")
	}
	for _, k := range o.UserInfo {
		if !knownUserInfo(k) {
			return nil, planErr("lazy.user_info", "%q is not a canonical field; use names like email, name, given_name, roles, address or custom_attributes.<name>", k)
		}
	}
	b.userInfo = o.UserInfo
	perID, perCli := o.RateLimit.PerIdentifier, o.RateLimit.PerClient
	if perID <= 0 {
		perID = DefaultPerIdentifier
	}
	if perCli <= 0 {
		perCli = DefaultPerClient
	}
	b.perID, b.perCli = newLimiter(perID, b.now), newLimiter(perCli, b.now)
	n := cfg.MaxConcurrent
	if n <= 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	b.sem = make(chan struct{}, n)

	b.src = cfg.Source
	if b.src == nil {
		if b.src, err = sources.Open(ctx, p); err != nil {
			return nil, err
		}
		b.closers = append(b.closers, b.src.Close)
	}
	f, ok := b.src.(sources.Finder)
	if !ok {
		return nil, planErr("source.kind", "a %s source cannot look users up one by one, which the bridge needs", p.Source.Kind)
	}
	b.finder = f
	// Look a made-up value up in each lookup column now: a file source builds its index
	// here rather than at the first sign-in, and a wrong column fails at start.
	for key, col := range map[string]string{"mapping.email": b.emailCol, "mapping.preferred_username": b.usernameCol} {
		if col == "" {
			continue
		}
		if _, err := f.Find(ctx, col, "cutover-bridge-startup-check"); err != nil {
			return nil, &strategies.Error{Code: strategies.CodeSource, File: p.File, Field: key,
				Message: fmt.Sprintf("cannot look users up by column %q; check the mapping and the source", col), Err: err}
		}
	}

	var popts passwords.Options
	if p.Mapping.PasswordKey != "" {
		k, err := strategies.Expand("mapping.password_key", p.Mapping.PasswordKey)
		if err != nil {
			return nil, err
		}
		popts.Key = []byte(k)
	}
	if hc, ok := b.src.(sources.HashConfiger); ok {
		if popts.Firebase, err = hc.HashConfig(ctx); err != nil {
			return nil, err
		}
	}
	// A first verifier maps the sample; the real one gets the decoy.
	if b.verifier, err = passwords.New(popts); err != nil {
		return nil, fmt.Errorf("set up password formats: %w", err)
	}
	if b.mapper, err = mapping.New(p, mapping.Options{Verifier: b.verifier, SkipDuplicates: true}); err != nil {
		return nil, err
	}
	if o.Delegate != nil {
		if b.delegate, err = newDelegator(p, cfg.Client); err != nil {
			return nil, err
		}
	} else {
		b.decoy(ctx, &popts)
		if b.verifier, err = passwords.New(popts); err != nil {
			return nil, fmt.Errorf("set up password formats: %w", err)
		}
	}

	b.store = cfg.Store
	if b.store == nil {
		path, err := StorePath(p)
		if err != nil {
			return nil, err
		}
		if b.store, err = OpenStore(ctx, path); err != nil {
			return nil, err
		}
		b.closers = append(b.closers, b.store.Close)
	}
	return b, nil
}

// decoy picks the hash VerifyUnknown checks: one in the format most of the first users
// have (with their bcrypt cost), so that timing does not tell unknown identifiers from
// wrong passwords. In a table mixing formats, users in the other formats still cost
// their own format's time.
func (b *Bridge) decoy(ctx context.Context, o *passwords.Options) {
	sm, ok := b.src.(sources.Sampler)
	if !ok {
		return
	}
	recs, err := sm.Sample(ctx, 200)
	if err != nil {
		b.log.Warn("cannot sample the source for a decoy hash; unknown users are checked against bcrypt cost 10", "err", err)
		return
	}
	type cand struct {
		n    int
		user *strategies.User
	}
	byFormat := map[string]*cand{}
	best := ""
	for _, r := range recs {
		if r.Err != nil {
			continue
		}
		u, errs := b.mapRecord(r)
		if u.PasswordHash == "" || u.PasswordFormat == "" || hashProblem(errs) != nil {
			continue
		}
		c := byFormat[u.PasswordFormat]
		if c == nil {
			c = &cand{user: u}
			byFormat[u.PasswordFormat] = c
		}
		if c.n++; best == "" || c.n > byFormat[best].n {
			best = u.PasswordFormat
		}
	}
	if best == "" {
		return
	}
	u := byFormat[best].user
	if c, err := bcrypt.Cost([]byte(u.PasswordHash)); err == nil && strings.HasPrefix(u.PasswordHash, "$2") {
		o.DecoyCost = c
		b.log.Info("unknown users cost one bcrypt verification, like most users", "cost", c, "formats", len(byFormat))
		return
	}
	if u.PasswordSalt == "" && b.format == "" {
		o.DecoyHash = u.PasswordHash
		b.log.Info("unknown users cost one verification in most users' format", "format", best, "formats", len(byFormat))
		return
	}
	b.log.Info("unknown users cost one bcrypt cost-10 verification; most users' format needs a salt column a decoy cannot imitate", "format", best)
}

// Dialect returns the protocol the bridge speaks.
func (b *Bridge) Dialect() string { return b.dialect }

// Store returns the tracking store.
func (b *Bridge) Store() *Store { return b.store }

// Stats returns the counts since start.
func (b *Bridge) Stats() Stats {
	return Stats{Verified: b.verified.Load(), Failed: b.failed.Load(), RateLimited: b.limited.Load(), Errors: b.errs.Load()}
}

// Close closes what New opened.
func (b *Bridge) Close() error {
	var errs []error
	for _, c := range slices.Backward(b.closers) {
		errs = append(errs, c())
	}
	b.closers = nil
	return errors.Join(errs...)
}

// Verify checks login (an email, or a username / legacy id where the plan maps one) and
// password against the legacy system, records a success in the store, and returns the
// user's mapped profile. A failed verification is a Result with OK false and a Reason,
// not an error; an error means the legacy system could not be asked.
func (b *Bridge) Verify(ctx context.Context, login, password string) (Result, error) {
	start := b.now()
	login = strings.TrimSpace(login)
	key := strings.ToLower(login)
	if login == "" || password == "" {
		b.failed.Add(1)
		return Result{Reason: ReasonMissing}, nil
	}
	// Reserve the attempt before checking it: attempts in flight count against the
	// limit, or a burst of concurrent guesses would all pass before the first failed.
	if !b.perID.reserve(key) {
		b.limited.Add(1)
		b.log.Warn("verification refused: too many failed attempts for this identifier", "dialect", b.dialect)
		return Result{Limited: true, Reason: ReasonRateLimited}, nil
	}
	failed := false
	defer func() { b.perID.settle(key, failed) }()
	select {
	case b.sem <- struct{}{}:
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	res, err := b.verify(ctx, login, password)
	<-b.sem
	if err != nil {
		b.errs.Add(1)
		b.log.Error("verification failed: the legacy system cannot be asked", "dialect", b.dialect, "err", err)
		return Result{}, err
	}
	attrs := []any{"dialect", b.dialect, "ms", b.now().Sub(start).Milliseconds()}
	if res.User != nil && res.User.LegacyID != "" {
		attrs = append(attrs, "legacy_id", res.User.LegacyID)
	}
	if !res.OK {
		failed = true
		b.failed.Add(1)
		b.log.Info("verification failed", append(attrs, "reason", res.Reason)...)
		return res, nil
	}
	b.verified.Add(1)
	m := Migration{At: b.now(), LegacyID: res.User.LegacyID, Email: res.User.Email, Dialect: b.dialect}
	if m.Email == "" && strings.Contains(login, "@") {
		m.Email = login
	}
	if err := b.store.Record(context.WithoutCancel(ctx), m); err != nil {
		// The user is verified and must be able to sign in; status will undercount.
		b.log.Error("verification succeeded but was not recorded; status and sweep will not know", append(attrs, "err", err)...)
	}
	b.log.Info("verified", attrs...)
	return res, nil
}

func (b *Bridge) verify(ctx context.Context, login, password string) (Result, error) {
	if b.delegate != nil {
		return b.verifyDelegated(ctx, login, password)
	}
	u, errs, err := b.lookup(ctx, login)
	if err != nil {
		return Result{}, err
	}
	if u == nil {
		b.verifier.VerifyUnknown(ctx, password)
		return Result{Reason: ReasonUnknown}, nil
	}
	res := Result{User: scrub(u)}
	if u.PasswordHash == "" {
		b.verifier.VerifyUnknown(ctx, password)
		res.Reason = ReasonNoPassword
		return res, nil
	}
	if e := hashProblem(errs); e != nil {
		b.verifier.VerifyUnknown(ctx, password)
		b.log.Warn("legacy password hash cannot be used", "legacy_id", u.LegacyID, "code", e.Code, "problem", e.Message)
		res.Reason = ReasonUnusable
		return res, nil
	}
	ok, err := b.verifier.Verify(ctx, passwords.Stored{Hash: u.PasswordHash, Salt: u.PasswordSalt, Format: b.format}, password)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		b.log.Warn("legacy password hash cannot be verified", "legacy_id", u.LegacyID, "code", strategies.CodeOf(err), "err", err)
		res.Reason = ReasonUnusable
		return res, nil
	}
	switch {
	case !ok:
		res.Reason = ReasonWrong
	case u.Disabled:
		res.Reason = ReasonDisabled
	default:
		res.OK = true
		res.UserInfo = b.userInfoOf(u)
	}
	return res, nil
}

// Lookup returns the legacy user login names, without password hash or salt, or nil
// when there is none, it is disabled, or it has no usable password (so could never be
// verified). Keycloak's plugin asks this before it asks for the password.
func (b *Bridge) Lookup(ctx context.Context, login string) (*strategies.User, error) {
	u, errs, err := b.lookup(ctx, strings.TrimSpace(login))
	if err != nil || u == nil {
		return nil, err
	}
	if u.Disabled || (b.delegate == nil && (u.PasswordHash == "" || hashProblem(errs) != nil)) {
		return nil, nil
	}
	return scrub(u), nil
}

// lookup finds and maps the legacy record for login: by email when it looks like one,
// otherwise by preferred_username and then legacy_id where the plan maps them.
func (b *Bridge) lookup(ctx context.Context, login string) (*strategies.User, []*strategies.Error, error) {
	if login == "" {
		return nil, nil, nil
	}
	var cols []string
	if strings.Contains(login, "@") && b.emailCol != "" {
		cols = append(cols, b.emailCol)
	}
	if b.usernameCol != "" {
		cols = append(cols, b.usernameCol)
	}
	if !strings.Contains(login, "@") && b.idCol != "" {
		cols = append(cols, b.idCol)
	}
	for _, col := range cols {
		recs, err := b.finder.Find(ctx, col, login)
		if err != nil {
			return nil, nil, fmt.Errorf("look the user up in the legacy source: %w", err)
		}
		if len(recs) == 0 {
			continue
		}
		if len(recs) > 1 {
			// As bulk does with duplicates, the first record in source order wins.
			b.log.Warn("several legacy records share this identifier; using the first", "column", col, "records", len(recs))
		}
		u, errs := b.mapRecord(recs[0])
		return u, errs, nil
	}
	return nil, nil, nil
}

func (b *Bridge) mapRecord(r sources.Record) (*strategies.User, []*strategies.Error) {
	b.mapMu.Lock()
	defer b.mapMu.Unlock()
	return b.mapper.Map(r)
}

// hashProblem returns the mapping error that makes the user's password unusable.
func hashProblem(errs []*strategies.Error) *strategies.Error {
	for _, e := range errs {
		switch {
		case e.Field == "password_hash", e.Field == "password_salt",
			e.Code == strategies.CodeUnknownHash, e.Code == strategies.CodeMalformedHash, e.Code == strategies.CodeUnsupportedHash:
			return e
		}
	}
	return nil
}

// scrub returns a copy of u without its password hash and salt.
func scrub(u *strategies.User) *strategies.User {
	c := *u
	c.PasswordHash, c.PasswordSalt = "", ""
	return &c
}
