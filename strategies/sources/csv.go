package sources

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// csvSource reads a CSV file with a header row: an optional UTF-8 byte order mark,
// LF or CRLF line ends, quoted fields (which may span lines), and a delimiter that is
// given or detected from the header. Every value is a string; an empty field is "".
type csvSource struct {
	path   string
	delim  rune
	header []string
	data   filePos // where the first record starts: after the BOM and the header
	index  fileIndex
}

const bufSize = 256 << 10

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// openCSV reads the header of the CSV file at path. delim is "", ",", ";", "\t" or "|".
func openCSV(path, delim string) (*csvSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &strategies.Error{Code: strategies.CodeSource, File: path, Message: "cannot open the CSV file", Err: err}
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, bufSize)
	var start int64
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		br.Discard(3)
		start = 3
	}
	s := &csvSource{path: path}
	if delim != "" {
		s.delim = []rune(delim)[0]
	} else {
		first, _ := br.Peek(64 << 10)
		s.delim = detectDelimiter(first)
	}
	r := s.reader(br)
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &strategies.Error{Code: strategies.CodeSource, File: path, Line: 1, Message: "the file is empty; a CSV source needs a header row naming the columns"}
	}
	if err != nil {
		return nil, &strategies.Error{Code: strategies.CodeSource, File: path, Line: 1, Message: "cannot read the header row", Err: err}
	}
	seen := map[string]int{}
	for i, h := range header {
		h = strings.TrimSpace(h)
		if h == "" {
			h = fmt.Sprintf("column_%d", i+1)
		}
		if j, dup := seen[h]; dup {
			return nil, &strategies.Error{Code: strategies.CodeSource, File: path, Line: 1,
				Message: fmt.Sprintf("column %q appears twice in the header (columns %d and %d); rename one", h, j+1, i+1)}
		}
		seen[h] = i
		header[i] = h
	}
	s.header = header
	line, _ := r.FieldPos(0) // the header's line: blank lines above it are skipped
	s.data = filePos{off: start + r.InputOffset(), line: line + newlines(header) + 1}
	return s, nil
}

func (s *csvSource) reader(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.Comma = s.delim
	cr.FieldsPerRecord = -1 // checked here, so a short row is an invalid row, not the end
	cr.ReuseRecord = true
	return cr
}

// detectDelimiter picks the most frequent of , ; tab | outside quotes on the first line.
func detectDelimiter(b []byte) rune {
	counts := map[rune]int{}
	quoted := false
	for _, c := range string(b) {
		if c == '"' {
			quoted = !quoted
			continue
		}
		if quoted {
			continue
		}
		if c == '\n' {
			break
		}
		switch c {
		case ',', ';', '\t', '|':
			counts[c]++
		}
	}
	best, n := ',', 0
	for _, c := range []rune{',', ';', '\t', '|'} {
		if counts[c] > n {
			best, n = c, counts[c]
		}
	}
	return best
}

// newlines counts the line breaks inside a record's fields (quoted multi-line values),
// so the record's last line is its first line plus this.
func newlines(fields []string) int {
	n := 0
	for _, f := range fields {
		n += strings.Count(f, "\n")
	}
	return n
}

// Read implements Source. Pos is the byte offset after the record with its row and line.
func (s *csvSource) Read(ctx context.Context, after string, fn func(Record) error) error {
	return readAfter(ctx, s.data, after, s.readFrom, fn)
}

func (s *csvSource) readFrom(ctx context.Context, pos filePos, fn func(Record) error) error {
	f, pos, err := openFrom(s.path, pos, s.data, "the CSV file")
	if err != nil {
		return err
	}
	defer f.Close()
	r := s.reader(bufio.NewReaderSize(f, bufSize))
	base, row := pos.line-1, pos.row
	for {
		if row%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		row++
		rec := Record{Row: row}
		var pe *csv.ParseError
		switch {
		case errors.As(err, &pe):
			rec.Line = base + pe.StartLine
			rec.Fields = map[string]any{}
			rec.Err = &strategies.Error{Code: strategies.CodeMalformedRecord, File: filepath.Base(s.path), Row: row, Line: rec.Line,
				Message: fmt.Sprintf("cannot parse this CSV record (%v at line %d, column %d); a field containing a quote must be quoted with the quote doubled (\"\")", pe.Err, base+pe.Line, pe.Column)}
			rec.Pos = filePos{off: pos.off + r.InputOffset(), row: row, line: base + pe.Line + 1}.String()
		case err != nil:
			return &strategies.Error{Code: strategies.CodeSource, File: s.path, Row: row, Message: "cannot read the CSV file", Err: err}
		default:
			line, _ := r.FieldPos(0)
			rec.Line = base + line
			rec.Fields = make(map[string]any, len(s.header))
			for i, h := range s.header {
				if i < len(fields) {
					rec.Fields[h] = fields[i]
				}
			}
			if len(fields) != len(s.header) {
				rec.Err = &strategies.Error{Code: strategies.CodeMalformedRecord, File: filepath.Base(s.path), Row: row, Line: rec.Line,
					Message: fmt.Sprintf("has %d fields, the header has %d; quote values that contain %q, or add the missing fields", len(fields), len(s.header), string(s.delim))}
			}
			rec.Pos = filePos{off: pos.off + r.InputOffset(), row: row, line: rec.Line + newlines(fields) + 1}.String()
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
}

// Close implements Source.
func (s *csvSource) Close() error { return nil }

// Count implements Counter by reading the file once (exact).
func (s *csvSource) Count(ctx context.Context) (int64, bool, error) { return count(ctx, s) }

// Sample implements Sampler.
func (s *csvSource) Sample(ctx context.Context, n int) ([]Record, error) { return sample(ctx, s, n) }

// Find implements Finder with an index built on first use (see fileIndex).
func (s *csvSource) Find(ctx context.Context, column, value string) ([]Record, error) {
	if !containsString(s.header, column) {
		return nil, &strategies.Error{Code: strategies.CodeSource, File: s.path, Field: column,
			Message: fmt.Sprintf("no such column; the header has %s", strings.Join(s.header, ", "))}
	}
	return s.index.find(ctx, s, column, value, s.readFrom)
}

// Describe implements Describer. The row estimate comes from the size of the first records.
func (s *csvSource) Describe(ctx context.Context) (*Schema, error) {
	t := Table{Name: filepath.Base(s.path), EstimatedRows: -1}
	for _, h := range s.header {
		t.Columns = append(t.Columns, Column{Name: h, Type: "string", Nullable: true})
	}
	recs, err := s.Sample(ctx, 1000)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(s.path); err == nil && len(recs) > 0 {
		last, _ := parseFilePos(recs[len(recs)-1].Pos)
		if per := float64(last.off-s.data.off) / float64(len(recs)); per > 0 {
			t.EstimatedRows = int64(float64(fi.Size()-s.data.off)/per + 0.5)
		}
	}
	return &Schema{Kind: strategies.SourceCSV, Version: "csv, delimiter " + delimName(s.delim), Tables: []Table{t}}, nil
}

func delimName(r rune) string {
	if r == '\t' {
		return "tab"
	}
	return fmt.Sprintf("%q", string(r))
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
