// Package lazy is the lazy strategy: the verification bridge an identity provider calls
// when a user it does not know signs in (one core, several dialects: authproject,
// keycloak, kratos, fusionauth), the store recording every successful verification,
// and the status and sweep that watch and finish the migration.
package lazy

import (
	"cmp"
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

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/directory"
	"github.com/cutover/cutover/strategies/mapping"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources"
	"github.com/cutover/cutover/strategies/targets"
)

// Reasons a verification fails, as logged and counted (never with the password).
const (
	ReasonMissing     = "missing_credentials" // no identifier or no password
	ReasonUnknown     = "unknown_user"        // no legacy record has this identifier
	ReasonWrong       = "wrong_password"
	ReasonDisabled    = "disabled"      // the legacy user is disabled
	ReasonNoPassword  = "no_password"   // the legacy record has no hash
	ReasonUnusable    = "unusable_hash" // the hash is malformed or in a format that cannot be verified
	ReasonRateLimited = "rate_limited"  // too many failed attempts for this user
	ReasonBusy        = "busy"          // not verified: it could not start before the caller gives up
	ReasonAmbiguous   = "ambiguous"     // delegation: several records match the login, none exactly
	// ReasonTargetRule: the legacy system accepts the password but the target would
	// refuse it, or keep a password the user did not choose (targets.Rules): the user
	// must reset it. Result.Rule names the rule.
	ReasonTargetRule = "target_rule"
)

// Config configures a Bridge beyond the plan.
type Config struct {
	// Plan is the lazy plan: source, mapping and the lazy: options. Required.
	Plan *strategies.Plan
	// Source is the legacy source; nil opens the plan's (and Close closes it).
	// It must implement sources.Finder.
	Source sources.Source
	// Store records successful verifications; nil opens the plan's lazy.store (or the
	// shared lazy.store_table) and Close closes it.
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
	// CallerTimeout is how long the IdP waits for an answer; 0 takes lazy.caller_timeout
	// (default 5 s). A verification that cannot finish before it gets a fast "retry".
	CallerTimeout time.Duration
	// VerifyFloor is the time every verification is padded to; 0 calibrates it at start
	// on the slowest password format in the source (see calibrate).
	VerifyFloor time.Duration
}

// Result is the outcome of one verification.
type Result struct {
	OK       bool
	Limited  bool             // refused by the per-user rate limit
	Busy     bool             // not verified: it could not start before the caller gives up
	Reason   string           // why not OK (one of the Reason constants)
	User     *strategies.User // the legacy user when found, without password hash or salt
	UserInfo map[string]any   // the mapped profile for the IdP (lazy.user_info), when OK
	Format   string           // the password format checked ("" when none was)
	// Rule and Why name the target's rule that refused a password the legacy system
	// accepted (ReasonTargetRule), and why; never the password.
	Rule, Why string
}

// Stats counts verifications by result since the bridge started.
type Stats struct {
	Verified    int64 `json:"verified"`
	Failed      int64 `json:"failed"`
	RateLimited int64 `json:"rate_limited"`
	Busy        int64 `json:"busy"`
	Errors      int64 `json:"errors"`
	// TargetRefused counts passwords the legacy system accepted and the target's rules
	// refused (ReasonTargetRule): users sent to a reset.
	TargetRefused int64 `json:"target_refused"`
	// Queue is the number of verifications running or waiting now, Capacity how many
	// may run at once, and FloorMS the time each one takes (padded): together what a
	// caller needs to pace its sign-ins (Capacity*1000/FloorMS per second at most).
	Queue    int64 `json:"queue"`
	Capacity int   `json:"capacity"`
	FloorMS  int64 `json:"floor_ms"`
}

// Bridge verifies legacy credentials for an IdP. It is safe for concurrent use.
type Bridge struct {
	plan       *strategies.Plan
	dialect    string
	src        sources.Source
	finder     sources.Finder
	store      *Store
	closers    []func() error
	verifier   *passwords.Verifier
	format     string // the plan's password_format ("" = detect)
	log        *slog.Logger
	now        func() time.Time
	secret     string
	noAuth     bool
	perUser    counter // failed attempts per legacy record (or per unknown login)
	perIDLimit int
	perCli     *limiter // requests per authenticated client address
	perAnon    *limiter // rejected (unauthenticated) requests per client address
	delegate   *delegator
	userInfo   []string
	sem        chan struct{}
	shutdown   time.Duration
	caller     time.Duration // how long the IdP waits
	floor      time.Duration // every verification is padded to at least this (see adapt)
	metrics    *metrics

	loginCols []loginCol

	mapMu  sync.Mutex // mapping.Mapper keeps per-field counters: one Map at a time
	mapper *mapping.Mapper

	verified, failed, limited, busy, errs, queue atomic.Int64
	targetRefused                                atomic.Int64
	rules                                        []targets.Rule // the target's (targets.Rules)
	ewma                                         atomic.Int64   // mean verification time, ns
	raised                                       atomic.Int64   // the floor as adapt raised it, ns
}

// loginCol is a source column a sign-in is looked up in, and how to read the mapped
// user's value of it.
type loginCol struct {
	key, col string
	value    func(*strategies.User) string
}

// New builds a bridge for a lazy plan: it opens the source and the tracking store
// (unless given), checks that the source can look users up, expands the secret and
// prepares the password verifier, with a decoy hash like the real users' and a time
// floor every verification is padded to, so that the answer's time tells neither
// whether the user exists nor their hash format.
func New(ctx context.Context, cfg Config) (_ *Bridge, err error) {
	if cfg.Plan == nil {
		return nil, errors.New("new bridge: no plan")
	}
	b, err := newBridge(cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			b.Close()
		}
	}()
	if err := b.openSource(ctx, cfg.Source); err != nil {
		return nil, err
	}
	if err := b.setUpVerifier(ctx, cfg); err != nil {
		return nil, err
	}
	if err := b.openStore(ctx, cfg.Store); err != nil {
		return nil, err
	}
	return b, nil
}

// newBridge fills the bridge from the configuration and the plan's options, without
// opening anything.
func newBridge(cfg Config) (*Bridge, error) {
	p := cfg.Plan
	o := p.Lazy
	b := &Bridge{
		plan: p, dialect: o.Dialect, log: cfg.Log, now: cfg.Now, noAuth: o.NoAuth,
		format: strings.TrimSpace(p.Mapping.PasswordFormat), shutdown: cfg.ShutdownTimeout,
		caller: cfg.CallerTimeout, floor: cfg.VerifyFloor,
	}
	if b.dialect == "" {
		// The dialect the plan's target calls the bridge in.
		k, _ := strategies.TargetKindOf(p.Target.Kind)
		b.dialect = cmp.Or(k.Dialect, strategies.DialectAuthproject)
	}
	b.rules = targets.Rules(p)
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
	if b.caller == 0 {
		b.caller = DefaultCallerTimeout
		if o.CallerTimeout != "" {
			d, err := time.ParseDuration(o.CallerTimeout)
			if err != nil || d <= 0 {
				return nil, b.planErr("lazy.caller_timeout", "%q is not a positive duration; write e.g. 5s", o.CallerTimeout)
			}
			b.caller = d
		}
	}
	if err := b.setSecret(cfg.Secret); err != nil {
		return nil, err
	}
	if err := b.setLoginColumns(); err != nil {
		return nil, err
	}
	for _, k := range o.UserInfo {
		if !knownUserInfo(k) {
			return nil, b.planErr("lazy.user_info", "%q is not a canonical field; use names like email, name, given_name, roles, address or custom_attributes.<name>", k)
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
	b.perIDLimit = perID
	b.perUser, b.perCli, b.perAnon = newLimiter(perID, b.now), newLimiter(perCli, b.now), newLimiter(DefaultPerAnonymous, b.now)
	n := cfg.MaxConcurrent
	if n <= 0 {
		n = 2 * runtime.GOMAXPROCS(0)
	}
	b.sem = make(chan struct{}, n)
	b.metrics = newMetrics(b)
	return b, nil
}

// DefaultCallerTimeout is how long an IdP is assumed to wait for the bridge when the
// plan does not say (the mock IdP's hook timeout; Kratos' and Authgear's are longer).
const DefaultCallerTimeout = 5 * time.Second

func (b *Bridge) planErr(key, format string, args ...any) error {
	return &strategies.Error{Code: strategies.CodePlan, File: b.plan.File, Field: key, Message: fmt.Sprintf(format, args...)}
}

// setSecret takes the configured secret or expands the plan's lazy.secret.
func (b *Bridge) setSecret(secret string) (err error) {
	o := b.plan.Lazy
	b.secret = secret
	if b.secret == "" && o.Secret != "" {
		if b.secret, err = strategies.Expand("lazy.secret", o.Secret); err != nil {
			return err
		}
	}
	if b.secret == "" && !b.noAuth {
		return b.planErr("lazy.secret", "missing: callers must present a shared secret; add `secret: ${BRIDGE_SECRET}` under `lazy:` in %s, "+
			"run `export BRIDGE_SECRET=$(openssl rand -hex 32)` and give the IdP the same value for its hook "+
			"(or set `no_auth: true` under `lazy:` to accept any caller, e.g. on a private network)", cmp.Or(b.plan.File, "the plan"))
	}
	return nil
}

// setLoginColumns picks the columns a sign-in is looked up in: lazy.login, or email
// and preferred_username where mapped. The legacy id is never one: a guessable number
// must not sign anyone in.
func (b *Bridge) setLoginColumns() error {
	m := b.plan.Mapping
	all := []loginCol{
		{key: "email", col: m.Email.Column, value: func(u *strategies.User) string { return u.Email }},
		{key: "preferred_username", col: m.PreferredUsername.Column, value: func(u *strategies.User) string { return u.PreferredUsername }},
	}
	want := b.plan.Lazy.Login
	for _, c := range all {
		if len(want) > 0 && !slices.Contains(want, c.key) {
			continue
		}
		if c.col == "" {
			if len(want) > 0 {
				return b.planErr("lazy.login", "%s is not mapped from a column; map mapping.%s or leave it out of lazy.login", c.key, c.key)
			}
			continue
		}
		b.loginCols = append(b.loginCols, c)
	}
	if len(b.loginCols) == 0 {
		return b.planErr("mapping.email", "the bridge looks users up by email or preferred_username; map one of them")
	}
	return nil
}

// openSource opens the plan's source unless given one, and checks every login column
// with a made-up value: a file source builds its index here rather than at the first
// sign-in, and a wrong column fails at start.
func (b *Bridge) openSource(ctx context.Context, src sources.Source) (err error) {
	p := b.plan
	b.src = src
	if b.src == nil {
		if b.src, err = sources.Open(ctx, p); err != nil {
			return err
		}
		b.closers = append(b.closers, b.src.Close)
	}
	f, ok := b.src.(sources.Finder)
	if !ok {
		return b.planErr("source.kind", "a %s source cannot look users up one by one, which the bridge needs", p.Source.Kind)
	}
	b.finder = f
	for _, c := range b.loginCols {
		if _, err := f.Find(ctx, c.col, "cutover-bridge-startup-check"); err != nil {
			return &strategies.Error{Code: strategies.CodeSource, File: p.File, Field: "mapping." + c.key,
				Message: fmt.Sprintf("cannot look users up by column %q; check the mapping and the source", c.col), Err: err}
		}
	}
	return nil
}

// setUpVerifier prepares the password formats (with the plan's key and the source's
// Firebase parameters), the mapper, and either the delegation client or the decoy hash
// and the time floor.
func (b *Bridge) setUpVerifier(ctx context.Context, cfg Config) (err error) {
	p := b.plan
	var popts passwords.Options
	if p.Mapping.PasswordKey != "" {
		k, err := strategies.Expand("mapping.password_key", p.Mapping.PasswordKey)
		if err != nil {
			return err
		}
		popts.Key = []byte(k)
	}
	if hc, ok := b.src.(sources.HashConfiger); ok {
		if popts.Firebase, err = hc.HashConfig(ctx); err != nil {
			return err
		}
	}
	// A first verifier maps the sample; the real one gets the decoy.
	if b.verifier, err = passwords.New(popts); err != nil {
		return fmt.Errorf("set up password formats: %w", err)
	}
	if b.mapper, err = mapping.New(p, mapping.Options{Verifier: b.verifier, SkipDuplicates: true}); err != nil {
		return err
	}
	if p.Lazy.Bind != nil {
		v, err := directory.BindVerifierFor(p)
		if err != nil {
			return err
		}
		b.delegate = &delegator{bind: v}
		return nil
	}
	if p.Lazy.Delegate != nil {
		b.delegate, err = newDelegator(p, cfg.Client)
		return err
	}
	samples := b.sampleFormats(ctx)
	b.decoy(samples, &popts)
	if b.verifier, err = passwords.New(popts); err != nil {
		return fmt.Errorf("set up password formats: %w", err)
	}
	if b.floor == 0 {
		b.floor = b.calibrate(ctx, samples)
	}
	return nil
}

// openStore opens the plan's tracking store unless given one.
// A shared store also keeps the per-user failure counters, so replicas share them.
func (b *Bridge) openStore(ctx context.Context, st *Store) error {
	if st == nil {
		var err error
		if st, err = OpenPlanStore(ctx, b.plan); err != nil {
			return err
		}
		b.closers = append(b.closers, st.Close)
	}
	b.store = st
	if c := st.counter(b.perIDLimit, b.now, b.log); c != nil {
		b.perUser = c
	}
	return nil
}

// Dialect returns the protocol the bridge speaks.
func (b *Bridge) Dialect() string { return b.dialect }

// Store returns the tracking store.
func (b *Bridge) Store() *Store { return b.store }

// Stats returns the counts since start.
func (b *Bridge) Stats() Stats {
	return Stats{Verified: b.verified.Load(), Failed: b.failed.Load(), RateLimited: b.limited.Load(), Busy: b.busy.Load(),
		Errors: b.errs.Load(), TargetRefused: b.targetRefused.Load(), Queue: b.queue.Load(), Capacity: cap(b.sem), FloorMS: b.currentFloor().Milliseconds()}
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
