package sources

import (
	"context"
	"fmt"
	"strings"

	"github.com/cutover/cutover/strategies"
)

// readers opens a source of a kind whose strategies.SourceKind names the reader: one row
// per reader. A new kind that an existing reader reads is one row in the kinds table
// (strategies/sourcekind.go); a new reader is one row here and its file.
var readers = map[string]func(ctx context.Context, p *strategies.Plan, k strategies.SourceKind) (Source, error){
	"sql": func(ctx context.Context, p *strategies.Plan, _ strategies.SourceKind) (Source, error) {
		return openSQL(ctx, p)
	},
	"csv": func(_ context.Context, p *strategies.Plan, _ strategies.SourceKind) (Source, error) {
		path, err := sourcePath(p)
		if err != nil {
			return nil, err
		}
		return openCSV(path, p.Source.Delimiter)
	},
	"json": func(_ context.Context, p *strategies.Plan, k strategies.SourceKind) (Source, error) {
		path, err := sourcePath(p)
		if err != nil {
			return nil, err
		}
		return openJSON(p, k.Name, path)
	},
	"ldif": func(_ context.Context, p *strategies.Plan, _ strategies.SourceKind) (Source, error) {
		path, err := sourcePath(p)
		if err != nil {
			return nil, err
		}
		return openLDIF(path)
	},
	"ldap": func(ctx context.Context, p *strategies.Plan, _ strategies.SourceKind) (Source, error) {
		return openLDAP(ctx, p)
	},
}

// unknownKind is the error for a source.kind that is missing or not in the table.
func unknownKind(p *strategies.Plan) error {
	var names []string
	for _, k := range strategies.SourceKinds() {
		names = append(names, k.Name)
	}
	if p.Source.Kind == "" {
		return &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.kind", Message: "missing; say what the legacy users are in (" + strings.Join(names, ", ") + ")"}
	}
	return &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "source.kind", Message: fmt.Sprintf("%q is not a source this cutover can read", p.Source.Kind)}
}
