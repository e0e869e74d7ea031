package mapping

import (
	"context"
	"errors"
	"fmt"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/sources"
)

// SuggestFor proposes a mapping from the source's columns and first records.
func SuggestFor(ctx context.Context, p *strategies.Plan) (strategies.Mapping, []string, error) {
	src, err := sources.Open(ctx, p)
	if err != nil {
		return strategies.Mapping{}, nil, err
	}
	defer src.Close()
	var cols []string
	if d, ok := src.(sources.Describer); ok {
		if s, err := d.Describe(ctx); err == nil {
			for _, t := range s.Tables {
				if len(s.Tables) == 1 || t.Name == p.Source.Table {
					for _, c := range t.Columns {
						cols = append(cols, c.Name)
					}
				}
			}
		}
	}
	var samples []sources.Record
	if sm, ok := src.(sources.Sampler); ok {
		if samples, err = sm.Sample(ctx, 20); err != nil {
			return strategies.Mapping{}, nil, fmt.Errorf("read the first records: %w", err)
		}
	}
	if len(cols) == 0 && len(samples) == 0 {
		return strategies.Mapping{}, nil, errors.New("the source has no columns or records to map")
	}
	m := Suggest(cols, samples)
	if len(cols) == 0 {
		cols = sampleColumns(samples)
	}
	return m, cols, nil
}
