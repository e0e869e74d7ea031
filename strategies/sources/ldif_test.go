package sources

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
)

// ldifFixture has, in order: the version line, a comment block, an entry with folding,
// comments, base64 and multi-valued attributes (line 4), a line without a colon
// (line 22), bad base64 (line 26), a change record (line 30), a URL value (line 35), and
// a last good entry without a trailing newline (line 39).
const ldifFixture = "version: 1\n" + // 1
	"\n" + // 2
	"# exported by slapcat\n" + // 3
	"dn: uid=ada,ou=people,dc=example,dc=org\n" + // 4
	"objectClass: inetOrgPerson\n" + // 5
	"objectClass: person\n" + // 6
	"uid: ada\n" + // 7
	"# a comment inside the entry\n" + // 8
	"cn: Ada\n" + // 9
	"  Lovelace\n" + // 10 (folded: "Ada" + " Lovelace")
	"sn:: TG92ZWxhY2Ugw6k=\n" + // 11 (base64 of "Lovelace é")
	"mail: ada@example.org\n" + // 12
	"userPassword:: e1NTSEF9ZFdQWVZMcXVXOHBwaW8xbW1HZXJDbWh1MHl4dzRPZkI=\n" + // 13
	"memberOf: cn=admins,ou=groups,dc=example,dc=org\n" + // 14
	"jpegPhoto:: /9j/4A==\n" + // 15
	"\n" + // 16
	"dn: uid=bob,ou=people,dc=example,dc=org\n" + // 17
	"uid: bob\n" + // 18
	"mail: bob@example.org\n" + // 19
	"mail: robert@example.org\n" + // 20
	"\n" + // 21
	"dn: uid=carl,ou=people,dc=example,dc=org\n" + // 22
	"userPassword {SSHA}c2VjcmV0LWhhc2g=\n" + // 23
	"\n" + // 24
	"\n" + // 25
	"dn: uid=dora,ou=people,dc=example,dc=org\n" + // 26
	"sn:: ***not base64***\n" + // 27
	"\n" + // 28
	"# a change record\n" + // 29
	"dn: uid=ed,ou=people,dc=example,dc=org\n" + // 30
	"changetype: delete\n" + // 31
	"\n" + // 32
	"dn: uid=fay,ou=people,dc=example,dc=org\n" + // 33
	"uid: fay\n" + // 34
	"jpegPhoto:< file:///etc/passwd\n" + // 35
	"\n" + // 36
	"dn: uid=gus,ou=people,dc=example,dc=org\r\n" + // 37 (CRLF)
	"uid: gus\r\n" + // 38
	"mail: gus@example.org" // 39

func TestLDIFRecords(t *testing.T) {
	path := writeFile(t, "export.ldif", ldifFixture)
	src, err := openLDIF(path)
	if err != nil {
		t.Fatal(err)
	}
	var recs []Record
	if err := src.Read(context.Background(), "", func(r Record) error { recs = append(recs, r); return nil }); err != nil {
		t.Fatalf("Read: %v", err)
	}
	type want struct {
		line   int
		fields map[string]any
		errHas string
	}
	wants := []want{
		{line: 4, fields: map[string]any{
			"dn":           "uid=ada,ou=people,dc=example,dc=org",
			"objectClass":  []any{"inetOrgPerson", "person"},
			"uid":          "ada",
			"cn":           "Ada Lovelace",
			"sn":           "Lovelace é",
			"mail":         "ada@example.org",
			"userPassword": "{SSHA}dWPYVLquW8ppio1mmGerCmhu0yxw4OfB",
			"memberOf":     []any{"cn=admins,ou=groups,dc=example,dc=org"},
			"jpegPhoto":    []byte{0xff, 0xd8, 0xff, 0xe0},
		}},
		{line: 17, fields: map[string]any{"dn": "uid=bob,ou=people,dc=example,dc=org", "uid": "bob", "mail": []any{"bob@example.org", "robert@example.org"}}},
		{line: 22, errHas: "missing : in line"},
		{line: 26, errHas: "illegal base64"},
		{line: 30, errHas: "is a change record"},
		{line: 33, errHas: "line 35 gives a value by URL"},
		{line: 37, fields: map[string]any{"dn": "uid=gus,ou=people,dc=example,dc=org", "uid": "gus", "mail": "gus@example.org"}},
	}
	if len(recs) != len(wants) {
		t.Fatalf("records: got %d, want %d: %+v", len(recs), len(wants), recs)
	}
	for i, w := range wants {
		r := recs[i]
		if r.Row != i+1 || r.Line != w.line {
			t.Errorf("record %d: got row %d line %d, want row %d line %d", i, r.Row, r.Line, i+1, w.line)
		}
		if w.errHas != "" {
			var se *strategies.Error
			if !errors.As(r.Err, &se) || se.Code != strategies.CodeMalformedRecord || se.Line != w.line || !strings.Contains(se.Message, w.errHas) {
				t.Errorf("record %d: got error %v, want a malformed record at line %d saying %q", i, r.Err, w.line, w.errHas)
			}
			if r.Err != nil && strings.Contains(r.Err.Error(), "c2VjcmV0") {
				t.Errorf("record %d: the error repeats the line's value: %v", i, r.Err)
			}
			continue
		}
		if r.Err != nil {
			t.Errorf("record %d: unexpected error %v", i, r.Err)
		}
		if !reflect.DeepEqual(r.Fields, w.fields) {
			t.Errorf("record %d fields:\ngot  %#v\nwant %#v", i, r.Fields, w.fields)
		}
	}

	// Resuming after a record reads the next one.
	var next []Record
	if err := src.Read(context.Background(), recs[1].Pos, func(r Record) error { next = append(next, r); return nil }); err != nil {
		t.Fatalf("resume: %v", err)
	}
	if len(next) != 5 || next[0].Row != 3 || next[0].Line != 22 || next[4].Fields["uid"] != "gus" {
		t.Errorf("resume after row 2: got %d records starting at row %d line %d, want 5 from row 3 line 22", len(next), next[0].Row, next[0].Line)
	}

	// Lookups find entries by attribute, ignoring case.
	found, err := src.Find(context.Background(), "mail", "GUS@example.org")
	if err != nil || len(found) != 1 || found[0].Row != 7 || found[0].Fields["uid"] != "gus" {
		t.Errorf("Find mail: got %+v, %v; want row 7 (gus)", found, err)
	}
	n, exact, err := src.Count(context.Background())
	if err != nil || n != 7 || !exact {
		t.Errorf("Count: got %d %v %v, want 7 exact", n, exact, err)
	}
	sch, err := src.Describe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cols := map[string]string{}
	for _, c := range sch.Tables[0].Columns {
		cols[c.Name] = c.Type
	}
	if cols["dn"] != "string" || cols["mail"] != "list" || cols["memberOf"] != "list" || cols["jpegPhoto"] != "binary" || sch.Tables[0].Columns[0].Name != "dn" {
		t.Errorf("Describe columns: got %v, want dn first, mail and memberOf lists, jpegPhoto binary", sch.Tables[0].Columns)
	}
}

// TestLDIFOpen opens LDIF sources through a plan, as the CLI does.
func TestLDIFOpen(t *testing.T) {
	path := writeFile(t, "users.ldif", "dn: uid=a,dc=x\nuid: a\nmail: a@x.org\n")
	p := &strategies.Plan{Source: strategies.SourceSpec{Kind: strategies.SourceLDIF, Path: path}}
	src, err := Open(context.Background(), p)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer src.Close()
	recs, err := src.(Sampler).Sample(context.Background(), 5)
	if err != nil || len(recs) != 1 || recs[0].Fields["mail"] != "a@x.org" {
		t.Errorf("Sample: got %+v, %v", recs, err)
	}
	p.Source.Path = path + ".missing"
	if _, err := Open(context.Background(), p); strategies.CodeOf(err) != strategies.CodeSource {
		t.Errorf("missing file: got %v, want a source error", err)
	}
}
