package lazy

import (
	"context"
	"time"
)

// callerShare is the part of the caller's timeout a verification may use up: the rest
// is for the network, the IdP's own work, and a verification slower than usual.
const callerShare = 0.8

// acquire takes a verification slot, waiting at most until a verification started
// then would still finish within callerShare of the caller's timeout. It returns how
// long it waited, and false when it gave up (the caller gets a fast "retry" instead of
// an answer it would no longer read) or ctx ended. Every true must be followed by one
// release.
func (b *Bridge) acquire(ctx context.Context) (time.Duration, bool) {
	b.queue.Add(1)
	b.metrics.queue.Inc()
	select {
	case b.sem <- struct{}{}:
		return 0, true
	default:
	}
	budget := time.Duration(float64(b.caller)*callerShare) - b.expected()
	if budget <= 0 {
		b.dequeue()
		return 0, false
	}
	start := time.Now()
	t := time.NewTimer(budget)
	defer t.Stop()
	select {
	case b.sem <- struct{}{}:
		return time.Since(start), true
	case <-t.C:
	case <-ctx.Done():
	}
	b.dequeue()
	return time.Since(start), false
}

// release frees the slot acquire took; took is how long the verification ran.
func (b *Bridge) release(took time.Duration) {
	<-b.sem
	b.dequeue()
	// An exponentially weighted mean, 1/8 per sample: recent load counts, one outlier
	// does not.
	for {
		old := b.ewma.Load()
		next := int64(took)
		if old != 0 {
			next = old + (int64(took)-old)/8
		}
		if b.ewma.CompareAndSwap(old, next) {
			return
		}
	}
}

func (b *Bridge) dequeue() {
	b.queue.Add(-1)
	b.metrics.queue.Dec()
}

// expected is how long a verification takes once it has a slot: the floor it is padded
// to, or the recent mean when that is longer (a loaded machine).
func (b *Bridge) expected() time.Duration {
	return max(b.currentFloor(), time.Duration(b.ewma.Load()))
}
