package authonly

import "context"

// SetChunkRows caps the rows of one MySQL write-back statement, so that tests can make
// a batch span several statements.
func (t *Table) SetChunkRows(n int) { t.chunkRows = n }

// BatchSQL returns the statements (with their arguments) that Write runs for one batch
// of pairs on Postgres or MySQL, for tests that EXPLAIN them.
func (t *Table) BatchSQL(ctx context.Context, pairs []Pair) ([]string, [][]any, error) {
	build, err := t.batchSQL(ctx)
	if err != nil {
		return nil, nil, err
	}
	stmts, err := build(pairs)
	if err != nil {
		return nil, nil, err
	}
	var qs []string
	var args [][]any
	for _, s := range stmts {
		qs = append(qs, s.query)
		args = append(args, s.args)
	}
	return qs, args, nil
}
