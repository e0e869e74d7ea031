package mapping

import (
	"fmt"
	"math"
	"runtime"
	"testing"
)

// TestDupIndexMatchesMap checks the index against a plain map over sizes that make every
// segment grow many times, with duplicates at known rows: both in memory and spilled to
// a temporary file (after 100 identifiers, so the file table grows several times too).
func TestDupIndexMatchesMap(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		spillAt int
	}{{"memory", 0}, {"disk", 100}} {
		for _, n := range []int{1, 7, 1000, 200_000} {
			t.Run(fmt.Sprintf("%s/%d", tc.mode, n), func(t *testing.T) {
				d := newDupIndex(tc.spillAt)
				first := map[string]int{}
				groups := map[string]bool{}
				for row := 1; row <= n; row++ {
					// Every 10th row repeats the identifier of a row a third of the way
					// back, in another case.
					id := fmt.Sprintf("user%d@example.com", row)
					key := id
					if row%10 == 0 {
						id = fmt.Sprintf("USER%d@EXAMPLE.COM", row/3)
						key = fmt.Sprintf("user%d@example.com", row/3)
					}
					winner, dup := d.add(id, row)
					w, seen := first[key]
					if !seen {
						first[key] = row
					} else {
						groups[key] = true
					}
					if dup != seen || (seen && winner != w) {
						t.Fatalf("row %d (%s): got winner %d dup %v, want winner %d dup %v", row, id, winner, dup, w, seen)
					}
				}
				if got, want := d.groups, int64(len(groups)); got != want {
					t.Errorf("got %d duplicate groups, want %d", got, want)
				}
				if spilled, want := d.disk != nil, tc.spillAt > 0 && n >= tc.spillAt; spilled != want {
					t.Errorf("after %d identifiers: got spilled %v, want %v", n, spilled, want)
				}
				if err := d.close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
		}
	}
}

// TestDupIndexRowsOutOfRange checks that rows the int32 table cannot hold are not
// remembered (and so never named as the winner), as with the map it replaced.
func TestDupIndexRowsOutOfRange(t *testing.T) {
	tests := []struct {
		name string
		row  int
	}{{"zero", 0}, {"negative", -5}, {"beyond int32", math.MaxInt32 + 1}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newDupIndex(0)
			if _, dup := d.add("a@x.io", tt.row); dup {
				t.Fatal("first add: got dup, want none")
			}
			if w, dup := d.add("a@x.io", 2); dup {
				t.Errorf("second add: got dup of row %d, want none (row %d is not stored)", w, tt.row)
			}
		})
	}
}

// TestDupIndexBytesPerIdentifier checks that the index stays compact: at a million
// identifiers it should hold at most 20 bytes each (a Go map took about 35).
func TestDupIndexBytesPerIdentifier(t *testing.T) {
	if testing.Short() {
		t.Skip("a million identifiers: -short")
	}
	const n = 1_000_000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	d := newDupIndex(0)
	buf := make([]byte, 0, 32)
	for row := 1; row <= n; row++ {
		buf = fmt.Appendf(buf[:0], "user%d@example.com", row)
		d.add(string(buf), row)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	per := float64(after.HeapAlloc-before.HeapAlloc) / n
	slots := 0
	for i := range d.segs {
		slots += len(d.segs[i].rows)
	}
	t.Logf("%.1f bytes per identifier, load %.2f", per, float64(n)/float64(slots))
	if per > 20 {
		t.Errorf("got %.1f bytes per identifier, want at most 20", per)
	}
	runtime.KeepAlive(d)
}

// BenchmarkDupIndex measures adds of distinct identifiers.
func BenchmarkDupIndex(b *testing.B) {
	ids := make([]string, 1<<20)
	for i := range ids {
		ids[i] = fmt.Sprintf("user%d@example.com", i)
	}
	b.ReportAllocs()
	d := newDupIndex(0)
	row := 0
	for b.Loop() {
		row++
		if row > len(ids) {
			b.StopTimer()
			d, row = newDupIndex(0), 1
			b.StartTimer()
		}
		d.add(ids[row-1], row)
	}
}
