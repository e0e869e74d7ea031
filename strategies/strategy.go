package strategies

import (
	"context"
	"time"
)

// Runner runs a plan's strategy. The wizard is handed one; `cutover run` calls one.
type Runner interface {
	Run(ctx context.Context, p *Plan, o RunOptions) (*Report, error)
}

// RunOptions are the per-run choices that are not part of the plan.
type RunOptions struct {
	DryRun     bool           // do everything but the writes
	Resume     bool           // continue the interrupted run of this plan
	OnlyFailed string         // retry the failed rows of this earlier run directory
	Progress   func(Progress) // called every few hundred rows and at the end; may be nil
}

// Progress is a snapshot of a running cutover.
type Progress struct {
	Phase      string            // e.g. "reading", "importing", "polling", "write-back"
	Total      int64             // expected rows, or -1 when unknown
	Done       int64             // rows with a final outcome
	Counts     map[Outcome]int64 // rows per outcome so far
	Retries    int64             // requests retried so far
	Rate       float64           // rows per second over the run
	ETA        time.Duration     // 0 when unknown
	LastErrors []string          // the most recent failures, newest last (no secrets)
	// Unit is what Done and Total count: "rows" when empty, e.g. "sign-ins".
	Unit string
	// Note says in a sentence what the phase does, for a screen to show under it.
	Note string
}

// Report is the end of a run: counts that reconcile (Rows = Inserted + Updated +
// Skipped + Failed + Invalid) and where the details are.
type Report struct {
	Strategy  string            `json:"strategy"`
	Rows      int64             `json:"rows"`
	Inserted  int64             `json:"inserted"`
	Updated   int64             `json:"updated"`
	Skipped   int64             `json:"skipped"`
	Failed    int64             `json:"failed"`
	Invalid   int64             `json:"invalid"`
	Retries   int64             `json:"retries"`
	DryRun    bool              `json:"dry_run,omitempty"`
	RunDir    string            `json:"run_dir,omitempty"`
	Files     map[string]string `json:"files,omitempty"`   // name -> path: outcomes, failures_csv, failures_json, summary_md
	Reasons   map[string]int64  `json:"reasons,omitempty"` // failed/invalid/skipped rows by reason
	Duration  time.Duration     `json:"duration_ns"`
	NextSteps []string          `json:"next_steps,omitempty"`

	// WithoutPassword counts inserted users that reached the target with no password
	// hash, whatever the cause (no column, an empty value, an unusable hash, a format the
	// target cannot take); they are also in Inserted.
	WithoutPassword int64 `json:"without_password,omitempty"`
	// Warnings counts rows whose optional fields were dropped, by field.
	Warnings map[string]int64 `json:"warnings,omitempty"`
	// Uncertain counts skipped rows whose user was found at the target without proof
	// that this run created it (after a lost answer); undo leaves them. Also in Skipped.
	Uncertain int64 `json:"uncertain,omitempty"`
	// Rescued counts inserted users the run expected the target to hold already (the
	// lazy sweep: verified by the bridge, yet missing at the IdP); also in Inserted.
	Rescued int64 `json:"rescued,omitempty"`
}

// Reconciles reports whether every input row is accounted for.
func (r *Report) Reconciles() bool {
	return r.Rows == r.Inserted+r.Updated+r.Skipped+r.Failed+r.Invalid
}
