package sources

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// jsonSource streams a JSON export: a JSON array of objects (or an object holding one,
// such as Firebase's {"users": [...]}) read with encoding/json's Decoder one element at
// a time, or NDJSON (one object per line). Nothing is loaded whole. Nested objects are
// flattened to dotted paths; numbers are int64 when integral, else float64.
//
// A malformed NDJSON line is a Record with Err and the stream goes on; a syntax error
// inside a JSON array stops Read with an error naming the line, because the rest of
// the array cannot be found again.
type jsonSource struct {
	kind       string
	path       string
	ndjson     bool
	data       filePos // where the first element starts (after "[", or 0 for NDJSON)
	hashConfig string  // firebase: the resolved hash config path
	index      fileIndex
}

// openJSON opens a json, ndjson, auth0 or firebase file.
func openJSON(p *strategies.Plan, kind, path string) (*jsonSource, error) {
	s := &jsonSource{kind: kind, path: path}
	if kind == strategies.SourceFirebase {
		hc, err := p.Resolve("source.hash_config", p.Source.HashConfig)
		if err != nil {
			return nil, err
		}
		s.hashConfig = hc
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &strategies.Error{Code: strategies.CodeSource, File: path, Message: "cannot open the file", Err: err}
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, bufSize)
	var off int64
	if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
		br.Discard(3)
		off = 3
	}
	bom := off
	first, skipped, lines := firstByte(br)
	off += skipped
	switch {
	case first == 0:
		s.ndjson = kind != strategies.SourceJSON && kind != strategies.SourceFirebase
		s.data = filePos{off: off, line: 1 + lines}
		return s, nil // an empty file: no records
	case first == '[':
		s.data = filePos{off: off + 1, line: 1 + lines}
		return s, nil
	case first == '{' && (kind == strategies.SourceNDJSON || kind == strategies.SourceAuth0):
		s.ndjson = true
		s.data = filePos{off: bom, line: 1} // after the byte order mark, which is not part of the first line's JSON
		return s, nil
	case first == '{':
		// An object wrapping the array: find the "users" key, or the first array of objects.
		data, err := wrappedArray(br, path, kind, off, lines)
		if err != nil {
			return nil, err
		}
		s.data = data
		return s, nil
	}
	return nil, &strategies.Error{Code: strategies.CodeSource, File: path, Line: 1 + lines,
		Message: fmt.Sprintf("starts with %q; expected a JSON array of objects, an object holding one, or one JSON object per line (NDJSON)", first)}
}

// usersArray decides, just after the "[" of the value of key, whether the array holds
// the users: the "users" key always does; another array only when its first element is
// an object. An array that does not (an empty list of warnings, a list of role names
// before the users) is consumed, so the search goes on with the next key.
func usersArray(dec *json.Decoder, key string) (bool, error) {
	if key == "users" {
		return true, nil
	}
	if !dec.More() {
		_, err := dec.Token() // the "]" of an empty array
		return false, err
	}
	t, err := dec.Token()
	if err != nil {
		return false, err
	}
	switch t {
	case json.Delim('{'):
		return true, nil
	case json.Delim('['):
		if err := skipRest(dec); err != nil {
			return false, err
		}
	}
	return false, skipRest(dec)
}

// skipRest consumes the rest of an object or array whose opening delimiter was read.
func skipRest(dec *json.Decoder) error {
	depth := 1
	for depth > 0 {
		t, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := t.(json.Delim); ok {
			switch d {
			case '{', '[':
				depth++
			default:
				depth--
			}
		}
	}
	return nil
}

// firstByte skips white space and returns the next byte (0 at the end), the bytes
// skipped and the newlines among them.
func firstByte(br *bufio.Reader) (byte, int64, int) {
	var n int64
	lines := 0
	for {
		c, err := br.ReadByte()
		if err != nil {
			return 0, n, lines
		}
		switch c {
		case ' ', '\t', '\r':
		case '\n':
			lines++
		default:
			br.UnreadByte()
			return c, n, lines
		}
		n++
	}
}

func jsonSyntax(path string, cr *lineCounter, dec *json.Decoder, err error) error {
	o := dec.InputOffset()
	var se *json.SyntaxError
	if errors.As(err, &se) {
		o = se.Offset
	}
	return &strategies.Error{Code: strategies.CodeSource, File: path, Line: 1 + cr.linesBefore(o), Message: "not valid JSON; fix the file or export it again", Err: err}
}

// lineCounter passes reads through and remembers where the newlines were, so the
// line of any later decoder offset can be found. Offsets must be asked in increasing
// order; only the newlines in the decoder's look-ahead are kept.
type lineCounter struct {
	r     io.Reader
	off   int64   // bytes read so far
	nl    []int64 // offsets of newlines not yet counted
	lines int     // newlines before the last asked offset
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	b := p[:n]
	for {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			break
		}
		c.nl = append(c.nl, c.off+int64(n-len(b)+i))
		b = b[i+1:]
	}
	c.off += int64(n)
	return n, err
}

// linesBefore returns the number of newlines before offset o.
func (c *lineCounter) linesBefore(o int64) int {
	i := 0
	for i < len(c.nl) && c.nl[i] < o {
		i++
	}
	c.lines += i
	c.nl = c.nl[i:]
	if len(c.nl) == 0 {
		c.nl = c.nl[:0:0]
	}
	return c.lines
}

// Read implements Source. Pos is the byte offset after the record with its row and line.
func (s *jsonSource) Read(ctx context.Context, after string, fn func(Record) error) error {
	return readAfter(ctx, s.data, after, s.readFrom, fn)
}

func (s *jsonSource) readFrom(ctx context.Context, pos filePos, fn func(Record) error) error {
	f, pos, err := openFrom(s.path, pos, s.data, "the file")
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, bufSize)
	if s.ndjson {
		return s.readLines(ctx, br, pos, fn)
	}
	return s.readArray(ctx, br, pos, fn)
}

func (s *jsonSource) readLines(ctx context.Context, br *bufio.Reader, pos filePos, fn func(Record) error) error {
	off, row, line := pos.off, pos.row, pos.line
	for {
		b, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return &strategies.Error{Code: strategies.CodeSource, File: s.path, Line: line, Message: "cannot read the file", Err: err}
		}
		if len(b) == 0 && err != nil {
			return nil
		}
		off += int64(len(b))
		text := bytes.TrimSpace(b)
		if len(text) > 0 {
			row++
			if row%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			rec := Record{Row: row, Line: line, Pos: filePos{off: off, row: row, line: line + 1}.String()}
			rec.Fields, rec.Err = s.decodeObject(text)
			if rec.Err != nil {
				rec.Err = &strategies.Error{Code: strategies.CodeMalformedRecord, File: filepath.Base(s.path), Row: row, Line: line,
					Message: "this line is not a JSON object; an NDJSON export has one complete object per line", Err: rec.Err}
			}
			if err := fn(rec); err != nil {
				return err
			}
		}
		line++
		if err != nil {
			return nil
		}
	}
}

func (s *jsonSource) readArray(ctx context.Context, br *bufio.Reader, pos filePos, fn func(Record) error) error {
	// Position on the next element: skip white space and the comma that follows the
	// previous element; "]" ends the array.
	c, skipped, lines := firstByte(br)
	switch c {
	case 0, ']':
		return nil
	case ',':
		if pos.off == s.data.off {
			break
		}
		br.ReadByte()
		skipped++
	}
	if c != ',' && pos.off != s.data.off {
		return badPos(pos.String(), fmt.Errorf("expected , at byte %d", pos.off+skipped))
	}
	base := pos.off + skipped - 1 // the synthetic "[" stands at base
	cr := &lineCounter{r: io.MultiReader(strings.NewReader("["), br)}
	dec := json.NewDecoder(cr)
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return err
	}
	row, line0 := pos.row, pos.line+lines
	for dec.More() {
		row++
		if row%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		// Decoding to raw bytes first gives the element's exact start (the decoder's
		// offset before it may still stand on the previous line's comma).
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			var se *json.SyntaxError
			l := line0 + cr.linesBefore(dec.InputOffset())
			if errors.As(err, &se) {
				l = line0 + cr.linesBefore(se.Offset)
			}
			return &strategies.Error{Code: strategies.CodeSource, File: s.path, Row: row, Line: l,
				Message: "not valid JSON; fix the file or export it again", Err: err}
		}
		end := dec.InputOffset()
		rec := Record{Row: row, Line: line0 + cr.linesBefore(end-int64(len(raw)))}
		rec.Pos = filePos{off: base + end, row: row, line: line0 + cr.linesBefore(end)}.String()
		obj, err := decodeMap(raw)
		if err == nil {
			rec.Fields = s.flattenRecord(obj)
		} else {
			rec.Fields = map[string]any{}
			rec.Err = &strategies.Error{Code: strategies.CodeMalformedRecord, File: filepath.Base(s.path), Row: row, Line: rec.Line,
				Message: "is not a JSON object; every element of the array should be one user object", Err: err}
		}
		if err := fn(rec); err != nil {
			return err
		}
	}
	return nil
}

// decodeObject parses one NDJSON line.
func (s *jsonSource) decodeObject(b []byte) (map[string]any, error) {
	obj, err := decodeMap(b)
	if err != nil {
		return map[string]any{}, err
	}
	return s.flattenRecord(obj), nil
}

// decodeMap decodes one JSON object, numbers as json.Number.
func decodeMap(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one value")
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a JSON %s", jsonType(v))
	}
	return obj, nil
}

// flattenRecord flattens obj, then applies the export's own conventions.
func (s *jsonSource) flattenRecord(obj map[string]any) map[string]any {
	out := make(map[string]any, len(obj))
	flatten(out, "", obj)
	if s.kind == strategies.SourceAuth0 {
		auth0Fields(out)
	}
	if s.kind == strategies.SourceFirebase {
		firebaseFields(out)
	}
	return out
}

// flatten writes obj's leaves into out under dotted keys.
func flatten(out map[string]any, prefix string, obj map[string]any) {
	for k, v := range obj {
		key := prefix + k
		if m, ok := v.(map[string]any); ok && len(m) > 0 {
			flatten(out, key+".", m)
			continue
		}
		out[key] = jsonValue(v)
	}
}

// jsonValue converts decoded JSON to the Record value types.
func jsonValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i
		}
		f, _ := v.Float64()
		return f
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any: // inside arrays, and empty objects
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = jsonValue(e)
		}
		return out
	}
	return v
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number, float64, int64:
		return "number"
	case []any:
		return "array"
	}
	return "object"
}

// Close implements Source.
func (s *jsonSource) Close() error { return nil }

// Count implements Counter by reading the file once (exact).
func (s *jsonSource) Count(ctx context.Context) (int64, bool, error) { return count(ctx, s) }

// Sample implements Sampler.
func (s *jsonSource) Sample(ctx context.Context, n int) ([]Record, error) { return sample(ctx, s, n) }

// Find implements Finder with an index built on first use (see fileIndex). column is a
// flattened key such as "email" or "profile.email".
func (s *jsonSource) Find(ctx context.Context, column, value string) ([]Record, error) {
	return s.index.find(ctx, s, column, value, s.readFrom)
}

// Describe implements Describer: the fields seen in the first 1,000 records with the
// JSON types seen, and a row estimate from their size.
func (s *jsonSource) Describe(ctx context.Context) (*Schema, error) {
	recs, err := s.Sample(ctx, 1000)
	if err != nil {
		return nil, err
	}
	types := map[string][]string{}
	nulls := map[string]bool{}
	for _, r := range recs {
		for k, v := range r.Fields {
			t := valueType(v)
			if t == "null" {
				nulls[k] = true
				continue
			}
			if !slices.Contains(types[k], t) {
				types[k] = append(types[k], t)
			}
		}
	}
	t := Table{Name: filepath.Base(s.path), EstimatedRows: -1}
	for k := range types {
		t.Columns = append(t.Columns, Column{Name: k, Type: strings.Join(types[k], "|"), Nullable: nulls[k] || countMissing(recs, k) > 0})
	}
	for k := range nulls {
		if _, ok := types[k]; !ok {
			t.Columns = append(t.Columns, Column{Name: k, Type: "null", Nullable: true})
		}
	}
	slices.SortFunc(t.Columns, func(a, b Column) int { return strings.Compare(a.Name, b.Name) })
	if fi, err := os.Stat(s.path); err == nil && len(recs) > 0 {
		last, _ := parseFilePos(recs[len(recs)-1].Pos)
		if per := float64(last.off-s.data.off) / float64(len(recs)); per > 0 {
			t.EstimatedRows = int64(float64(fi.Size()-s.data.off)/per + 0.5)
		}
	}
	format := "json array"
	if s.ndjson {
		format = "ndjson"
	}
	return &Schema{Kind: s.kind, Version: format, Tables: []Table{t}}, nil
}

func countMissing(recs []Record, k string) int {
	n := 0
	for _, r := range recs {
		if _, ok := r.Fields[k]; !ok {
			n++
		}
	}
	return n
}

func valueType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64:
		return "integer"
	case float64:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// wrappedArray finds, in a file whose top level is an object, where the array of users
// starts: the "users" key's value (Firebase), or else the first array of objects.
// off and lines say where the reader br stands in the file.
func wrappedArray(br *bufio.Reader, path, kind string, off int64, lines int) (filePos, error) {
	cr := &lineCounter{r: br}
	dec := json.NewDecoder(cr)
	if _, err := dec.Token(); err != nil {
		return filePos{}, jsonSyntax(path, cr, dec, err)
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return filePos{}, jsonSyntax(path, cr, dec, err)
		}
		key, _ := t.(string)
		if !dec.More() {
			break
		}
		var raw json.RawMessage
		if key == "users" || kind != strategies.SourceFirebase {
			// peek: is the value an array?
			t, err := dec.Token()
			if err != nil {
				return filePos{}, jsonSyntax(path, cr, dec, err)
			}
			if d, ok := t.(json.Delim); ok && d == '[' {
				o := dec.InputOffset()
				users, err := usersArray(dec, key)
				if err != nil {
					return filePos{}, jsonSyntax(path, cr, dec, err)
				}
				if users {
					return filePos{off: off + o, line: 1 + lines + cr.linesBefore(o)}, nil
				}
				continue
			}
			if d, ok := t.(json.Delim); ok && d == '{' {
				if err := skipRest(dec); err != nil {
					return filePos{}, jsonSyntax(path, cr, dec, err)
				}
			}
			continue
		}
		if err := dec.Decode(&raw); err != nil {
			return filePos{}, jsonSyntax(path, cr, dec, err)
		}
	}
	want := "an array of user objects"
	if kind == strategies.SourceFirebase {
		want = `a "users" array (as written by firebase auth:export users.json)`
	}
	return filePos{}, &strategies.Error{Code: strategies.CodeSource, File: path, Message: "the top-level object holds no array; expected " + want}
}
