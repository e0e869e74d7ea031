package sources

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/go-ldap/ldap/v3"
	"github.com/go-ldap/ldif"

	"github.com/cutover/cutover/strategies"
)

// ldifSource streams an LDIF file (RFC 2849) as written by slapcat or ldapsearch -LLL:
// each entry is a record whose columns are its attribute names, plus "dn".
//
// go-ldap's ldif parser decodes an entry (folding, comments, base64 values), but it
// stops at the first bad entry and reports only the line where its parse ended. So
// this source splits the file into entries itself (an entry ends at a blank line; that
// much needs no parser), remembering each entry's first line and byte offset, and hands
// the parser one entry at a time: a bad entry becomes a Record with Err at its own line,
// and the next entry is read as usual. Memory is one entry.
type ldifSource struct {
	path  string
	index fileIndex
}

// groupAttributes hold DNs and are lists even with one value: a group DN contains
// commas, so it must not reach a mapping as a comma-separated string.
var groupAttributes = []string{"memberof", "member", "uniquemember", "ismemberof"}

func openLDIF(path string) (*ldifSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &strategies.Error{Code: strategies.CodeSource, File: path, Message: "cannot open the LDIF file", Err: err}
	}
	f.Close()
	return &ldifSource{path: path}, nil
}

// Read implements Source. Pos is the byte offset after the entry with its row and line.
func (s *ldifSource) Read(ctx context.Context, after string, fn func(Record) error) error {
	return readAfter(ctx, filePos{line: 1}, after, s.readFrom, fn)
}

func (s *ldifSource) readFrom(ctx context.Context, pos filePos, fn func(Record) error) error {
	f, pos, err := openFrom(s.path, pos, filePos{line: 1}, "the LDIF file")
	if err != nil {
		return err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, bufSize)
	if pos.off == 0 {
		if b, _ := br.Peek(3); bytes.Equal(b, utf8BOM) {
			br.Discard(3)
			pos.off = 3
		}
	}
	off, line, row := pos.off, pos.line, pos.row
	var (
		chunk     []byte // the entry's lines as read
		startLine int    // the entry's first line that is not a comment
	)
	flush := func() error {
		if startLine == 0 {
			chunk = chunk[:0] // comments only
			return nil
		}
		rec, ok := s.parseEntry(chunk, row+1, startLine)
		chunk, startLine = chunk[:0], 0
		if !ok {
			return nil // a version line: not an entry
		}
		row++
		if row%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rec.Pos = filePos{off: off, row: row, line: line}.String()
		return fn(rec)
	}
	for {
		b, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return &strategies.Error{Code: strategies.CodeSource, File: s.path, Line: line, Message: "cannot read the LDIF file", Err: err}
		}
		if len(b) > 0 {
			off += int64(len(b))
			text := bytes.TrimRight(b, "\r\n")
			line++
			if len(text) == 0 {
				if err := flush(); err != nil {
					return err
				}
			} else {
				if startLine == 0 && text[0] != '#' && text[0] != ' ' {
					startLine = line - 1
				}
				chunk = append(chunk, text...)
				chunk = append(chunk, '\n')
			}
		}
		if err != nil { // io.EOF
			return flush()
		}
	}
}

// parseEntry parses one entry's text. ok is false for a chunk that is no entry (the
// "version: 1" line at the top of the file).
func (s *ldifSource) parseEntry(chunk []byte, row, line int) (rec Record, ok bool) {
	rec = Record{Row: row, Line: line, Fields: map[string]any{}}
	bad := func(format string, args ...any) (Record, bool) {
		rec.Err = &strategies.Error{Code: strategies.CodeMalformedRecord, File: filepath.Base(s.path), Row: row, Line: line,
			Message: fmt.Sprintf(format, args...)}
		return rec, true
	}
	if l := urlValueLine(chunk); l > 0 {
		// go-ldap's parser would read the file the URL names: an export must not make
		// cutover read other files on this machine.
		return bad("line %d gives a value by URL (attribute:< file://...); values must be in the file, export with slapcat or ldapsearch -LLL", line+l-1)
	}
	l, err := ldif.Parse(string(chunk))
	if err != nil {
		msg := err.Error()
		var pe *ldif.ParseError
		if errors.As(err, &pe) {
			msg = pe.Message
		}
		// The parser quotes a line without a colon whole; it may hold a password hash.
		if i := strings.Index(msg, " `"); i >= 0 {
			msg = msg[:i]
		}
		if dn := firstDN(chunk); dn != "" {
			rec.Fields["dn"] = dn
		}
		return bad("cannot parse this LDIF entry (%s); each line is attribute: value or attribute:: base64, continued lines start with one space, and entries are separated by a blank line", strings.ToLower(msg))
	}
	if len(l.Entries) == 0 {
		if l.Version == 1 && row == 1 {
			return rec, false
		}
		return bad("this block holds no entry; an entry starts with a dn: line")
	}
	e := l.Entries[0]
	switch {
	case e.Entry != nil:
		rec.Fields = entryFields(e.Entry.DN, e.Entry.Attributes)
	case e.Add != nil:
		attrs := make([]*ldap.EntryAttribute, 0, len(e.Add.Attributes))
		for _, a := range e.Add.Attributes {
			attrs = append(attrs, &ldap.EntryAttribute{Name: a.Type, Values: a.Vals})
		}
		rec.Fields = entryFields(e.Add.DN, attrs)
	default:
		rec.Fields["dn"] = firstDN(chunk)
		return bad("is a change record (changetype: modify, delete or modrdn), not an entry; export the directory with slapcat or ldapsearch -LLL")
	}
	return rec, true
}

// urlValueLine returns the 1-based line in chunk of an "attr:< url" value, or 0.
func urlValueLine(chunk []byte) int {
	n := 0
	for l := range bytes.SplitSeq(chunk, []byte("\n")) {
		n++
		if len(l) == 0 || l[0] == '#' || l[0] == ' ' {
			continue
		}
		if i := bytes.IndexByte(l, ':'); i > 0 && i+1 < len(l) && l[i+1] == '<' {
			return n
		}
	}
	return 0
}

// firstDN returns the plain dn: of a chunk for a bad entry's report, or "".
func firstDN(chunk []byte) string {
	for l := range bytes.SplitSeq(chunk, []byte("\n")) {
		if v, ok := bytes.CutPrefix(l, []byte("dn: ")); ok {
			return string(v)
		}
	}
	return ""
}

// entryFields turns a directory entry into record fields: "dn" and one column per
// attribute, named as the directory spells it. One value is a string, several are a
// list; group attributes (memberOf, member) are always lists. Values that are not
// UTF-8 (jpegPhoto, objectGUID) are []byte. Attribute names differing only in case
// are one attribute, as LDAP compares them.
func entryFields(dn string, attrs []*ldap.EntryAttribute) map[string]any {
	out := make(map[string]any, len(attrs)+1)
	out["dn"] = dn
	names := make(map[string]string, len(attrs))
	for _, a := range attrs {
		if len(a.Values) == 0 {
			continue
		}
		lower := strings.ToLower(a.Name)
		name, seen := names[lower]
		if !seen {
			name = a.Name
			names[lower] = name
		}
		var vals []any
		if prev, ok := out[name]; ok {
			if l, isList := prev.([]any); isList {
				vals = l
			} else {
				vals = []any{prev}
			}
		}
		for _, v := range a.Values {
			if utf8.ValidString(v) {
				vals = append(vals, v)
			} else {
				vals = append(vals, []byte(v))
			}
		}
		if len(vals) == 1 && !slices.Contains(groupAttributes, lower) {
			out[name] = vals[0]
		} else {
			out[name] = vals
		}
	}
	return out
}

// Close implements Source.
func (s *ldifSource) Close() error { return nil }

// Count implements Counter by reading the file once (exact).
func (s *ldifSource) Count(ctx context.Context) (int64, bool, error) { return count(ctx, s) }

// Sample implements Sampler.
func (s *ldifSource) Sample(ctx context.Context, n int) ([]Record, error) { return sample(ctx, s, n) }

// Find implements Finder with an index built on first use (see fileIndex).
func (s *ldifSource) Find(ctx context.Context, column, value string) ([]Record, error) {
	return s.index.find(ctx, s, column, value, s.readFrom)
}

// Describe implements Describer: the attributes seen in the first 1,000 entries and a
// row estimate from their size.
func (s *ldifSource) Describe(ctx context.Context) (*Schema, error) {
	recs, err := s.Sample(ctx, 1000)
	if err != nil {
		return nil, err
	}
	t := Table{Name: filepath.Base(s.path), EstimatedRows: -1, Columns: describeEntries(recs)}
	if fi, err := os.Stat(s.path); err == nil && len(recs) > 0 {
		last, _ := parseFilePos(recs[len(recs)-1].Pos)
		if per := float64(last.off) / float64(len(recs)); per > 0 {
			t.EstimatedRows = int64(float64(fi.Size())/per + 0.5)
		}
	}
	return &Schema{Kind: strategies.SourceLDIF, Version: "ldif", Tables: []Table{t}}, nil
}

// describeEntries lists the attributes of directory records: "string", "list" (seen
// with several values) or "binary", nullable when some entries lack them.
func describeEntries(recs []Record) []Column {
	types := map[string]string{}
	count := map[string]int{}
	for _, r := range recs {
		for k, v := range r.Fields {
			count[k]++
			t := "string"
			switch v := v.(type) {
			case []byte:
				t = "binary"
			case []any:
				t = "list"
				if len(v) > 0 {
					if _, bin := v[0].([]byte); bin {
						t = "binary list"
					}
				}
			}
			if prev := types[k]; prev == "" || prev == "string" {
				types[k] = t
			}
		}
	}
	cols := make([]Column, 0, len(types))
	for k, t := range types {
		cols = append(cols, Column{Name: k, Type: t, Nullable: count[k] < len(recs), PrimaryKey: k == "dn"})
	}
	slices.SortFunc(cols, func(a, b Column) int {
		if a.Name == "dn" || b.Name == "dn" {
			return map[bool]int{true: -1, false: 1}[a.Name == "dn"]
		}
		return strings.Compare(a.Name, b.Name)
	})
	return cols
}
