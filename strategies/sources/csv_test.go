package sources

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/cutover/cutover/strategies"
)

// writeFile writes content to name in a temp dir and returns the path.
func writeFile(t testing.TB, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func filePlan(kind, path string) *strategies.Plan {
	return &strategies.Plan{Version: 1, Strategy: "bulk", Source: strategies.SourceSpec{Kind: kind, Path: path}}
}

func openPlan(t testing.TB, p *strategies.Plan) Source {
	t.Helper()
	src, err := Open(context.Background(), p)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	return src
}

func readAll(t testing.TB, src Source, after string) []Record {
	t.Helper()
	var out []Record
	if err := src.Read(context.Background(), after, func(r Record) error {
		out = append(out, r)
		return nil
	}); err != nil {
		t.Fatalf("Read(%q): %v", after, err)
	}
	return out
}

func TestCSVFormats(t *testing.T) {
	want := []map[string]any{
		{"id": "1", "email": "ann@example.com", "name": "Ann"},
		{"id": "2", "email": "bob@example.com", "name": "Bob, Jr."},
	}
	tests := []struct {
		name      string
		content   string
		delimiter string
		wantLines []int
	}{
		{"comma LF", "id,email,name\n1,ann@example.com,Ann\n2,bob@example.com,\"Bob, Jr.\"\n", "", []int{2, 3}},
		{"BOM CRLF (Excel)", "\ufeffid,email,name\r\n1,ann@example.com,Ann\r\n2,bob@example.com,\"Bob, Jr.\"\r\n", "", []int{2, 3}},
		{"semicolon", "id;email;name\n1;ann@example.com;Ann\n2;bob@example.com;Bob, Jr.\n", "", []int{2, 3}},
		{"tab", "id\temail\tname\n1\tann@example.com\tAnn\n2\tbob@example.com\tBob, Jr.\n", "", []int{2, 3}},
		{"pipe", "id|email|name\n1|ann@example.com|Ann\n2|bob@example.com|Bob, Jr.\n", "", []int{2, 3}},
		{"given delimiter", "id;email;name\n1;ann@example.com;Ann\n2;bob@example.com;Bob, Jr.\n", ";", []int{2, 3}},
		{"no final newline, blank line", "id,email,name\n1,ann@example.com,Ann\n\n2,bob@example.com,\"Bob, Jr.\"", "", []int{2, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filePlan("csv", writeFile(t, "users.csv", tt.content))
			p.Source.Delimiter = tt.delimiter
			recs := readAll(t, openPlan(t, p), "")
			if len(recs) != len(want) {
				t.Fatalf("got %d records, want %d", len(recs), len(want))
			}
			for i, r := range recs {
				if r.Err != nil {
					t.Errorf("record %d: unexpected Err %v", i+1, r.Err)
				}
				if r.Row != i+1 {
					t.Errorf("record %d: got Row %d, want %d", i+1, r.Row, i+1)
				}
				if r.Line != tt.wantLines[i] {
					t.Errorf("record %d: got Line %d, want %d", i+1, r.Line, tt.wantLines[i])
				}
				if !reflect.DeepEqual(r.Fields, want[i]) {
					t.Errorf("record %d: got %v, want %v", i+1, r.Fields, want[i])
				}
			}
		})
	}
}

// TestCSVBadRows: broken records come back with Err naming row and line, and the
// stream goes on past them.
func TestCSVBadRows(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	content := "\ufeffid,email,name\r\n" +
		"1,ann@example.com,Ann\r\n" + // row 1, line 2
		"2,ANN@example.com,Ann Again\r\n" + // row 2, line 3 (a duplicate for mapping; fine here)
		"3,\"multi\r\nline@example.com\",Multi\r\n" + // row 3, lines 4-5
		"4,bad\"quote@example.com,Q\r\n" + // row 4, line 6: bare quote
		"5,short@example.com\r\n" + // row 5, line 7: 2 fields
		"6,,Empty\r\n" + // row 6, line 8
		"7,long@example.com," + long + "\r\n" + // row 7, line 9
		"8,last@example.com,Last\r\n" // row 8, line 10
	src := openPlan(t, filePlan("csv", writeFile(t, "users.csv", content)))
	recs := readAll(t, src, "")
	type res struct {
		row, line int
		code      strategies.Code
		email     any
	}
	want := []res{
		{1, 2, "", "ann@example.com"},
		{2, 3, "", "ANN@example.com"},
		{3, 4, "", "multi\nline@example.com"},
		{4, 6, strategies.CodeMalformedRecord, nil},
		{5, 7, strategies.CodeMalformedRecord, "short@example.com"},
		{6, 8, "", ""},
		{7, 9, "", "long@example.com"},
		{8, 10, "", "last@example.com"},
	}
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for i, w := range want {
		r := recs[i]
		got := res{r.Row, r.Line, strategies.CodeOf(r.Err), r.Fields["email"]}
		if got != w {
			t.Errorf("record %d: got %+v, want %+v", i+1, got, w)
		}
		if r.Err != nil {
			var e *strategies.Error
			if !errors.As(r.Err, &e) || e.Row != w.row || e.Line != w.line {
				t.Errorf("record %d: error %v does not name row %d line %d", i+1, r.Err, w.row, w.line)
			}
		}
	}
	if got := recs[6].Fields["name"].(string); len(got) != 10_000 {
		t.Errorf("long name: got %d characters, want 10000", len(got))
	}
	if msg := recs[4].Err.Error(); !strings.Contains(msg, "has 2 fields, the header has 3") {
		t.Errorf("field count error: got %q, want it to say 2 fields vs 3", msg)
	}
}

// TestCSVResume: reading from any record's Pos yields exactly the records after it,
// with the same rows and lines.
func TestCSVResume(t *testing.T) {
	content := "id,email,note\n1,a@x.io,\"two\nlines\"\n2,b@x.io,x\n\n3,c@x.io,\"q\"\"uote\"\n4,d\"@x.io,bad\n5,e@x.io,y\n"
	src := openPlan(t, filePlan("csv", writeFile(t, "u.csv", content)))
	all := readAll(t, src, "")
	if len(all) != 5 {
		t.Fatalf("got %d records, want 5", len(all))
	}
	for i := range all {
		t.Run(all[i].Pos, func(t *testing.T) {
			rest := readAll(t, src, all[i].Pos)
			if len(rest) != len(all)-i-1 {
				t.Fatalf("got %d records after row %d, want %d", len(rest), i+1, len(all)-i-1)
			}
			for j, r := range rest {
				w := all[i+1+j]
				if r.Row != w.Row || r.Line != w.Line || r.Pos != w.Pos || !reflect.DeepEqual(r.Fields, w.Fields) {
					t.Errorf("got %+v, want %+v", r, w)
				}
			}
		})
	}
}

func TestCSVCapabilities(t *testing.T) {
	content := "\ufeffid;email;name\r\n1;Ann@Example.com;Ann\r\n2;bob@example.com;Bob\r\n3;ann@example.COM ;Ann 2\r\n"
	src := openPlan(t, filePlan("csv", writeFile(t, "users.csv", content)))
	ctx := context.Background()

	n, exact, err := src.(Counter).Count(ctx)
	if err != nil || n != 3 || !exact {
		t.Errorf("Count: got %d, %v, %v; want 3, true, nil", n, exact, err)
	}
	found, err := src.(Finder).Find(ctx, "email", " ANN@example.com")
	if err != nil {
		t.Fatalf("Find: %v", err)
	}
	var rows []int
	for _, r := range found {
		rows = append(rows, r.Row)
	}
	if !reflect.DeepEqual(rows, []int{1, 3}) {
		t.Errorf("Find rows: got %v, want [1 3]", rows)
	}
	if found, _ := src.(Finder).Find(ctx, "email", "nobody@example.com"); len(found) != 0 {
		t.Errorf("Find unknown: got %d records, want 0", len(found))
	}
	if _, err := src.(Finder).Find(ctx, "mail", "x"); err == nil || !strings.Contains(err.Error(), "id, email, name") {
		t.Errorf("Find unknown column: got %v, want an error listing the columns", err)
	}
	s, err := src.(Describer).Describe(ctx)
	if err != nil {
		t.Fatalf("Describe: %v", err)
	}
	if got := len(s.Tables[0].Columns); got != 3 || s.Tables[0].Columns[0].Name != "id" {
		t.Errorf("Describe columns: got %+v, want id, email, name", s.Tables[0].Columns)
	}
	if s.Tables[0].EstimatedRows != 3 {
		t.Errorf("Describe estimated rows: got %d, want 3", s.Tables[0].EstimatedRows)
	}
	sm, err := src.(Sampler).Sample(ctx, 2)
	if err != nil || len(sm) != 2 || sm[1].Row != 2 {
		t.Errorf("Sample(2): got %d records (%v), want rows 1 and 2", len(sm), err)
	}
}

func TestOpenFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		plan    *strategies.Plan
		content string
		want    string
	}{
		{"missing file", filePlan("csv", filepath.Join(dir, "nope.csv")), "", "file not found"},
		{"directory", filePlan("csv", dir), "", "is a directory"},
		{"empty csv", filePlan("csv", "empty.csv"), "", "the file is empty"},
		{"duplicate header", filePlan("csv", "dup.csv"), "id,email,email\n", `column "email" appears twice`},
		{"not json", filePlan("json", "x.json"), "id,email\n", "expected a JSON array"},
		{"unknown kind", filePlan("xls", "x.xls"), "", "not a source"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.content != "" || strings.HasPrefix(tt.name, "empty") {
				tt.plan.Source.Path = writeFile(t, tt.plan.Source.Path, tt.content)
			}
			_, err := Open(context.Background(), tt.plan)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
			if c := strategies.CodeOf(err); c != strategies.CodeSource && c != strategies.CodePlan {
				t.Errorf("got code %q, want source or plan_invalid", c)
			}
		})
	}
}

func writeFileAt(path, content string) error { return os.WriteFile(path, []byte(content), 0o600) }
