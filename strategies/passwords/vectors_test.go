package passwords

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// vector is one fixture written by a generator script in testdata/ from a real
// implementation (Django, passlib, PHP, Firebase's published sample).
type vector struct {
	Format   string          `json:"format"`
	Hash     string          `json:"hash"`
	Salt     string          `json:"salt"`
	Password string          `json:"password"`
	Wrong    string          `json:"wrong"`
	Source   string          `json:"source"`
	Firebase *FirebaseConfig `json:"firebase"`
}

func loadVectors(t testing.TB) map[string][]vector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixture files in testdata (err %v); run the generators there", err)
	}
	out := map[string][]vector{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var vs []vector
		if err := json.Unmarshal(b, &vs); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[filepath.Base(f)] = vs
	}
	return out
}

func TestVectors(t *testing.T) {
	ctx := context.Background()
	covered := map[string]bool{}
	for file, vs := range loadVectors(t) {
		for i, vec := range vs {
			covered[vec.Format] = true
			t.Run(file+"/"+vec.Format+"/"+itoa(i), func(t *testing.T) {
				t.Parallel()
				v, err := New(Options{Firebase: vec.Firebase})
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				s := Stored{Hash: vec.Hash, Salt: vec.Salt}
				all, err := v.DetectAll(s)
				if err != nil {
					t.Fatalf("DetectAll: %v", err)
				}
				var names []string
				for _, d := range all {
					names = append(names, d.Format)
				}
				if !slices.Contains(names, vec.Format) {
					t.Errorf("detected %v, want %s among them", names, vec.Format)
				}
				if all[0].Confidence == 1 && all[0].Format != vec.Format {
					t.Errorf("detected %s with confidence 1, want %s", all[0].Format, vec.Format)
				}
				ok, err := v.Verify(ctx, s, vec.Password)
				if err != nil || !ok {
					t.Errorf("Verify(right password) = %v, %v; want true, nil (%s)", ok, err, vec.Source)
				}
				ok, err = v.Verify(ctx, s, vec.Wrong)
				if err != nil || ok {
					t.Errorf("Verify(wrong password) = %v, %v; want false, nil (%s)", ok, err, vec.Source)
				}
				s.Format = vec.Format
				ok, err = v.Verify(ctx, s, vec.Password)
				if err != nil || !ok {
					t.Errorf("Verify(right password, format %s) = %v, %v; want true, nil", vec.Format, ok, err)
				}
			})
		}
	}
	// Every format that exists must have a vector from a real implementation, except the
	// salted-digest variants tested by the table in digest_test and recipes.
	for _, name := range FormatNames() {
		if name == "recipe" {
			continue
		}
		if !covered[name] {
			t.Errorf("format %s has no test vector in testdata", name)
		}
	}
}
