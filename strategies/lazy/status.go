package lazy

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/mapping"
	"github.com/cutover/cutover/strategies/sources"
)

// ReasonSwept is the reason sweep gives for leaving out a user the bridge migrated.
const ReasonSwept = "migrated_lazily: verified by the bridge, so the IdP already has this user"

// Status is the progress of a lazy migration: how many legacy users the bridge has
// verified and how many are still only in the legacy store.
type Status struct {
	Total     int64   `json:"total"`     // records in the legacy source
	Migrated  int64   `json:"migrated"`  // of which the bridge has verified
	Remaining int64   `json:"remaining"` // Total - Migrated - Swept: what a sweep would import
	Percent   float64 `json:"percent"`   // Migrated / Total, 0..100
	// Invalid counts the remaining records that cannot be mapped or validated; a sweep
	// reports them as invalid rather than importing them.
	Invalid int64 `json:"invalid"`
	// NotInSource counts users the bridge verified that the source no longer has.
	NotInSource int64      `json:"not_in_source"`
	PerDay      []DayCount `json:"per_day"`
	Store       string     `json:"store"`
	// Swept counts the users the last sweep put at the IdP (imported, or found there)
	// that the bridge had not verified; Sweep is that sweep, nil when none has run.
	Swept int64      `json:"swept"`
	Sweep *SweepInfo `json:"sweep,omitempty"`

	plan string // the plan file, for the commands Summary suggests
}

// SweepInfo is the last sweep of a plan, as its run directory records it.
type SweepInfo struct {
	RunDir   string    `json:"run_dir"`
	Started  time.Time `json:"started"`
	Finished bool      `json:"finished"` // false: it was stopped; 'cutover sweep --resume' continues it
}

// GetStatus compares the tracking store with the legacy source. It reads the whole
// source once (constant memory besides the set of migrated users). A nil store means
// nothing has been recorded yet.
func GetStatus(ctx context.Context, p *strategies.Plan, store *Store) (*Status, error) {
	m, err := store.Migrated(ctx)
	if err != nil {
		return nil, err
	}
	perDay, err := store.PerDay(ctx)
	if err != nil {
		return nil, err
	}
	path := ""
	if store != nil {
		path = store.path
	}
	// Duplicates are tracked as bulk tracks them, so Invalid is what a sweep would report.
	mapper, err := mapping.New(p, mapping.Options{})
	if err != nil {
		return nil, err
	}
	defer mapper.Close()
	src, err := sources.Open(ctx, p)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	st := &Status{PerDay: perDay, Store: path, plan: cmp.Or(p.File, "PLAN")}
	if st.PerDay == nil {
		st.PerDay = []DayCount{}
	}
	swept, err := lastSweep(p, st)
	if err != nil {
		return nil, err
	}
	err = src.Read(ctx, "", func(r sources.Record) error {
		st.Total++
		if r.Err != nil {
			st.Invalid++
			return nil
		}
		u, errs := mapper.Map(r)
		switch {
		case m.Has(u):
			st.Migrated++
		case swept.has(u.LegacyID, r.Row):
			st.Swept++
		case len(errs) > 0:
			st.Invalid++
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the legacy source: %w", err)
	}
	st.Remaining = st.Total - st.Migrated - st.Swept
	if st.Total > 0 {
		st.Percent = math.Round(1000*float64(st.Migrated)/float64(st.Total)) / 10
	}
	st.NotInSource = max(0, int64(m.Users)-st.Migrated)
	return st, nil
}

// sweptSet holds the users a sweep put at the IdP: by legacy id, or by row number where
// the plan maps no legacy id.
type sweptSet struct {
	ids  map[string]bool
	rows map[int]bool
}

func (s sweptSet) has(legacyID string, row int) bool {
	if legacyID != "" {
		return s.ids[legacyID]
	}
	return s.rows[row]
}

// lastSweep reads the plan's last sweep (not a dry run) into st.Sweep and returns the
// users it put at the IdP: those it inserted or updated, and those it found there
// (skipped with the IdP's user id) other than the ones the bridge had migrated.
func lastSweep(p *strategies.Plan, st *Status) (sweptSet, error) {
	set := sweptSet{ids: map[string]bool{}, rows: map[int]bool{}}
	dir, ri, err := bulk.LastRun(p)
	if err != nil || dir == "" {
		return set, err
	}
	st.Sweep = &SweepInfo{RunDir: dir, Started: ri.Started, Finished: bulk.Finished(dir)}
	err = bulk.EachFinal(dir, func(l *bulk.Line) error {
		at := l.Outcome == strategies.OutcomeInserted || l.Outcome == strategies.OutcomeUpdated ||
			l.Outcome == strategies.OutcomeSkipped && l.UserID != "" && l.Reason != ReasonSwept
		switch {
		case !at:
		case l.LegacyID != "":
			set.ids[l.LegacyID] = true
		default:
			set.rows[l.Row] = true
		}
		return nil
	})
	if err != nil {
		return set, fmt.Errorf("read the last sweep in %s: %w", dir, err)
	}
	return set, nil
}

// Sweep imports, through the bulk runner r, every legacy user the IdP does not hold yet,
// so the old system can be switched off. Hashes travel where the target takes their
// format, otherwise bulk.unsupported_hash decides. Users the bridge verified are sent
// too, with upsert=false: the IdP skips them (recorded with ReasonSwept), and one the
// IdP failed to save after the bridge said yes is imported rather than lost (counted in
// Report.Rescued). The store is read once, at the start: a user who signs in during the
// sweep already exists at the IdP and is skipped there. A nil store means nobody has
// been verified.
func Sweep(ctx context.Context, p *strategies.Plan, store *Store, r *bulk.Runner, o strategies.RunOptions) (*strategies.Report, error) {
	m, err := store.Migrated(ctx)
	if err != nil {
		return nil, err
	}
	run := *r
	run.Known = func(u *strategies.User) string {
		if m.Has(u) {
			return ReasonSwept
		}
		return ""
	}
	rep, err := run.Run(ctx, p, o)
	if err != nil {
		return nil, err
	}
	rep.Strategy = strategies.StrategyLazy
	for i, s := range rep.NextSteps {
		// Bulk's advice for hashes the target cannot take; this already is the lazy strategy.
		s = strings.Replace(s, "; the lazy strategy would keep their passwords", "; running the bridge longer before the sweep lets more of them keep their old password", 1)
		// Bulk's retry is `cutover run --only-failed`, which for a lazy plan is the
		// pre-import (Kratos) or a refusal: a sweep is retried by sweeping again.
		if failed, _, ok := strings.Cut(s, "; once the cause is fixed, retry just them: cutover run"); ok {
			s = fmt.Sprintf("%s; once the cause is fixed, run the sweep again: cutover sweep --plan %s (the users it moved are skipped there)", failed, cmp.Or(p.File, "PLAN"))
		}
		rep.NextSteps[i] = s
	}
	if rep.Rescued > 0 {
		rep.NextSteps = append(rep.NextSteps, fmt.Sprintf("%d users the bridge had verified were missing at the IdP (it answered the hook but did not save them); the sweep imported them: look for \"rescued\": true in %s, and check the IdP's logs", rep.Rescued, rep.Files["outcomes"]))
	}
	if !o.DryRun && rep.Failed == 0 && rep.Invalid == 0 {
		rep.NextSteps = append(rep.NextSteps, "every legacy user is now at the IdP: turn the IdP's migration hook off, then stop 'cutover bridge'")
	}
	return rep, nil
}

// NotARun is what 'cutover run' answers for a lazy plan: a lazy migration is a service
// plus a final sweep, not one run; the error says which commands do the work.
func NotARun(p *strategies.Plan) error {
	return &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "strategy", Message: fmt.Sprintf(
		"a lazy plan is not run in one go: start 'cutover bridge --plan %s' and point the IdP at it, "+
			"watch 'cutover status --plan %[1]s', and finish with 'cutover sweep --plan %[1]s' (which takes --dry-run, --resume and --json); "+
			"'cutover rehearse --plan %[1]s' tries it all against the mock IdP (see 'cutover bridge --help')", p.File)}
}
