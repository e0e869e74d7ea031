package wizard

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/cutover/cutover/strategies"
)

// demoPlan is the fake engine's "bundled demo" plan.
func demoPlan() (*strategies.Plan, error) {
	return &strategies.Plan{
		Version:  strategies.PlanVersion,
		Strategy: strategies.StrategyBulk,
		Source:   strategies.SourceSpec{Kind: strategies.SourceSQLite, Path: "demo/users.db", Table: "users"},
		Target:   strategies.Target{Kind: strategies.TargetMockIDP, Profile: strategies.ProfileAuthgear},
	}, nil
}

var demoColumns = []string{"id", "email", "full_name", "password", "verified_at", "is_active", "member_no"}

func demoMapping() strategies.Mapping {
	return strategies.Mapping{
		LegacyID:      strategies.FieldRef{Column: "id"},
		Email:         strategies.FieldRef{Column: "email"},
		EmailVerified: strategies.FieldRef{Column: "verified_at", Transform: "verified_at"},
		Name:          strategies.FieldRef{Column: "full_name"},
		Disabled:      strategies.FieldRef{Column: "is_active", Transform: "not"},
		PasswordHash:  strategies.FieldRef{Column: "password"},
	}
}

func demoPreview() PreviewResult {
	return PreviewResult{
		Columns: []string{"row", "legacy_id", "email", "name", "password_hash"},
		Rows: [][]string{
			{"1", "1", "ada@example.com", "Ada Lovelace", "$2a$10$Q3R…"},
			{"2", "2", "grace@example.com", "Grace Hopper", "pbkdf2_sha256$260000$…"},
			{"3", "3", "not-an-email", "Alan Turing", "5f4dcc3b5aa765d61d83…"},
		},
		Total:    3,
		Invalid:  map[string]int{"invalid_email": 1},
		Examples: []InvalidExample{{Row: 3, Reason: "invalid_email", Detail: `"not-an-email" has no @`}},
		Formats: []FormatCount{
			{Format: "bcrypt", Count: 1, Importable: true},
			{Format: "django_pbkdf2_sha256", Count: 1},
			{Format: "md5", Count: 1},
		},
		Recommendation: "lazy: 2 of 3 hashes cannot be imported into an authgear target; they would need resets",
	}
}

// fakeRunner records the plan it ran and reports fixed progress and counts. When block
// is set it waits for its context to end after the first progress report.
type fakeRunner struct {
	mu    sync.Mutex
	plans []strategies.Plan
	block bool
}

func (f *fakeRunner) Run(ctx context.Context, p *strategies.Plan, o strategies.RunOptions) (*strategies.Report, error) {
	f.mu.Lock()
	f.plans = append(f.plans, *p)
	f.mu.Unlock()
	if o.Progress != nil {
		o.Progress(strategies.Progress{Phase: "importing", Total: 3, Done: 2,
			Counts: map[strategies.Outcome]int64{strategies.OutcomeInserted: 1, strategies.OutcomeInvalid: 1},
			Rate:   120, ETA: 2 * time.Second,
			LastErrors: []string{"row 3: email: \"not-an-email\" has no @"}})
	}
	if f.block {
		<-ctx.Done()
		return &strategies.Report{Strategy: p.Strategy, Rows: 3, Inserted: 1, Invalid: 1, Skipped: 1,
			Reasons: map[string]int64{"invalid_email": 1, "cancelled": 1}}, ctx.Err()
	}
	if o.Progress != nil {
		o.Progress(strategies.Progress{Phase: "importing", Total: 3, Done: 3,
			Counts: map[strategies.Outcome]int64{strategies.OutcomeInserted: 2, strategies.OutcomeInvalid: 1}})
	}
	return &strategies.Report{Strategy: p.Strategy, Rows: 3, Inserted: 2, Invalid: 1,
		RunDir: ".cutover/runs/20250101-120000", Duration: 1500 * time.Millisecond,
		Reasons: map[string]int64{"invalid_email": 1},
		Files: map[string]string{"outcomes": ".cutover/runs/20250101-120000/outcomes.ndjson",
			"failures_csv": ".cutover/runs/20250101-120000/failures.csv"}}, nil
}

func (f *fakeRunner) ran() []strategies.Plan {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]strategies.Plan(nil), f.plans...)
}

// fakeEnv is an engine made of function fields: a SQLite demo database with one users
// table, a Postgres server that accepts any DSN, and an in-process mock IdP.
func fakeEnv(runner *fakeRunner, env map[string]string) Env {
	var mu sync.Mutex
	return Env{
		Probe: func(ctx context.Context, p *strategies.Plan) (ProbeResult, error) {
			switch p.Source.Kind {
			case strategies.SourceSQLite:
				if p.Source.Path != "demo/users.db" {
					return ProbeResult{}, errors.New("open " + p.Source.Path + ": no such file; check the path")
				}
				return ProbeResult{Version: "SQLite 3.46.0", Tables: []TableInfo{{Name: "users", Rows: 3, Columns: demoColumns}, {Name: "sessions", Rows: 12}}}, nil
			case strategies.SourcePostgres:
				return ProbeResult{Version: "PostgreSQL 15.8", Tables: []TableInfo{{Name: "users", Rows: 3, Columns: demoColumns}}}, nil
			case strategies.SourceCSV:
				return ProbeResult{Version: "CSV file", Rows: 3}, nil
			}
			return ProbeResult{}, errors.New("unsupported in the fake")
		},
		Suggest: func(ctx context.Context, p *strategies.Plan) (strategies.Mapping, []string, error) {
			return demoMapping(), demoColumns, nil
		},
		Preview: func(ctx context.Context, p *strategies.Plan, n int, progress func(strategies.Progress)) (PreviewResult, error) {
			return demoPreview(), nil
		},
		CheckTarget: func(ctx context.Context, p *strategies.Plan) (string, error) {
			if p.Target.Kind == strategies.TargetMockIDP {
				return "Mock IdP ready (in-process, profile " + p.Target.Profile + ").", nil
			}
			return "Authgear at " + p.Target.URL + " accepted the key.", nil
		},
		Runner:   runner,
		SavePlan: strategies.SavePlan,
		DemoPlan: demoPlan,
		Setenv: func(k, v string) error {
			mu.Lock()
			defer mu.Unlock()
			env[k] = v
			return nil
		},
	}
}
