package sources

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cutover/cutover/strategies"
)

// TestFileSourcesWithByteOrderMark: exports saved by Windows tools start with a UTF-8
// BOM; the first user must be read like the others, not reported as malformed.
func TestFileSourcesWithByteOrderMark(t *testing.T) {
	tests := []struct {
		name, kind, file, content string
	}{
		{"ndjson", "ndjson", "u.ndjson", "\ufeff{\"email\": \"a@x.io\"}\n{\"email\": \"b@x.io\"}\n"},
		{"auth0 ndjson", "auth0", "u.json", "\ufeff{\"email\": \"a@x.io\"}\n{\"email\": \"b@x.io\"}\n"},
		{"json array", "json", "u.json", "\ufeff[{\"email\": \"a@x.io\"}, {\"email\": \"b@x.io\"}]"},
		{"csv", "csv", "u.csv", "\ufeffemail\na@x.io\nb@x.io\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := readAll(t, openPlan(t, filePlan(tt.kind, writeFile(t, tt.file, tt.content))), "")
			var got []string
			for _, r := range recs {
				if r.Err != nil {
					t.Errorf("row %d: got error %v, want none", r.Row, r.Err)
				}
				got = append(got, fmt.Sprint(r.Fields["email"]))
			}
			if fmt.Sprint(got) != "[a@x.io b@x.io]" {
				t.Errorf("got emails %v, want [a@x.io b@x.io]", got)
			}
		})
	}
}

// TestSQLNullKeys: a source.key column with NULLs cannot be paged through with
// `key > last`; rows would be lost or read twice. Read must refuse, naming the column.
func TestSQLNullKeys(t *testing.T) {
	tests := []struct {
		name  string
		nulls int // rows with a NULL key
		rows  int // rows with a key
	}{
		{"a few nulls", 3, 10},
		{"a page of nulls", pageSize + 1, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "legacy.db")
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE users (id INTEGER PRIMARY KEY, legacy_id INTEGER, email TEXT)`); err != nil {
				t.Fatal(err)
			}
			tx, _ := db.Begin()
			for i := 1; i <= tt.nulls+tt.rows; i++ {
				var k any
				if i > tt.nulls {
					k = i
				}
				if _, err := tx.Exec(`INSERT INTO users (id, legacy_id, email) VALUES (?, ?, ?)`, i, k, fmt.Sprintf("u%d@x.io", i)); err != nil {
					t.Fatal(err)
				}
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			p := &strategies.Plan{Version: 1, Strategy: "bulk", Source: strategies.SourceSpec{Kind: "sqlite", Path: path, Table: "users", Key: "legacy_id"}}
			src := openPlan(t, p)
			n := 0
			err = src.Read(context.Background(), "", func(Record) error { n++; return nil })
			if err == nil {
				t.Fatalf("got %d of %d rows and no error, want an error naming source.key", n, tt.nulls+tt.rows)
			}
			se, ok := err.(*strategies.Error)
			if !ok || se.Field != "source.key" {
				t.Errorf("got %v, want a *strategies.Error on source.key", err)
			}
		})
	}
}

// TestJSONWrappedArrayOfUsers: in an object wrapping the users, arrays that are not
// user objects (an empty list of warnings, a list of role names) must not be taken for
// the users, or every user would be lost or reported malformed.
func TestJSONWrappedArrayOfUsers(t *testing.T) {
	tests := []struct {
		name, content string
	}{
		{"users only", `{"users": [{"email": "a@x.io"}, {"email": "b@x.io"}]}`},
		{"empty array first", `{"warnings": [], "users": [{"email": "a@x.io"}, {"email": "b@x.io"}]}`},
		{"array of strings first", `{"roles": ["admin", ["x"]], "users": [{"email": "a@x.io"}, {"email": "b@x.io"}]}`},
		{"nested object first", `{"meta": {"list": [1]}, "data": [{"email": "a@x.io"}, {"email": "b@x.io"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := openPlan(t, filePlan("json", writeFile(t, "u.json", tt.content)))
			recs := readAll(t, src, "")
			var got []string
			for _, r := range recs {
				if r.Err != nil {
					t.Errorf("row %d: got error %v, want none", r.Row, r.Err)
				}
				got = append(got, fmt.Sprint(r.Fields["email"]))
			}
			if fmt.Sprint(got) != "[a@x.io b@x.io]" {
				t.Errorf("got emails %v, want [a@x.io b@x.io]", got)
			}
			if len(recs) == 2 {
				if rest := readAll(t, src, recs[0].Pos); len(rest) != 1 || rest[0].Fields["email"] != "b@x.io" {
					t.Errorf("resume after row 1: got %d records, want b@x.io only", len(rest))
				}
			}
		})
	}
}

// TestCSVLinesAfterBlankLinesBeforeHeader: error messages name the file's physical
// line, so blank lines above the header must be counted.
func TestCSVLinesAfterBlankLinesBeforeHeader(t *testing.T) {
	tests := []struct {
		name, content string
		lines         []int
	}{
		{"no blank lines", "email\na@x.io\nb@x.io\n", []int{2, 3}},
		{"two blank lines", "\n\nemail\na@x.io\nb@x.io\n", []int{4, 5}},
		{"bom and a blank line", "\ufeff\r\nemail\r\na@x.io\r\nb@x.io\r\n", []int{3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := readAll(t, openPlan(t, filePlan("csv", writeFile(t, "u.csv", tt.content))), "")
			var got []int
			for _, r := range recs {
				got = append(got, r.Line)
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.lines) {
				t.Errorf("got lines %v, want %v", got, tt.lines)
			}
		})
	}
}
