package mockidp

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

func TestFaults(t *testing.T) {
	body := map[string]any{"identifier": "email", "records": []any{map[string]any{"email": "a@example.com"}}}
	t.Run("error rate 1 answers 5xx with the envelope", func(t *testing.T) {
		s := startServer(t, Config{Faults: Faults{ErrorRate: 1}, Seed: 7})
		seen := map[int]bool{}
		for range 30 {
			code, data := adminDo(t, s, http.MethodPost, PathImport, body)
			e := decodeEnvelope[ImportJob](t, data)
			if e.Error == nil || e.Error.Code != code {
				t.Fatalf("got HTTP %d %s, want an error envelope with the same code", code, data)
			}
			seen[code] = true
		}
		for _, c := range []int{500, 502, 503} {
			if !seen[c] {
				t.Errorf("status %d never seen in 30 calls, want all of 500, 502, 503", c)
			}
		}
		// Faults are for the admin API only; sign-in stays healthy.
		resp, err := http.Get(s.Config().Issuer + PathDiscovery)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("discovery: got %v %v, want 200", resp, err)
		}
		resp.Body.Close()
	})
	t.Run("error rate 0.5 lets some through", func(t *testing.T) {
		s := startServer(t, Config{Faults: Faults{ErrorRate: 0.5}, Seed: 1})
		ok := 0
		for range 40 {
			if code, _ := adminDo(t, s, http.MethodPost, PathImport, body); code == http.StatusOK {
				ok++
			}
		}
		if ok == 0 || ok == 40 {
			t.Fatalf("got %d of 40 calls through, want some but not all", ok)
		}
	})
	t.Run("rate limit answers 429 with Retry-After", func(t *testing.T) {
		now := time.Unix(1_700_000_000, 0)
		s := startServer(t, Config{Faults: Faults{RateLimit: 2}, Now: func() time.Time { return now }})
		var codes []int
		var retry string
		for range 3 {
			req, _ := http.NewRequest(http.MethodGet, s.Config().Issuer+PathMockUsers, nil)
			tok, _ := s.Config().AdminToken(now, time.Minute)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			codes = append(codes, resp.StatusCode)
			retry = resp.Header.Get("Retry-After")
		}
		if codes[0] != 200 || codes[1] != 200 || codes[2] != http.StatusTooManyRequests {
			t.Fatalf("got statuses %v, want 200 200 429 (burst of 2 at a frozen clock)", codes)
		}
		if n, err := strconv.Atoi(retry); err != nil || n < 1 {
			t.Fatalf("Retry-After: got %q, want a positive number of seconds", retry)
		}
	})
	t.Run("drop rate 1 closes the connection", func(t *testing.T) {
		s := startServer(t, Config{Faults: Faults{DropRate: 1}})
		req, _ := http.NewRequest(http.MethodGet, s.Config().Issuer+PathMockUsers, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got HTTP %d, want a transport error", resp.StatusCode)
		}
	})
	t.Run("latency", func(t *testing.T) {
		s := startServer(t, Config{Faults: Faults{Latency: 150 * time.Millisecond}})
		start := time.Now()
		adminDo(t, s, http.MethodGet, PathMockUsers, nil)
		if el := time.Since(start); el < 150*time.Millisecond {
			t.Fatalf("admin call took %v, want at least 150ms", el)
		}
	})
	t.Run("invalid config", func(t *testing.T) {
		for _, f := range []Faults{{ErrorRate: 1.5}, {DropRate: -0.1}, {RateLimit: -1}, {Latency: -time.Second}} {
			if _, err := New(Config{Faults: f}); err == nil {
				t.Errorf("New with %+v: got no error, want one", f)
			}
		}
	})
}
