package lazy

import (
	"context"
	"sync"
	"testing"
)

// TestRateLimitHoldsUnderConcurrency: the IdP calls the bridge concurrently, so an
// attacker who fires many sign-ins for one account at once must still get no more than
// per_identifier password checks a minute.
func TestRateLimitHoldsUnderConcurrency(t *testing.T) {
	tests := []struct {
		name     string
		limit    int
		parallel int
		password string
		want     int // at most this many attempts reach the password check
	}{
		{"wrong passwords", 3, 24, "wrong", 3},
		{"as many right passwords as the limit all pass", 3, 3, bob.password, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := sqlitePlan(t, fixtures, 8) // slow enough that the guesses overlap
			p.Lazy.RateLimit.PerIdentifier = tt.limit
			// A queue this patient never answers busy, so every guess is either limited
			// or checked, however loaded the machine.
			p.Lazy.CallerTimeout = "10m"
			tb := startBridge(t, p, Config{MaxConcurrent: 1})
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				checked int
			)
			start := make(chan struct{})
			for range tt.parallel {
				wg.Go(func() {
					<-start
					res, err := tb.Verify(context.Background(), "bob@example.com", tt.password)
					if err != nil {
						t.Errorf("Verify: %v", err)
						return
					}
					if !res.Limited && !res.Busy { // a busy answer checked nothing
						mu.Lock()
						checked++
						mu.Unlock()
					}
				})
			}
			close(start)
			wg.Wait()
			if tt.password == "wrong" && checked > tt.want {
				t.Errorf("got %d concurrent wrong guesses checked, want at most %d (per_identifier)", checked, tt.want)
			}
			if tt.password != "wrong" && checked != tt.want {
				t.Errorf("got %d right-password sign-ins through, want %d", checked, tt.want)
			}
		})
	}
}
