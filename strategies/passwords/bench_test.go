package passwords

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// BenchmarkVerify measures one right-password verification per format, on the first
// fixture vector of each format (the parameters the generators chose, see testdata).
func BenchmarkVerify(b *testing.B) {
	first := map[string]vector{}
	all := loadVectors(b)
	files := make([]string, 0, len(all))
	for f := range all {
		files = append(files, f)
	}
	sort.Strings(files) // the same vector as testdata/bench_python.py picks
	for _, f := range files {
		for _, vec := range all[f] {
			if _, ok := first[vec.Format]; !ok {
				first[vec.Format] = vec
			}
		}
	}
	names := make([]string, 0, len(first))
	for n := range first {
		names = append(names, n)
	}
	sort.Strings(names)
	ctx := context.Background()
	for _, name := range names {
		vec := first[name]
		v, _ := New(Options{Firebase: vec.Firebase})
		s := Stored{Hash: vec.Hash, Salt: vec.Salt, Format: vec.Format}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if ok, err := v.Verify(ctx, s, vec.Password); !ok || err != nil {
					b.Fatalf("got %v, %v", ok, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
		})
	}
}

// BenchmarkUnknownUser compares the fake-hash path with a real verification of the
// default format (bcrypt, cost 10): they should be within 10 % of each other.
func BenchmarkUnknownUser(b *testing.B) {
	ctx := context.Background()
	h, err := bcrypt.GenerateFromPassword([]byte("known user's password"), bcrypt.DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	v, _ := New(Options{})
	b.Run("known_user_bcrypt10", func(b *testing.B) {
		s := Stored{Hash: string(h)}
		for b.Loop() {
			_, _ = v.Verify(ctx, s, "a guess")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
	})
	b.Run("unknown_user_decoy", func(b *testing.B) {
		v.VerifyUnknown(ctx, "warm up") // the decoy is made once, on first use
		b.ResetTimer()
		for b.Loop() {
			v.VerifyUnknown(ctx, "a guess")
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
	})
}

// BenchmarkUnknownUserParity alternates a known user's verification and the decoy in
// one loop, so both see the same machine load, and reports their median times and ratio
// (medians: the machine is shared, and a mean is dragged by whoever else runs).
func BenchmarkUnknownUserParity(b *testing.B) {
	ctx := context.Background()
	h, err := bcrypt.GenerateFromPassword([]byte("known user's password"), bcrypt.DefaultCost)
	if err != nil {
		b.Fatal(err)
	}
	v, _ := New(Options{})
	s := Stored{Hash: string(h)}
	v.VerifyUnknown(ctx, "warm up")
	var known, decoy []time.Duration
	for b.Loop() {
		t0 := time.Now()
		_, _ = v.Verify(ctx, s, "a guess")
		t1 := time.Now()
		v.VerifyUnknown(ctx, "a guess")
		known = append(known, t1.Sub(t0))
		decoy = append(decoy, time.Since(t1))
	}
	median := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
	k, d := median(known), median(decoy)
	b.ReportMetric(float64(k.Microseconds())/1000, "known-ms")
	b.ReportMetric(float64(d.Microseconds())/1000, "decoy-ms")
	b.ReportMetric(float64(d)/float64(k), "decoy/known")
}
