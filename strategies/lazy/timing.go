package lazy

import (
	"context"
	"slices"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources"
)

// The answer's time must tell neither whether the user exists nor which hash format
// they have. The bridge pads every verification to a floor calibrated at start on the
// slowest format in the source, rather than verifying a decoy per format in the
// source's proportions: a decoy mix makes an unknown login's time a lottery between
// formats, but a known PBKDF2 user would still always answer in PBKDF2 time, and the
// distributions per category would still differ. Padding is a sleep, not CPU: it makes
// fast formats wait, which costs the verification queue nothing. The floor follows the
// load (adapt): on a busy machine the slowest format's verifications get slower than
// at start, and the floor rises with them. Unknown users still
// cost one decoy verification, so load too looks the same either way.

// floorMargin is how much slower than the slowest format's median the floor is: the
// slowest users' own spread (GC, a busy core) must stay under it.
const floorMargin = 1.5

// formatSample is one user of a password format found in the source's first records,
// and how many of those records share the format.
type formatSample struct {
	n    int
	user *strategies.User
}

// sampleFormats maps the source's first records and keeps one usable user per format.
func (b *Bridge) sampleFormats(ctx context.Context) map[string]*formatSample {
	byFormat := map[string]*formatSample{}
	sm, ok := b.src.(sources.Sampler)
	if !ok {
		return byFormat
	}
	recs, err := sm.Sample(ctx, 200)
	if err != nil {
		b.log.Warn("cannot sample the source for a decoy hash and the time floor; unknown users are checked against bcrypt cost 10", "err", err)
		return byFormat
	}
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
			c = &formatSample{user: u}
			byFormat[u.PasswordFormat] = c
		}
		c.n++
	}
	return byFormat
}

// decoy picks the hash VerifyUnknown checks: one in the format most of the first users
// have (with their bcrypt cost), so that an unknown login costs the CPU a known one does.
func (b *Bridge) decoy(byFormat map[string]*formatSample, o *passwords.Options) {
	best := ""
	for f, c := range byFormat {
		if best == "" || c.n > byFormat[best].n || (c.n == byFormat[best].n && f < best) {
			best = f
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

// calibrate times a wrong password against one user of each format and the decoy, a
// few times each, and returns floorMargin times the slowest median.
func (b *Bridge) calibrate(ctx context.Context, byFormat map[string]*formatSample) time.Duration {
	const rounds = 3
	median := func(f func()) time.Duration {
		ds := make([]time.Duration, rounds)
		for i := range ds {
			start := time.Now()
			f()
			ds[i] = time.Since(start)
		}
		slices.Sort(ds)
		return ds[rounds/2]
	}
	const probe = "cutover-calibration-not-a-password"
	slowest, slowFormat := median(func() { b.verifier.VerifyUnknown(ctx, probe) }), "decoy"
	for f, c := range byFormat {
		s := passwords.Stored{Hash: c.user.PasswordHash, Salt: c.user.PasswordSalt, Format: b.format}
		if d := median(func() { _, _ = b.verifier.Verify(ctx, s, probe) }); d > slowest {
			slowest, slowFormat = d, f
		}
	}
	floor := time.Duration(float64(slowest) * floorMargin)
	b.log.Info("every verification is padded to a floor, so its time tells neither existence nor format",
		"floor_ms", floor.Milliseconds(), "slowest_format", slowFormat, "formats", len(byFormat))
	return floor
}

// currentFloor is the time a verification starting now is padded to: the calibrated
// floor, raised while verifications run slower (a loaded machine).
func (b *Bridge) currentFloor() time.Duration {
	return max(b.floor, time.Duration(b.raised.Load()))
}

// adapt raises the floor when a verification took longer than it (a loaded machine
// makes the slowest format slower than at start, and an answer past the floor would
// tell that format again), and lets it sink back towards the calibrated floor, by
// 1/64 of the excess per verification, when they are fast again. It never rises above
// half the caller's timeout: the floor must not make answers too late to be read.
func (b *Bridge) adapt(took time.Duration) {
	if b.floor == 0 {
		return
	}
	limit := b.caller / 2
	for {
		old := b.raised.Load()
		cur := max(b.floor, time.Duration(old))
		next := cur - (cur-b.floor)/64
		if want := took * 5 / 4; want > next {
			next = want
		}
		next = max(b.floor, min(next, limit))
		if b.raised.CompareAndSwap(old, int64(next)) {
			return
		}
	}
}

// pad sleeps until deadline (or until ctx ends).
func (b *Bridge) pad(ctx context.Context, deadline time.Time) {
	d := time.Until(deadline)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}
