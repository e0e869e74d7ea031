package mockidp

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// benchBatch builds a 1,000-record batch shaped like a real import: email, names, a bcrypt hash.
func benchBatch(prefix string, hash string) map[string]any {
	recs := make([]any, 1000)
	for i := range recs {
		recs[i] = map[string]any{
			"email": fmt.Sprintf("%s-%d@example.com", prefix, i), "email_verified": true,
			"given_name": "Given", "family_name": "Family", "name": "Given Family",
			"password": map[string]any{"type": "bcrypt", "password_hash": hash},
		}
	}
	return map[string]any{"identifier": "email", "records": recs}
}

// BenchmarkImport1000 measures records/s through the import API over loopback HTTP,
// polling each job to completion, one client at a time and with parallel clients.
func BenchmarkImport1000(b *testing.B) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("bench"), bcrypt.MinCost)
	for _, parallel := range []bool{false, true} {
		name := "serial"
		if parallel {
			name = "parallel"
		}
		b.Run(name, func(b *testing.B) {
			s := startServer(b, Config{})
			var n atomic.Int64
			run := func() error {
				j, err := tryImport(s, benchBatch(fmt.Sprintf("u%d", n.Add(1)), string(hash)))
				if err == nil && j.Summary.Inserted != 1000 {
					err = fmt.Errorf("inserted %d of 1000", j.Summary.Inserted)
				}
				return err
			}
			b.ResetTimer()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := run(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			} else {
				for b.Loop() {
					if err := run(); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(n.Load()*1000)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkPasswordGrant measures sign-ins/s with the password grant at bcrypt cost 10.
func BenchmarkPasswordGrant(b *testing.B) {
	// Cost 10 for the native hash too, or the upgrade after the first sign-in would
	// leave a cheaper hash behind.
	s := startServer(b, Config{BcryptCost: bcrypt.DefaultCost})
	hash, _ := bcrypt.GenerateFromPassword([]byte("sign me in"), bcrypt.DefaultCost)
	importAndWait(b, s, map[string]any{"identifier": "email", "records": []any{
		map[string]any{"email": "bench@example.com", "password": map[string]any{"type": "bcrypt", "password_hash": string(hash)}},
	}})
	ctx := context.Background()
	var n atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := passwordGrant(ctx, s, "bench@example.com", "sign me in"); err != nil {
				b.Error(err)
				return
			}
			n.Add(1)
		}
	})
	b.ReportMetric(float64(n.Load())/b.Elapsed().Seconds(), "sign-ins/s")
}
