package sources

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/cutover/cutover/strategies"
)

// filePos is where a file source stands after a record: the byte offset just past it,
// its row number, and the physical line the next record can start on.
type filePos struct {
	off  int64
	row  int
	line int // the line at off (1-based)
}

// String encodes the position as Record.Pos: "f1:<offset>:<row>:<line>".
func (p filePos) String() string {
	return "f1:" + strconv.FormatInt(p.off, 10) + ":" + strconv.Itoa(p.row) + ":" + strconv.Itoa(p.line)
}

// parseFilePos decodes a Record.Pos of a file source.
func parseFilePos(s string) (filePos, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 4 || parts[0] != "f1" {
		return filePos{}, badPos(s, nil)
	}
	off, err1 := strconv.ParseInt(parts[1], 10, 64)
	row, err2 := strconv.Atoi(parts[2])
	line, err3 := strconv.Atoi(parts[3])
	if err1 != nil || err2 != nil || err3 != nil || off < 0 || row < 0 || line < 1 {
		return filePos{}, badPos(s, nil)
	}
	return filePos{off: off, row: row, line: line}, nil
}

// fileIndex is the lookup index of a file source, built per column on first use:
// for each record, a hash of its folded value and the position just before it.
// 24 bytes per record (a 1,000,000-row file costs about 24 MB), sorted by hash so a
// lookup is a binary search followed by reading the few candidate records.
type fileIndex struct {
	mu   sync.Mutex
	cols map[string][]indexEntry
}

type indexEntry struct {
	h    uint64
	off  int64
	row  uint32 // the row before the record (its Pos row)
	line uint32
}

// foldKey is how Find compares values: trimmed, case-folded text.
func foldKey(v any) (string, bool) {
	var s string
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		s = v
	case []byte:
		s = string(v)
	default:
		s = fmt.Sprint(v)
	}
	s = strings.ToLower(strings.TrimSpace(s))
	return s, s != ""
}

func hashKey(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// find looks value up in column, building the column's index with src on first use,
// and reads each matching record with readFrom from the position the index holds for it
// (a position with row 0 means the first record).
func (ix *fileIndex) find(ctx context.Context, src Source, column, value string, readFrom readFromFunc) ([]Record, error) {
	want, ok := foldKey(value)
	if !ok {
		return nil, nil
	}
	entries, err := ix.entries(ctx, src, column)
	if err != nil {
		return nil, err
	}
	h := hashKey(want)
	i, _ := slices.BinarySearchFunc(entries, h, func(e indexEntry, h uint64) int {
		switch {
		case e.h < h:
			return -1
		case e.h > h:
			return 1
		}
		return 0
	})
	var out []Record
	for ; i < len(entries) && entries[i].h == h; i++ {
		e := entries[i]
		rec, ok, err := readOne(ctx, readFrom, filePos{off: e.off, row: int(e.row), line: int(e.line)})
		if err != nil {
			return out, err
		}
		if got, _ := foldKey(rec.Fields[column]); ok && got == want {
			out = append(out, rec)
		}
	}
	slices.SortFunc(out, func(a, b Record) int { return a.Row - b.Row })
	return out, nil
}

func (ix *fileIndex) entries(ctx context.Context, src Source, column string) ([]indexEntry, error) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if e, ok := ix.cols[column]; ok {
		return e, nil
	}
	var entries []indexEntry
	prev := ""
	seen := false
	n := 0
	err := src.Read(ctx, "", func(r Record) error {
		n++
		before := prev
		prev = r.Pos
		v, present := r.Fields[column]
		if present {
			seen = true
		}
		k, ok := foldKey(v)
		if !ok {
			return nil
		}
		e := indexEntry{h: hashKey(k)}
		if before != "" {
			p, err := parseFilePos(before)
			if err != nil {
				return err
			}
			e.off, e.row, e.line = p.off, uint32(p.row), uint32(p.line)
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("index %s for lookups: %w", column, err)
	}
	if !seen && n > 0 {
		return nil, &strategies.Error{Code: strategies.CodeSource, Field: column, Message: fmt.Sprintf("no record has a %q field; check the column name", column)}
	}
	slices.SortStableFunc(entries, func(a, b indexEntry) int {
		switch {
		case a.h < b.h:
			return -1
		case a.h > b.h:
			return 1
		}
		return 0
	})
	if ix.cols == nil {
		ix.cols = map[string][]indexEntry{}
	}
	ix.cols[column] = entries
	return entries, nil
}

// readFromFunc is a file source's read from a position to the end: Read, Find and the
// index all go through it, so a record reads the same whichever way it is reached.
type readFromFunc func(ctx context.Context, pos filePos, fn func(Record) error) error

// readAfter is Read for a file source: from start, or after the record whose position
// is after.
func readAfter(ctx context.Context, start filePos, after string, readFrom readFromFunc, fn func(Record) error) error {
	pos, err := resumePos(start, after)
	if err != nil {
		return err
	}
	return readFrom(ctx, pos, fn)
}

// readOne reads the record after pos (for Find): it reads from there and stops after
// the first record, which is cheap because the file is seeked, not scanned.
func readOne(ctx context.Context, readFrom readFromFunc, pos filePos) (Record, bool, error) {
	var out Record
	found := false
	err := readFrom(ctx, pos, func(r Record) error {
		out, found = r, true
		return errStop
	})
	if err != nil && !errors.Is(err, errStop) {
		return Record{}, false, err
	}
	return out, found, nil
}

// count is Counter for a file source: the file has no row count of its own, so it is
// read once (exact).
func count(ctx context.Context, src Source) (int64, bool, error) {
	var n int64
	err := src.Read(ctx, "", func(Record) error { n++; return nil })
	return n, err == nil, err
}

// readLine reads one line, '\n' included, however long: ReadSlice does not copy a line
// that fits the buffer (the usual case), and a longer one is joined from its pieces.
// The slice is valid only until the next read.
func readLine(br *bufio.Reader) ([]byte, error) {
	var long []byte
	for {
		b, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			long = append(long, b...)
			continue
		}
		if long != nil {
			b = append(long, b...)
		}
		return b, err
	}
}

// openFrom opens a file source for reading at pos, where row 0 means its first record,
// at start (past a CSV header, a byte order mark or JSON's opening bracket). It returns
// the position it opened at.
func openFrom(path string, pos, start filePos, what string) (*os.File, filePos, error) {
	if pos.row == 0 {
		pos = start
	}
	f, err := openAt(path, pos, what)
	return f, pos, err
}

// resumePos returns where a file source's Read starts: its first record, or the position
// after a record given by Read's `after`.
func resumePos(start filePos, after string) (filePos, error) {
	if after == "" {
		return start, nil
	}
	return parseFilePos(after)
}

// openAt opens a file source at a position; what names the file in errors.
func openAt(path string, pos filePos, what string) (*os.File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &strategies.Error{Code: strategies.CodeSource, File: path, Message: "cannot open " + what, Err: err}
	}
	if _, err := f.Seek(pos.off, io.SeekStart); err != nil {
		f.Close()
		return nil, &strategies.Error{Code: strategies.CodeSource, File: path, Message: "cannot seek to the resume position", Err: err}
	}
	return f, nil
}
