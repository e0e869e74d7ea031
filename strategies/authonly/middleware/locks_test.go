package middleware

import (
	"context"
	"errors"
	"testing"
)

// A request waiting behind another first sign-in of the same subject gives up when
// its own context ends, and entries do not outlive their users (the map would
// otherwise grow with every subject ever seen).
func TestSubjectLocks(t *testing.T) {
	var l subjectLocks
	unlockA, err := l.lock(context.Background(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	unlockB, err := l.lock(context.Background(), "bob")
	if err != nil {
		t.Fatalf("another subject waited: %v", err)
	}
	unlockB()

	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		_, err := l.lock(ctx, "alice")
		got <- err
	}()
	cancel()
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Errorf("waiter whose request ended: got %v, want context.Canceled", err)
	}

	unlockA()
	unlockA2, err := l.lock(context.Background(), "alice")
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	unlockA2()
	l.mu.Lock()
	n := len(l.m)
	l.mu.Unlock()
	if n != 0 {
		t.Errorf("entries after every lock was released: got %d, want 0", n)
	}
}
