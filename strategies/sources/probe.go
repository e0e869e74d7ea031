package sources

import (
	"context"

	"github.com/cutover/cutover/strategies"
)

// Probe opens the plan's source and describes it: the live "test connection".
func Probe(ctx context.Context, p *strategies.Plan) (strategies.SourceProbe, error) {
	if err := checkContent(p); err != nil {
		return strategies.SourceProbe{}, err
	}
	src, err := Open(ctx, p)
	if err != nil {
		return strategies.SourceProbe{}, err
	}
	defer src.Close()
	r := strategies.SourceProbe{Rows: -1}
	if d, ok := src.(Describer); ok {
		s, err := d.Describe(ctx)
		if err != nil {
			return r, err
		}
		r.Version = s.Version
		if r.Version != "" && r.Version[0] >= '0' && r.Version[0] <= '9' {
			k, _ := strategies.SourceKindOf(p.Source.Kind)
			r.Version = k.Server + " " + r.Version // "3.46.0" says little alone
		}
		for _, t := range s.Tables {
			ti := strategies.TableInfo{Name: t.Name, Rows: t.EstimatedRows}
			for _, c := range t.Columns {
				ti.Columns = append(ti.Columns, c.Name)
			}
			r.Tables = append(r.Tables, ti)
		}
	}
	if c, ok := src.(Counter); ok && !strategies.IsDatabase(p.Source.Kind) {
		if n, _, err := c.Count(ctx); err == nil {
			r.Rows = n
		}
	}
	return r, nil
}
