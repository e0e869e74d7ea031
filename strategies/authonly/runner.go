// Package authonly is the authentication-only strategy: the IdP takes over sign-in only.
// It imports identifiers and mapped profile fields (never passwords) through the bulk
// runner, collects each row's IdP user id from the outcome log, and writes it back into
// a column of the legacy users table (adding the column when absent) or, for file
// sources, into a mapping file. Apps then map IdP sessions to their own users with
// package authonly/middleware.
package authonly

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
)

// Runner runs the authonly strategy; it implements strategies.Runner.
type Runner struct {
	// OpenTarget connects to the plan's target, as bulk.Runner.OpenTarget does.
	OpenTarget func(ctx context.Context, p *strategies.Plan) (*idp.Target, error)
	Log        *slog.Logger // nil discards
	// MappingFile, when set, sends the write-back to this CSV file whatever the source
	// is, leaving the legacy table alone (rehearsals use it for server databases).
	MappingFile string
}

var _ strategies.Runner = (*Runner)(nil)

// Result is a finished authonly run: the import's report and what the write-back did.
type Result struct {
	Report    *strategies.Report
	WriteBack WriteBack
}

// WriteBack describes the write-back half of a run.
type WriteBack struct {
	Into        string   `json:"into"`             // "sqlite /data/app.db table users, column idp_user_id" or the mapping file
	Column      string   `json:"column,omitempty"` // the id column (database sources)
	DDL         []string `json:"ddl,omitempty"`    // statements run to add the column (or that would run, dry run)
	MappingFile string   `json:"mapping_file,omitempty"`
	Rows        int64    `json:"rows"`      // rows with an IdP id (dry run: rows that would get one)
	Updated     int64    `json:"updated"`   // rows changed
	Unchanged   int64    `json:"unchanged"` // rows that already held their id
	DryRun      bool     `json:"dry_run,omitempty"`
	// Rate is rows written per second (database sources).
	Rate     float64       `json:"rows_per_second,omitempty"`
	Duration time.Duration `json:"duration_ns"`
}

// Run runs the plan and returns the import's report with the write-back's figures
// added to its NextSteps. Execute returns them as data instead.
func (r *Runner) Run(ctx context.Context, p *strategies.Plan, o strategies.RunOptions) (*strategies.Report, error) {
	res, err := r.Execute(ctx, p, o)
	if err != nil {
		return nil, err
	}
	res.Report.NextSteps = append(res.Report.NextSteps, res.WriteBack.Lines()...)
	return res.Report, nil
}

// ImportPlan is the plan the import half runs: p without anything about passwords, so
// no hash ever leaves the legacy store.
func ImportPlan(p *strategies.Plan) *strategies.Plan {
	return p.IdentifiersOnly()
}

// Execute imports the plan's users without passwords, then writes each row's IdP user
// id back. Running it again changes nothing; a run stopped during the write-back is
// completed by running again (committed batches stay; the rest are written).
func (r *Runner) Execute(ctx context.Context, p *strategies.Plan, o strategies.RunOptions) (*Result, error) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if p.Mapping.LegacyID.IsZero() {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "mapping.legacy_id",
			Message: "missing; authonly writes each user's IdP id back keyed by the legacy id: map legacy_id to the users table's primary key"}
	}
	toFile := r.MappingFile != "" || !strategies.IsDatabase(p.Source.Kind)
	var tbl *Table
	if !toFile {
		var err error
		if tbl, err = OpenTable(ctx, p); err != nil {
			return nil, err
		}
		defer tbl.Close()
	}

	progress := o.Progress
	if progress != nil {
		o.Progress = func(pr strategies.Progress) {
			if pr.Phase == "done" {
				pr.Phase = "imported"
			}
			progress(pr)
		}
	}
	// bulk.Runner.Run runs preflight's gate on the import plan before anything reaches
	// the target, so an authonly run refuses the same plan mistakes as run and plan check.
	br := &bulk.Runner{OpenTarget: r.OpenTarget, Log: log}
	rep, err := br.Run(ctx, ImportPlan(p), o)
	if err != nil {
		return nil, err
	}
	rep.Strategy = strategies.StrategyAuthOnly
	res := &Result{Report: rep, WriteBack: WriteBack{DryRun: o.DryRun}}
	wb := &res.WriteBack

	if o.DryRun {
		wb.Rows = rep.Inserted + rep.Updated + rep.Skipped
	} else {
		pairs, err := collectPairs(rep.RunDir)
		if err != nil {
			return nil, err
		}
		wb.Rows = int64(len(pairs))
		if err := r.writeBack(ctx, p, tbl, pairs, wb, progress); err != nil {
			return nil, err
		}
	}
	if toFile {
		path, err := r.mappingPath(p)
		if err != nil {
			return nil, err
		}
		wb.Into, wb.MappingFile = path, path
		if rep.Files == nil {
			rep.Files = map[string]string{}
		}
		rep.Files["mapping_file"] = path
	} else {
		wb.Column = tbl.Column
		wb.Into = fmt.Sprintf("%s table %s, column %s", tbl.Where, tbl.Name, tbl.Column)
		if o.DryRun {
			wb.DDL = tbl.MigrationDDL()
		}
	}
	if progress != nil && !o.DryRun {
		progress(strategies.Progress{Phase: "done", Total: wb.Rows, Done: wb.Rows, Rate: wb.Rate})
	}
	log.Info("authonly write-back", "into", wb.Into, "rows", wb.Rows, "updated", wb.Updated, "unchanged", wb.Unchanged, "dry_run", o.DryRun)
	return res, nil
}

func (r *Runner) mappingPath(p *strategies.Plan) (string, error) {
	if r.MappingFile != "" {
		return r.MappingFile, nil
	}
	path := p.AuthOnly.MappingFile
	if path == "" {
		path = DefaultMappingFile
	}
	return p.Resolve("authonly.mapping_file", path)
}

// writeBack writes pairs into the table (adding the column first) or the mapping file.
func (r *Runner) writeBack(ctx context.Context, p *strategies.Plan, tbl *Table, pairs []Pair, wb *WriteBack, progress func(strategies.Progress)) error {
	if tbl == nil {
		path, err := r.mappingPath(p)
		if err != nil {
			return err
		}
		if err := WriteMappingFile(path, pairs); err != nil {
			return err
		}
		wb.Updated = int64(len(pairs))
		return nil
	}
	ddl, err := tbl.EnsureColumn(ctx)
	if err != nil {
		return err
	}
	wb.DDL = ddl
	total := int64(len(pairs))
	started := time.Now()
	st, err := tbl.Write(ctx, pairs, p.AuthOnly.BatchSize, func(done int64) {
		if progress == nil {
			return
		}
		pr := strategies.Progress{Phase: "write-back", Total: total, Done: done}
		if el := time.Since(started).Seconds(); el > 0 {
			pr.Rate = float64(done) / el
		}
		progress(pr)
	})
	wb.Updated, wb.Unchanged, wb.Duration = st.Updated, st.Unchanged, st.Duration
	if st.Duration > 0 {
		wb.Rate = float64(st.Rows) / st.Duration.Seconds()
	}
	if err != nil {
		if ctx.Err() != nil {
			return &strategies.Error{Code: strategies.CodeCancelled, Field: "authonly",
				Message: fmt.Sprintf("write-back stopped after %d of %d rows were updated; run the plan again to finish it (rows that hold their id already are left alone)", st.Updated, total),
				Err:     ctx.Err()}
		}
		return err
	}
	return nil
}

// collectPairs reads the final outcome of every row and keeps those that carry an IdP
// user id: inserted, updated, and skipped (the user existed; the id is theirs).
func collectPairs(runDir string) ([]Pair, error) {
	var out []Pair
	err := bulk.EachFinal(runDir, func(l *bulk.Line) error {
		switch l.Outcome {
		case strategies.OutcomeInserted, strategies.OutcomeUpdated, strategies.OutcomeSkipped:
		default:
			return nil
		}
		if l.UserID == "" || l.LegacyID == "" {
			return nil
		}
		out = append(out, Pair{LegacyID: l.LegacyID, IdPUserID: l.UserID})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("collect IdP ids from %s: %w", runDir, err)
	}
	return out, nil
}

// Lines renders the write-back for a report's next steps.
func (wb *WriteBack) Lines() []string {
	var out []string
	if wb.DryRun {
		if len(wb.DDL) > 0 {
			out = append(out, "dry run: the write-back would first run: "+strings.Join(wb.DDL, "; "))
		}
		return append(out, fmt.Sprintf("dry run: %d rows would get their IdP user id in %s", wb.Rows, wb.Into))
	}
	if len(wb.DDL) > 0 {
		out = append(out, "added the id column: "+strings.Join(wb.DDL, "; "))
	}
	if wb.MappingFile != "" {
		return append(out, fmt.Sprintf("wrote %d legacy id -> IdP user id pairs to %s", wb.Rows, wb.MappingFile))
	}
	return append(out, fmt.Sprintf("write-back into %s: %d rows with an IdP id, %d updated, %d already held it (%.0f rows/s)",
		wb.Into, wb.Rows, wb.Updated, wb.Unchanged, wb.Rate))
}
