package middleware

import (
	"context"
	"sync"
)

// subjectLocks hands out one lock per IdP subject, so the first sign-in of a subject
// links or creates its local user once, while other subjects never wait on it (striped
// locks made users who shared a stripe wait on each other's IdP and database calls).
// An entry lives only while someone holds or waits for it, so the map stays as small
// as the number of first sign-ins in flight.
type subjectLocks struct {
	mu sync.Mutex
	m  map[string]*subjectLock
}

type subjectLock struct {
	held chan struct{} // holds one token while locked; a channel so waiting can end with ctx
	refs int           // holders and waiters, under subjectLocks.mu
}

// lock takes subject's lock, or gives up when ctx ends (the caller went away, so
// nothing should still queue on its behalf). unlock must be called once on success.
func (l *subjectLocks) lock(ctx context.Context, subject string) (unlock func(), err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]*subjectLock{}
	}
	e := l.m[subject]
	if e == nil {
		e = &subjectLock{held: make(chan struct{}, 1)}
		l.m[subject] = e
	}
	e.refs++
	l.mu.Unlock()
	release := func() {
		l.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(l.m, subject)
		}
		l.mu.Unlock()
	}
	select {
	case e.held <- struct{}{}:
		return func() { <-e.held; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
