package lazy

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources"
	"github.com/cutover/cutover/strategies/targets"
)

// Verify checks login (an email or username, in the columns lazy.login names) and
// password against the legacy system, records a success in the store, and returns the
// user's mapped profile. A failed verification is a Result with OK false and a Reason,
// not an error; an error means the legacy system could not be asked.
func (b *Bridge) Verify(ctx context.Context, login, password string) (Result, error) {
	start := time.Now()
	login = strings.TrimSpace(login)
	if login == "" || password == "" {
		b.failed.Add(1)
		b.metrics.observe(b.dialect, ReasonMissing, "", 0)
		return Result{Reason: ReasonMissing}, nil
	}
	res, err := b.check(ctx, login, password)
	elapsed := time.Since(start)
	attrs := []any{"dialect", b.dialect, "ms", elapsed.Milliseconds()}
	if res.User != nil && res.User.LegacyID != "" {
		attrs = append(attrs, "legacy_id", res.User.LegacyID)
	}
	switch {
	case err != nil:
		b.errs.Add(1)
		b.metrics.observe(b.dialect, "error", "", elapsed)
		b.log.Error("verification failed: the legacy system cannot be asked", "dialect", b.dialect, "err", err)
		return Result{}, err
	case res.Limited:
		b.limited.Add(1)
		b.metrics.observe(b.dialect, ReasonRateLimited, "", elapsed)
		b.log.Warn("verification refused: too many failed attempts for this user", "dialect", b.dialect)
		return res, nil
	case res.Busy:
		b.busy.Add(1)
		b.metrics.observe(b.dialect, ReasonBusy, "", elapsed)
		b.log.Warn("verification refused: it could not start before the caller gives up; answered retry", append(attrs, "queue", b.queue.Load(), "capacity", cap(b.sem))...)
		return res, nil
	case res.Reason == ReasonTargetRule:
		b.targetRefused.Add(1)
		b.metrics.observe(b.dialect, ReasonTargetRule, res.Format, elapsed)
		b.log.Warn("the legacy password is right, but the target would refuse it: answered as a mismatch, the user must reset it",
			append(attrs, "rule", res.Rule, "why", res.Why)...)
		return res, nil
	case !res.OK:
		b.failed.Add(1)
		b.metrics.observe(b.dialect, res.Reason, res.Format, elapsed)
		b.log.Info("verification failed", append(attrs, "reason", res.Reason)...)
		return res, nil
	}
	b.verified.Add(1)
	b.metrics.observe(b.dialect, "verified", res.Format, elapsed)
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

// check finds the record, takes a place in its rate limit and in the verification
// queue, verifies, and pads the answer to the floor. The limit counts per record found
// (not per spelling of the login: a collation that folds accents or widths would
// otherwise give each variant its own tries), or per login when there is none.
func (b *Bridge) check(ctx context.Context, login, password string) (Result, error) {
	t0 := time.Now()
	u, errs, ambiguous, err := b.lookup(ctx, login)
	if err != nil {
		return Result{}, err
	}
	key := limitKey(u, login)
	tk, ok, err := b.perUser.reserve(ctx, key)
	if err != nil {
		return Result{}, err
	}
	if !ok {
		return Result{Limited: true, Reason: ReasonRateLimited}, nil
	}
	counted := false
	defer func() { b.perUser.settle(context.WithoutCancel(ctx), tk, counted) }()
	waited, ok := b.acquire(ctx)
	if !ok {
		if ctx.Err() != nil {
			return Result{}, ctx.Err()
		}
		return Result{Busy: true, Reason: ReasonBusy}, nil
	}
	floor, vstart := b.currentFloor(), time.Now()
	var res Result
	if b.delegate != nil {
		res, err = b.verifyDelegated(ctx, u, ambiguous, login, password)
	} else {
		res, err = b.verifyHash(ctx, u, errs, password)
	}
	took := time.Since(vstart)
	b.release(took)
	if err != nil {
		return Result{}, err
	}
	if res.OK {
		// The right password, which the target would refuse (or keep truncated): a
		// reset, never "verified". Not a failed attempt: the user knows the password.
		if rule, why := targets.Refusal(b.rules, []byte(password), res.Format); rule != "" {
			res = Result{User: res.User, Format: res.Format, Reason: ReasonTargetRule, Rule: rule, Why: why}
		}
	}
	// The lookup counts too: it is part of what the floor hides.
	b.adapt(time.Since(t0) - waited)
	counted = !res.OK && res.Reason != ReasonTargetRule
	b.pad(ctx, t0.Add(waited+floor))
	return res, nil
}

// limitKey is the per-user rate limit's key: the legacy record when one was found,
// else the login as the bridge normalises it.
func limitKey(u *strategies.User, login string) string {
	switch {
	case u == nil:
		return "login:" + normLogin(login)
	case u.LegacyID != "":
		return "id:" + u.LegacyID
	case u.Email != "":
		return "email:" + normLogin(u.Email)
	}
	return "username:" + normLogin(u.PreferredUsername)
}

// normLogin is the bridge's own normalisation of a login: trimmed, and each letter
// lower-cased when it is the upper case of that lower-case letter, nothing else. A
// database collation may fold more (accents, full-width letters), and so does Unicode
// lower-casing (the Kelvin sign K lower-cases to k, though k upper-cases to K): a
// record found that way is not the login's.
func normLogin(s string) string {
	return strings.Map(func(r rune) rune {
		if l := unicode.ToLower(r); l != r && unicode.ToUpper(l) == r {
			return l
		}
		return r
	}, strings.TrimSpace(s))
}

// verifyHash checks password against u's legacy hash; an unknown user, or one whose
// hash cannot be used, costs a decoy verification instead.
func (b *Bridge) verifyHash(ctx context.Context, u *strategies.User, errs []*strategies.Error, password string) (Result, error) {
	if u == nil {
		b.verifier.VerifyUnknown(ctx, password)
		return Result{Reason: ReasonUnknown}, nil
	}
	res := Result{User: scrub(u), Format: u.PasswordFormat}
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
	u, errs, _, err := b.lookup(ctx, strings.TrimSpace(login))
	if err != nil || u == nil {
		return nil, err
	}
	if u.Disabled || (b.delegate == nil && (u.PasswordHash == "" || hashProblem(errs) != nil)) {
		return nil, nil
	}
	return scrub(u), nil
}

// lookup finds and maps the legacy record for login in the login columns (email only
// for a login with an @). The source compares as its database does (MariaDB's
// utf8mb4_unicode_ci finds "víctor" for "victor"), so only records whose identifier
// equals the login after normLogin count. Among those, one equal byte for byte wins;
// otherwise the first in source order, as bulk does with duplicates, and ambiguous
// reports that there were several (delegation refuses then: the legacy app accepted one
// of them, and the bridge cannot tell which).
func (b *Bridge) lookup(ctx context.Context, login string) (u *strategies.User, errs []*strategies.Error, ambiguous bool, err error) {
	if login == "" {
		return nil, nil, false, nil
	}
	want := normLogin(login)
	for _, c := range b.loginCols {
		if c.key == "email" && !strings.Contains(login, "@") {
			continue
		}
		recs, err := b.finder.Find(ctx, c.col, login)
		if err != nil {
			return nil, nil, false, fmt.Errorf("look the user up in the legacy source: %w", err)
		}
		var matches, exact int
		for _, r := range recs {
			mu, merrs := b.mapRecord(r)
			v := strings.TrimSpace(c.value(mu))
			if normLogin(v) != want {
				continue
			}
			matches++
			if v == login {
				if exact++; exact == 1 {
					u, errs = mu, merrs
				}
			} else if u == nil {
				u, errs = mu, merrs
			}
		}
		if matches == 0 {
			continue
		}
		if matches > 1 {
			ambiguous = exact != 1
			b.log.Warn("several legacy records share this identifier", "column", c.col, "records", matches, "exact", exact)
		}
		return u, errs, ambiguous, nil
	}
	return nil, nil, false, nil
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
