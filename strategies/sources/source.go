// Package sources reads legacy users from databases (Postgres, MySQL/MariaDB, SQLite)
// and files (CSV, JSON, NDJSON, Auth0 and Firebase exports) as a stream of records in a
// stable order, with constant memory and a position to resume from.
//
// Open builds a Source from a plan. Beyond Read, a source may offer optional
// capabilities, each a small interface callers test for with a type assertion:
// Counter, Describer, Sampler, Finder and HashConfiger; the var _ guards below say
// which reader offers which.
package sources

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/cutover/cutover/strategies"
)

// Record is one row of a legacy source.
type Record struct {
	Row  int    // 1-based record number in stable order (header excluded); stays the same across resumes
	Line int    // files: the physical line where the record starts; 0 for databases
	Pos  string // resume position: Read(ctx, rec.Pos, ...) continues with the next record
	// Fields maps a column name to its value: string, int64, float64, bool, time.Time,
	// []byte, []any or nil. Nested JSON objects are flattened to dotted paths
	// ("password.password_hash").
	Fields map[string]any
	// Err is set for a record that could not be parsed (a CSV record with a stray quote
	// or the wrong number of fields, an NDJSON line that is not JSON). It is a
	// *strategies.Error naming the row and line; Fields holds whatever could be read
	// (possibly nothing). The stream goes on after such a record: callers count it as an
	// invalid row and continue, which is why it is a field and not Read's error.
	Err error
}

// Source streams a legacy users table or export.
type Source interface {
	// Read calls fn for each record in stable order, beginning after position `after`
	// ("" = from the start). It stops at the first error fn returns and returns it.
	// Records that cannot be parsed are passed to fn with Err set; Read itself fails only
	// when the source as a whole cannot be read (I/O, connection, context).
	Read(ctx context.Context, after string, fn func(Record) error) error
	Close() error
}

// Counter is a source that can count its records.
type Counter interface {
	// Count returns the number of records; exact is false when n is an estimate
	// (large database tables, where an exact count would scan the table).
	Count(ctx context.Context) (n int64, exact bool, err error)
}

// Describer is a source that can describe itself for the wizard and preflight.
type Describer interface {
	Describe(ctx context.Context) (*Schema, error)
}

// Sampler is a source that can return its first records cheaply.
type Sampler interface {
	// Sample returns the first n records in stable order (fewer when the source is smaller).
	Sample(ctx context.Context, n int) ([]Record, error)
}

// Finder is a source that can look records up by a column's value, ignoring case.
// The lazy bridge uses it to find a user by email at sign-in.
type Finder interface {
	// Find returns the records whose column equals value, compared case-insensitively,
	// in stable order. Database sources return Row 0 and an empty Pos (numbering a row
	// would need a scan); file sources return the record's real Row, Line and Pos.
	Find(ctx context.Context, column, value string) ([]Record, error)
}

// Schema describes a source: its kind, version and tables. File sources have one
// table named after the file.
type Schema struct {
	Kind    string  // the plan's source kind
	Version string  // server version for databases, file format for files (e.g. "csv (;)")
	Tables  []Table // databases: every user table visible; files: one
}

// Table is a table (or the records of a file) with its columns.
type Table struct {
	Name          string
	EstimatedRows int64 // -1 when unknown
	Columns       []Column
}

// Column is a column of a table or a field seen in a file's first records.
type Column struct {
	Name       string
	Type       string // database type name; for files the JSON/CSV type seen ("string", "number", ...)
	Nullable   bool
	PrimaryKey bool
}

var (
	_ Counter   = (*sqlSource)(nil)
	_ Describer = (*sqlSource)(nil)
	_ Sampler   = (*sqlSource)(nil)
	_ Finder    = (*sqlSource)(nil)

	_ Counter   = (*csvSource)(nil)
	_ Describer = (*csvSource)(nil)
	_ Sampler   = (*csvSource)(nil)
	_ Finder    = (*csvSource)(nil)

	_ Counter   = (*jsonSource)(nil)
	_ Describer = (*jsonSource)(nil)
	_ Sampler   = (*jsonSource)(nil)
	_ Finder    = (*jsonSource)(nil)

	_ HashConfiger = (*jsonSource)(nil)

	_ Counter   = (*ldifSource)(nil)
	_ Describer = (*ldifSource)(nil)
	_ Sampler   = (*ldifSource)(nil)
	_ Finder    = (*ldifSource)(nil)

	_ Counter   = (*ldapSource)(nil)
	_ Describer = (*ldapSource)(nil)
	_ Sampler   = (*ldapSource)(nil)
	_ Finder    = (*ldapSource)(nil)
)

// Open opens the source a plan describes. ${VAR} references in the DSN and paths are
// expanded; relative paths are resolved against the plan file's directory. Errors are
// *strategies.Error with Code CodeSource (or CodePlan for an unset variable) saying
// how to fix the plan: a wrong DSN, a missing file, a table that is not there (with
// the tables that are).
func Open(ctx context.Context, p *strategies.Plan) (Source, error) {
	kind, ok := strategies.SourceKindOf(p.Source.Kind)
	if !ok {
		return nil, unknownKind(p)
	}
	return readers[kind.Reader](ctx, p, kind)
}

// sourcePath resolves source.path and checks that it is a readable regular file.
func sourcePath(p *strategies.Plan) (string, error) {
	if p.Source.Path == "" {
		return "", &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.path", Message: fmt.Sprintf("missing; a %s source needs the file's path", p.Source.Kind)}
	}
	path, err := p.Resolve("source.path", p.Source.Path)
	if err != nil {
		return "", err
	}
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "", &strategies.Error{Code: strategies.CodeSource, File: path, Field: "source.path", Message: "file not found; check source.path (relative paths are resolved against the plan file's directory)"}
	case err != nil:
		return "", &strategies.Error{Code: strategies.CodeSource, File: path, Field: "source.path", Message: "cannot read the file", Err: err}
	case fi.IsDir():
		return "", &strategies.Error{Code: strategies.CodeSource, File: path, Field: "source.path", Message: "is a directory; give the export file itself"}
	}
	return path, nil
}

// errStop ends a Read early from inside fn (Sample).
var errStop = errors.New("stop reading")

// sample reads the first n records of src.
func sample(ctx context.Context, src Source, n int) ([]Record, error) {
	if n <= 0 {
		return nil, nil
	}
	out := make([]Record, 0, min(n, 1000))
	err := src.Read(ctx, "", func(r Record) error {
		out = append(out, r)
		if len(out) >= n {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return out, err
	}
	return out, nil
}

// badPos is the error for a resume position this source did not produce.
func badPos(pos string, err error) error {
	return &strategies.Error{Code: strategies.CodeSource, Field: "resume", Message: fmt.Sprintf("resume position %q was not written by this source; start again without --resume", pos), Err: err}
}
