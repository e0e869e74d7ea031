//go:build unix

package mapping

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"os"
	"slices"
	"syscall"
)

// diskTable is the duplicate index once it has outgrown memory. Identifiers live in an
// open-addressing table of 16-byte slots (fingerprint, row, padding) in an unlinked
// temporary file mapped shared into memory. New identifiers are buffered and written
// in slot order, one sequential sweep per flushAt of them, and the mapping's pages are
// then dropped from the process (MADV_DONTNEED: the contents stay in the file and the
// page cache). A Bloom filter answers "never seen" for almost every new identifier
// without touching the table. So resident memory stays near 4 MB however large the
// source, and a row costs about what it costs in memory.
type diskTable struct {
	f     *os.File
	data  []byte
	slots uint64 // a power of two
	n     uint64 // identifiers in the table (not counting pend)

	pend   map[uint64]int32 // identifiers not yet written to the table
	blooms []bloom
	finds  int // table lookups since the last drop
}

const (
	diskSlot = 16
	flushAt  = 1 << 16 // buffered identifiers per sweep
	dropAt   = 1 << 6  // table lookups between drops of the resident pages
)

func newDiskTable(slots uint64) (*diskTable, error) {
	t, err := mapTable(slots)
	if err != nil {
		return nil, err
	}
	t.pend = make(map[uint64]int32, flushAt)
	return t, nil
}

func mapTable(slots uint64) (*diskTable, error) {
	slots = max(1024, uint64(1)<<bits.Len64(slots-1))
	f, err := os.CreateTemp("", "cutover-dups-*")
	if err != nil {
		return nil, fmt.Errorf("create the duplicate index file: %w", err)
	}
	// Unlink at once: the open file stays usable, and no run can leave it behind.
	_ = os.Remove(f.Name())
	size := int(slots * diskSlot)
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("size the duplicate index file: %w", err)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("map the duplicate index file: %w", err)
	}
	// Probes jump around the table: without this hint each page fault would map its 15
	// neighbours too (fault-around), and resident memory would grow with the table.
	_ = syscall.Madvise(data, syscall.MADV_RANDOM)
	return &diskTable{f: f, data: data, slots: slots}, nil
}

// lookup returns h's row (negative once a duplicate of it was seen) and a function that
// stores a new row for it, or found false.
func (t *diskTable) lookup(h uint64) (row int32, set func(int32), found bool) {
	if r, ok := t.pend[h]; ok {
		return r, func(r int32) { t.pend[h] = r }, true
	}
	if !t.mayContain(h) {
		return 0, nil, false
	}
	if t.finds++; t.finds >= dropAt {
		t.finds = 0
		t.drop()
	}
	slot, r, ok := t.find(h)
	if !ok {
		return 0, nil, false
	}
	return r, func(r int32) { binary.LittleEndian.PutUint32(t.data[slot*diskSlot+8:], uint32(r)) }, true
}

// add buffers a new identifier, writing the buffer out when it is full.
func (t *diskTable) add(h uint64, row int32) error {
	t.pend[h] = row
	t.remember(h)
	if len(t.pend) >= flushAt {
		return t.flush()
	}
	return nil
}

// flush writes the buffered identifiers into the table in slot order.
func (t *diskTable) flush() error {
	for (t.n+uint64(len(t.pend)))*2 > t.slots {
		if err := t.grow(); err != nil {
			return err
		}
	}
	type entry struct {
		h   uint64
		row int32
	}
	mask := t.slots - 1
	es := make([]entry, 0, len(t.pend))
	for h, r := range t.pend {
		es = append(es, entry{h, r})
	}
	slices.SortFunc(es, func(a, b entry) int {
		switch x, y := a.h&mask, b.h&mask; {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	for i, e := range es {
		t.insert(e.h, e.row)
		if i%4096 == 4095 {
			t.drop() // the sweep has moved on: keep only its last stretch resident
		}
	}
	clear(t.pend)
	t.drop()
	return nil
}

// find returns h's slot and row, or the empty slot where h would go.
func (t *diskTable) find(h uint64) (slot uint64, row int32, found bool) {
	mask := t.slots - 1
	for i := h & mask; ; i = (i + 1) & mask {
		s := t.data[i*diskSlot:]
		r := int32(binary.LittleEndian.Uint32(s[8:]))
		if r == 0 {
			return i, 0, false
		}
		if binary.LittleEndian.Uint64(s) == h {
			return i, r, true
		}
	}
}

func (t *diskTable) insert(h uint64, row int32) {
	slot, _, _ := t.find(h)
	s := t.data[slot*diskSlot:]
	binary.LittleEndian.PutUint64(s, h)
	binary.LittleEndian.PutUint32(s[8:], uint32(row))
	t.n++
}

// grow rehashes into a table twice the size. Reading the old table in slot order visits
// the new one in (two interleaved) slot orders too, so both are swept, not jumped through.
func (t *diskTable) grow() error {
	next, err := mapTable(t.slots * 2)
	if err != nil {
		return err
	}
	for i := uint64(0); i < t.slots; i++ {
		s := t.data[i*diskSlot:]
		if r := int32(binary.LittleEndian.Uint32(s[8:])); r != 0 {
			next.insert(binary.LittleEndian.Uint64(s), r)
		}
		if i%(1<<16) == 0 {
			t.drop()
			next.drop()
		}
	}
	if err := t.unmap(); err != nil {
		next.unmap()
		return err
	}
	t.f, t.data, t.slots, t.n = next.f, next.data, next.slots, next.n
	t.drop()
	return nil
}

// drop releases the mapping's resident pages; their contents stay in the file.
func (t *diskTable) drop() { _ = syscall.Madvise(t.data, syscall.MADV_DONTNEED) }

func (t *diskTable) unmap() error {
	err := syscall.Munmap(t.data)
	if cerr := t.f.Close(); err == nil {
		err = cerr
	}
	return err
}

func (t *diskTable) close() error { return t.unmap() }

// A bloom is one layer of a scalable Bloom filter: about 10 bits and 7 probes per
// identifier for a 1% false-positive rate. Layers double in capacity as identifiers
// arrive, so the filter costs about 1.2 bytes per identifier.
type bloom struct {
	bits []uint64
	m    uint64 // bits
	n    int    // identifiers added
	cap  int
}

const bloomProbes = 7

func (t *diskTable) remember(h uint64) {
	if len(t.blooms) == 0 || t.blooms[len(t.blooms)-1].n >= t.blooms[len(t.blooms)-1].cap {
		c := flushAt
		if len(t.blooms) > 0 {
			c = t.blooms[len(t.blooms)-1].cap * 2
		}
		m := uint64(c) * 10
		t.blooms = append(t.blooms, bloom{bits: make([]uint64, (m+63)/64), m: m, cap: c})
	}
	b := &t.blooms[len(t.blooms)-1]
	h1, h2 := h, h>>32|1
	for i := range uint64(bloomProbes) {
		k := (h1 + i*h2) % b.m
		b.bits[k/64] |= 1 << (k % 64)
	}
	b.n++
}

func (t *diskTable) mayContain(h uint64) bool {
	h1, h2 := h, h>>32|1
	for bi := range t.blooms {
		b := &t.blooms[bi]
		hit := true
		for i := range uint64(bloomProbes) {
			k := (h1 + i*h2) % b.m
			if b.bits[k/64]&(1<<(k%64)) == 0 {
				hit = false
				break
			}
		}
		if hit {
			return true
		}
	}
	return false
}
