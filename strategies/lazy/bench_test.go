package lazy

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies"
)

const benchUsers = 200

// benchSetup is a legacy SQLite table of benchUsers users sharing one bcrypt cost-10
// hash of "bench-password", a bridge over it served on loopback, and the server-side
// duration of every request it answered.
type benchSetup struct {
	p     *strategies.Plan
	b     *Bridge
	url   string
	mu    sync.Mutex
	times []time.Duration
	bare  time.Duration // median of one bcrypt cost-10 verification
}

func newBenchSetup(b *testing.B) *benchSetup {
	b.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte("bench-password"), 10)
	if err != nil {
		b.Fatal(err)
	}
	us := make([]legacyUser, benchUsers)
	for i := range us {
		us[i] = legacyUser{id: i + 1, email: fmt.Sprintf("bench%03d@example.com", i), name: fmt.Sprintf("Bench %d", i), active: true, hash: string(h)}
	}
	p := sqlitePlan(b, us, 10)
	p.Lazy.RateLimit.PerClient = 1 << 30 // every request comes from 127.0.0.1
	br, err := New(context.Background(), Config{Plan: p, Secret: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	s := &benchSetup{p: p, b: br}
	handler := br.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		handler.ServeHTTP(w, r)
		d := time.Since(start)
		s.mu.Lock()
		s.times = append(s.times, d)
		s.mu.Unlock()
	}))
	b.Cleanup(func() { srv.Close(); br.Close() })
	s.url = srv.URL
	var bare []time.Duration
	for range 15 {
		start := time.Now()
		_ = bcrypt.CompareHashAndPassword(h, []byte("bench-password"))
		bare = append(bare, time.Since(start))
	}
	s.bare = pct(bare, 50)
	return s
}

// pct returns the p-th percentile of ds (nearest rank).
func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (p*len(s)+99)/100 - 1
	return s[max(0, min(i, len(s)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkSignIns: benchUsers concurrent first sign-ins through the mock IdP's lazy
// hook to the bridge (bcrypt cost 10), compared with the bound of the cores: GOMAXPROCS
// divided by the time of one bcrypt verification. Run with -benchtime=1x.
func BenchmarkSignIns(b *testing.B) {
	s := newBenchSetup(b)
	ctx := context.Background()
	var wall time.Duration
	for b.Loop() {
		b.StopTimer()
		idpSrv := startMockIDP(b, s.url+PathVerify, testSecret) // fresh: nobody is migrated yet
		s.mu.Lock()
		s.times = s.times[:0]
		s.mu.Unlock()
		b.StartTimer()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, benchUsers)
		for i := range benchUsers {
			wg.Go(func() {
				if _, err := passwordGrant(ctx, idpSrv, fmt.Sprintf("bench%03d@example.com", i), "bench-password"); err != nil {
					errs <- fmt.Errorf("user %d: %w", i, err)
				}
			})
		}
		wg.Wait()
		wall += time.Since(start)
		close(errs)
		for err := range errs {
			b.Fatalf("a sign-in failed: %v", err)
		}
	}
	n := float64(b.N * benchUsers)
	rate := n / wall.Seconds()
	bound := float64(runtime.GOMAXPROCS(0)) / s.bare.Seconds()
	s.mu.Lock()
	loaded := slices.Clone(s.times)
	s.mu.Unlock()
	b.ReportMetric(rate, "signins/s")
	b.ReportMetric(bound, "bound_signins/s")
	b.ReportMetric(100*rate/bound, "%_of_bound")
	b.ReportMetric(ms(s.bare), "bcrypt10_ms")
	b.ReportMetric(ms(pct(loaded, 50)), "bridge_p50_ms_loaded")
	b.ReportMetric(ms(pct(loaded, 99)), "bridge_p99_ms_loaded")
}

// BenchmarkBridgeLatency measures, one request at a time over loopback HTTP, what the
// bridge adds over a bare bcrypt cost-10 verification (p50, p99), and timing parity:
// an unknown email against a wrong password.
func BenchmarkBridgeLatency(b *testing.B) {
	s := newBenchSetup(b)
	const samples = 40
	client := &http.Client{}
	post := func(email, password string) time.Duration {
		body := "email=" + strings.ReplaceAll(email, "@", "%40") + "&password=" + password
		req, _ := http.NewRequest("POST", s.url+PathVerify, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Authorization", "Bearer "+testSecret)
		start := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("got HTTP %d, want 200", resp.StatusCode)
		}
		return time.Since(start)
	}
	hash := []byte(hashOf(b, legacyUser{password: "bench-password"}, 10))
	var right, wrong, unknown, bare, added []time.Duration
	for b.Loop() {
		for i := range samples {
			// Paired: a bare verification right before each request, so that the other
			// load on the machine weighs on both alike.
			start := time.Now()
			_ = bcrypt.CompareHashAndPassword(hash, []byte("bench-password"))
			bare = append(bare, time.Since(start))
			// Different users each time: the per-identifier limit counts failures.
			right = append(right, post(fmt.Sprintf("bench%03d@example.com", i), "bench-password"))
			added = append(added, right[len(right)-1]-bare[len(bare)-1])
			wrong = append(wrong, post(fmt.Sprintf("bench%03d@example.com", samples+i), "not-the-password"))
			unknown = append(unknown, post(fmt.Sprintf("nobody%03d@example.com", i), "not-the-password"))
		}
	}
	b.ReportMetric(ms(pct(bare, 50)), "bcrypt10_ms")
	b.ReportMetric(ms(pct(right, 50)), "right_pw_p50_ms")
	b.ReportMetric(ms(pct(added, 50)), "added_p50_ms")
	b.ReportMetric(ms(pct(added, 99)), "added_p99_ms")
	b.ReportMetric(ms(pct(wrong, 50)), "wrong_pw_p50_ms")
	b.ReportMetric(ms(pct(unknown, 50)), "unknown_p50_ms")
	b.ReportMetric(ms(pct(wrong, 99)), "wrong_pw_p99_ms")
	b.ReportMetric(ms(pct(unknown, 99)), "unknown_p99_ms")
}

// BenchmarkTimingByCategory is the timing-enumeration probe of issue 13 item 1: wrong
// passwords over loopback HTTP against the demo database, timingProbes per category
// (unknown email, known bcrypt, PBKDF2, phpass, salted SHA-256), the categories taken
// in turn so that other load on the machine weighs on all alike. It reports p50 and
// p99 per category and the largest gap between two categories in % of their mean; the
// acceptance is a gap under 10%. Run with -benchtime=1x (about 3 minutes).
func BenchmarkTimingByCategory(b *testing.B) {
	const timingProbes = 200
	p, byCat := demoPlan(b, 0)
	br, err := New(context.Background(), Config{Plan: p, Secret: testSecret})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(br.Handler())
	b.Cleanup(func() { srv.Close(); br.Close() })
	cats := slices.Sorted(maps.Keys(byCat))
	times := map[string][]time.Duration{}
	client := &http.Client{}
	for b.Loop() {
		for i := range timingProbes {
			for _, c := range cats {
				email := byCat[c][i%len(byCat[c])]
				body := "email=" + url.QueryEscape(email) + "&password=not-the-password"
				req, _ := http.NewRequest("POST", srv.URL+PathVerify, strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Authorization", "Bearer "+testSecret)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Fatalf("%s %d: got HTTP %d, want 200", c, i, resp.StatusCode)
				}
				times[c] = append(times[c], time.Since(start))
			}
		}
	}
	gap := func(p int) float64 {
		var lo, hi, sum float64
		for i, c := range cats {
			v := ms(pct(times[c], p))
			if i == 0 || v < lo {
				lo = v
			}
			hi, sum = max(hi, v), sum+v
		}
		return 100 * (hi - lo) / (sum / float64(len(cats)))
	}
	for _, c := range cats {
		b.ReportMetric(ms(pct(times[c], 50)), c+"_p50_ms")
		b.ReportMetric(ms(pct(times[c], 99)), c+"_p99_ms")
		b.Logf("%-14s n=%d p50 %8.2f ms  p99 %8.2f ms", c, len(times[c]), ms(pct(times[c], 50)), ms(pct(times[c], 99)))
	}
	b.ReportMetric(gap(50), "p50_gap_%")
	b.ReportMetric(gap(99), "p99_gap_%")
	b.Logf("largest gap between two categories: p50 %.1f%%, p99 %.1f%% of the mean", gap(50), gap(99))
}
