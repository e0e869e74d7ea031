package mapping

import (
	"math"
	"math/bits"
	"strings"
	"unicode/utf8"
)

// The duplicate index is an open-addressing hash set of 64-bit fingerprints with a
// parallel slice of rows: 12 bytes a slot. A Go map[uint64]int32 costs about 35 bytes
// an entry at a million (16-byte slots, control bytes, doubling) plus the old table
// while it grows, and the garbage collector doubles whatever is live. Here the table is
// split into dupSegments segments by the fingerprint's top bits, each growing by a
// quarter when 80% full, so slots stay 64-80% used (15-19 bytes an identifier) and a
// rehash only ever copies one small segment.
const (
	dupSegmentBits = 8
	dupSegments    = 1 << dupSegmentBits
	dupMinSlots    = 8
	dupMaxLoadNum  = 4 // grow above 4/5 full
	dupMaxLoadDen  = 5
)

// dupIndex remembers identifiers by a 64-bit hash of their case-folded form, mapping
// each to the first row that used it (negated once a duplicate was seen, to count
// groups). Collisions between different identifiers are possible but improbable (about
// one in a million at 5 million identifiers).
type dupIndex struct {
	segs   [dupSegments]dupSegment
	groups int64

	n       int        // identifiers held in segs
	spillAt int        // move to disk at this many identifiers; 0 never
	disk    *diskTable // set once spilled
	err     error      // the first I/O error of the disk table; sticky
}

// dupSegment is one linear-probing table. rows[i] == 0 marks an empty slot: only rows
// from 1 to MaxInt32 are stored.
type dupSegment struct {
	fps  []uint64
	rows []int32
	n    int
}

// newDupIndex returns an index that moves to a temporary file after spillAt
// identifiers (0: stays in memory).
func newDupIndex(spillAt int) *dupIndex { return &dupIndex{spillAt: spillAt} }

// add records row's identifier and reports the winning row when it was seen before.
func (d *dupIndex) add(id string, row int) (winner int, dup bool) {
	h := foldHash(id)
	if d.disk != nil {
		return d.addDisk(h, row)
	}
	s := &d.segs[h>>(64-dupSegmentBits)]
	if i, ok := s.find(h); ok {
		w := s.rows[i]
		if w > 0 {
			s.rows[i] = -w
			d.groups++
			return int(w), true
		}
		return int(-w), true
	}
	if row > 0 && row <= math.MaxInt32 {
		s.insert(h, int32(row))
		if d.n++; d.spillAt > 0 && d.n >= d.spillAt {
			d.spill()
		}
	}
	return 0, false
}

func (d *dupIndex) addDisk(h uint64, row int) (winner int, dup bool) {
	if d.err != nil {
		return 0, false
	}
	if w, set, found := d.disk.lookup(h); found {
		if w > 0 {
			d.groups++
			set(-w)
			return int(w), true
		}
		return int(-w), true
	}
	if row > 0 && row <= math.MaxInt32 {
		d.err = d.disk.add(h, int32(row))
	}
	return 0, false
}

// spill moves the index into a temporary file and frees its memory. When no file can
// be made it stays in memory: correct, only larger.
func (d *dupIndex) spill() {
	t, err := newDiskTable(uint64(d.n) * 4)
	if err != nil {
		d.spillAt = 0
		return
	}
	for i := range d.segs {
		s := &d.segs[i]
		for j, r := range s.rows {
			if r != 0 && err == nil {
				err = t.add(s.fps[j], r)
			}
		}
	}
	if err != nil {
		t.close()
		d.spillAt = 0
		return
	}
	d.disk, d.segs = t, [dupSegments]dupSegment{}
}

// close releases the disk table and returns the first I/O error the index met.
func (d *dupIndex) close() error {
	if d.disk != nil {
		if err := d.disk.close(); d.err == nil {
			d.err = err
		}
		d.disk = nil
	}
	return d.err
}

// home is h's first slot in a table of n slots: the high half of h*n, which spreads the
// fingerprint's lower bits (the top ones chose the segment) over any table size.
func home(h uint64, n int) int {
	hi, _ := bits.Mul64(h<<dupSegmentBits, uint64(n))
	return int(hi)
}

// find returns h's slot, or the empty slot where it would go.
func (s *dupSegment) find(h uint64) (int, bool) {
	n := len(s.rows)
	if n == 0 {
		return 0, false
	}
	for i := home(h, n); ; {
		if s.rows[i] == 0 {
			return i, false
		}
		if s.fps[i] == h {
			return i, true
		}
		if i++; i == n {
			i = 0
		}
	}
}

func (s *dupSegment) insert(h uint64, row int32) {
	if (s.n+1)*dupMaxLoadDen > len(s.rows)*dupMaxLoadNum {
		s.grow()
	}
	i, _ := s.find(h)
	s.fps[i], s.rows[i] = h, row
	s.n++
}

func (s *dupSegment) grow() {
	size := max(dupMinSlots, len(s.rows)+len(s.rows)/4)
	old := *s
	s.fps, s.rows = make([]uint64, size), make([]int32, size)
	for i, r := range old.rows {
		if r != 0 {
			j, _ := s.find(old.fps[i])
			s.fps[j], s.rows[j] = old.fps[i], r
		}
	}
}

// foldHash is FNV-1a over the lower-cased identifier, with an allocation-free ASCII path,
// finished with a 64-bit mixer so that every bit (the segment and the slot come from
// different ones) depends on every byte.
func foldHash(s string) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			s = strings.ToLower(s)
			break
		}
	}
	h := uint64(offset)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= prime
	}
	// splitmix64's finaliser: FNV-1a's high bits mix poorly for short, similar keys.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}
