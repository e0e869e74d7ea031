package lazy

import (
	"context"
	"sync"
	"time"
)

// Default per-minute limits (lazy.rate_limit).
const (
	DefaultPerIdentifier = 10  // failed attempts per identifier per minute
	DefaultPerClient     = 600 // requests per authenticated client address per minute
	// DefaultPerAnonymous bounds refused (unauthenticated) requests per client address
	// per minute, counted apart from the IdP's own so a flood cannot lock the IdP out.
	DefaultPerAnonymous = 60
	rateWindow          = time.Minute
	// pruneAbove is the number of tracked keys above which idle keys are dropped, so a
	// caller inventing identifiers cannot grow the limiter without bound.
	pruneAbove = 10_000
)

// counter is the per-user limit of failed attempts: in memory (limiter) for one
// bridge, or in a shared database table (sqlCounter) for replicas.
type counter interface {
	// reserve holds a place for an attempt of key whose outcome is not known yet, unless
	// the failures in the window plus the attempts in flight reach the limit; it reports
	// whether it did. Every true must be followed by one settle of the ticket.
	reserve(ctx context.Context, key string) (ticket, bool, error)
	// settle releases a reservation, recording a failure when failed is true.
	settle(ctx context.Context, t ticket, failed bool)
}

// ticket is a reservation: its key, and its row in a shared store.
type ticket struct {
	key string
	id  int64
}

var (
	_ counter = (*limiter)(nil)
	_ counter = (*sqlCounter)(nil)
)

// limiter is a sliding-window counter per key: at most limit events in any window.
// Each key keeps the times of its last limit events in a ring.
type limiter struct {
	limit int
	now   func() time.Time

	mu   sync.Mutex
	keys map[string]*ring
	// pending counts reserved events still running per key: they count against the
	// limit until settled, so concurrent attempts cannot all pass the check at once.
	pending map[string]int
}

type ring struct {
	times []time.Time // up to limit entries, oldest at next
	next  int
	last  time.Time
}

func newLimiter(limit int, now func() time.Time) *limiter {
	return &limiter{limit: limit, now: now, keys: map[string]*ring{}, pending: map[string]int{}}
}

func (l *limiter) fullLocked(key string, now time.Time) bool {
	r := l.keys[key]
	if r == nil || len(r.times) < l.limit {
		return false
	}
	// The ring is full: the oldest of the last limit events decides.
	return now.Sub(r.times[r.next]) < rateWindow
}

// reserve holds a place for an event of key whose outcome is not known yet, unless the
// recorded events in the window plus those already reserved reach the limit; it
// reports whether it did. Every true must be followed by one settle.
func (l *limiter) reserve(_ context.Context, key string) (ticket, bool, error) {
	return ticket{key: key}, l.reserveKey(key), nil
}

func (l *limiter) reserveKey(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	n := l.pending[key]
	if r := l.keys[key]; r != nil {
		for _, t := range r.times {
			if now.Sub(t) < rateWindow {
				n++
			}
		}
	}
	if n >= l.limit {
		return false
	}
	l.pending[key]++
	return true
}

// settle releases a reservation of key, recording it as an event when counted is true.
func (l *limiter) settle(_ context.Context, t ticket, counted bool) {
	key := t.key
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pending[key]--; l.pending[key] <= 0 {
		delete(l.pending, key)
	}
	if counted {
		l.addLocked(key, l.now())
	}
}

// add records an event for key.
func (l *limiter) add(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addLocked(key, l.now())
}

func (l *limiter) addLocked(key string, now time.Time) {
	r := l.keys[key]
	if r == nil {
		if len(l.keys) >= pruneAbove {
			l.prune(now)
		}
		r = &ring{times: make([]time.Time, 0, min(l.limit, 16))}
		l.keys[key] = r
	}
	r.last = now
	if len(r.times) < l.limit {
		r.times = append(r.times, now)
		return
	}
	r.times[r.next] = now
	r.next = (r.next + 1) % l.limit
}

// allow records an event for key unless the window is full; it reports whether it did.
func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.fullLocked(key, now) {
		return false
	}
	l.addLocked(key, now)
	return true
}

// prune drops keys with no event in the window. Called with mu held.
func (l *limiter) prune(now time.Time) {
	for k, r := range l.keys {
		if now.Sub(r.last) >= rateWindow {
			delete(l.keys, k)
		}
	}
}
