package sources

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/cutover/cutover/strategies"
)

// sqliteMagic opens every SQLite database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// checkContent reads the start of a file source and refuses one whose content is not
// of the plan's kind, before its reader makes columns out of binary: a SQLite
// database read as CSV offered garbage column names. It says what the file is.
func checkContent(p *strategies.Plan) error {
	k, _ := strategies.SourceKindOf(p.Source.Kind)
	if k.DSN || k.Directory || p.Source.Path == "" {
		return nil
	}
	path, err := p.Resolve("source.path", p.Source.Path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil // the reader says why it cannot open it
	}
	defer f.Close()
	head := make([]byte, 512)
	n, _ := io.ReadFull(f, head)
	head = head[:n]
	isSQLite := bytes.HasPrefix(head, sqliteMagic)
	switch {
	case isSQLite && p.Source.Kind != strategies.SourceSQLite:
		return wrongKind(p, k, "a SQLite database", strategies.SourceSQLite)
	case !isSQLite && p.Source.Kind == strategies.SourceSQLite && n > 0:
		return &strategies.Error{Code: strategies.CodeSource, File: path, Field: "source.kind",
			Message: "is not a SQLite database (it does not start with \"SQLite format 3\"); choose the kind of file it is (source.kind: csv, json, ...)"}
	case p.Source.Kind == strategies.SourceCSV && bytes.IndexByte(head, 0) >= 0:
		return &strategies.Error{Code: strategies.CodeSource, File: path, Field: "source.kind",
			Message: "is a binary file, not CSV; choose the kind of file it is"}
	}
	return nil
}

func wrongKind(p *strategies.Plan, k strategies.SourceKind, is, want string) error {
	w, _ := strategies.SourceKindOf(want)
	return &strategies.Error{Code: strategies.CodeSource, File: p.Source.Path, Field: "source.kind",
		Message: fmt.Sprintf("this is %s, not %s: choose %q (source.kind: %s)", is, kindNoun(k), w.Title, want)}
}

// kindNoun is "CSV" for "CSV file": what a file of the kind is called in a sentence.
func kindNoun(k strategies.SourceKind) string {
	if t, ok := bytes.CutSuffix([]byte(k.Title), []byte(" file")); ok {
		return string(t)
	}
	return k.Title
}
