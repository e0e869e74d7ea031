// Package bulk is the bulk strategy: read every legacy user, map and validate, pack
// import requests to the target's body limit, send them with bounded concurrency and
// retries, and record what became of every input row in a run directory that survives
// a crash (outcome log, checkpoint, lock), ending in a report whose counts reconcile.
package bulk

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/mapping"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources"
	"github.com/cutover/cutover/strategies/targets"
)

// DefaultConcurrency is the number of import jobs in flight unless bulk.concurrency says.
const DefaultConcurrency = 4

// Runner runs the bulk strategy; it implements strategies.Runner.
type Runner struct {
	// OpenTarget connects to the plan's target. nil means targets.Open (Authgear, Kratos,
	// or an already running mock IdP given by target.url); cmd/cutover supplies one that
	// can also start the bundled mock IdP in-process.
	OpenTarget func(ctx context.Context, p *strategies.Plan) (*idp.Target, error)
	Log        *slog.Logger // nil discards
	// Known, when set, is asked about every mapped row: a non-empty answer says the
	// caller believes the user already exists at the target (the lazy sweep: the bridge
	// verified them) and is the reason recorded when the target confirms it by skipping
	// the row. Known rows are still sent, always with upsert=false: a user the target
	// turns out not to hold is imported (Report.Rescued) rather than left behind, and
	// what the target holds is never overwritten. A known row whose hash the target
	// cannot take goes without its password whatever bulk.unsupported_hash says; a known
	// row that is invalid is recorded as skipped with the reason, since it cannot be sent.
	Known func(u *strategies.User) string
}

var _ strategies.Runner = (*Runner)(nil)

// Run runs the plan's bulk import (or continues, retries or rehearses it per o).
func (r *Runner) Run(ctx context.Context, p *strategies.Plan, o strategies.RunOptions) (*strategies.Report, error) {
	started := time.Now()
	log, open := r.defaults()
	if o.Resume && o.OnlyFailed != "" {
		return nil, strategies.Errorf(strategies.CodeUsage, "--resume and --only-failed do not go together; finish the interrupted run with --resume first")
	}
	if err := r.gate(ctx, p); err != nil {
		return nil, err
	}
	// The fingerprint names the run directory: the same plan and source resume into it.
	fp, err := Fingerprint(p)
	if err != nil {
		return nil, err
	}
	root, err := p.RunRoot()
	if err != nil {
		return nil, err
	}
	tgt, err := open(ctx, p)
	if err != nil {
		return nil, err
	}
	if tgt.Close != nil {
		defer tgt.Close()
	}
	dir, fresh, unlock, err := claimDir(root, fp, tgt.Name, o)
	if err != nil {
		return nil, err
	}
	defer unlock()
	ru, err := r.newRun(p, o, tgt, log, dir, fp, fresh, started)
	if err != nil {
		return nil, err
	}
	if err := ru.prepare(ctx); err != nil {
		if ru.src != nil {
			ru.src.Close()
		}
		return nil, err
	}
	defer ru.src.Close()
	defer ru.mapper.Close()
	return ru.complete(ctx)
}

// claimDir chooses the run directory (a new one, or the interrupted run's), creates it
// private to the user, and locks it: two runs writing one outcome log would each
// believe they own its rows. fresh says nothing was recorded there yet.
func claimDir(root, fp, target string, o strategies.RunOptions) (dir string, fresh bool, unlock func(), err error) {
	dir, fresh, err = chooseDir(root, fp, target, o)
	if err != nil {
		return "", false, nil, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", false, nil, fmt.Errorf("create run directory: %w", err)
	}
	_ = os.Chmod(dir, 0o700)
	unlock, err = lockDir(dir)
	if err != nil {
		return "", false, nil, err
	}
	return dir, fresh, unlock, nil
}

// newRun sets up a run in its claimed directory: a fresh run records what it runs
// (plan, fingerprint, target) before any row; a continued one loads the recorded state
// and keeps the first attempt's start time, so the report covers the whole run.
func (r *Runner) newRun(p *strategies.Plan, o strategies.RunOptions, tgt *idp.Target, log *slog.Logger,
	dir, fp string, fresh bool, started time.Time) (*run, error) {
	var notes []string
	if fresh && o.Resume && !o.DryRun {
		notes = append(notes, fmt.Sprintf("nothing to resume (no row was recorded in %s): this run started from the beginning", dir))
		log.Warn("nothing to resume; starting the run", "dir", dir)
	}
	st := &State{}
	runStarted := started
	if fresh {
		planPath := ""
		if p.File != "" {
			planPath, _ = filepath.Abs(p.File)
		}
		if err := startFresh(dir, RunInfo{Plan: planPath, Fingerprint: fp, Target: tgt.Name,
			TargetURL: tgt.URL, Strategy: p.Strategy, DryRun: o.DryRun, Started: started.UTC()}); err != nil {
			return nil, err
		}
	} else {
		var err error
		if st, err = loadState(dir); err != nil {
			return nil, err
		}
		var ri RunInfo
		if err := readJSON(filepath.Join(dir, FileRun), &ri); err == nil {
			runStarted = ri.Started
		}
	}
	return &run{
		plan: p, opts: o, tgt: tgt, dir: dir, log: log, state: st, started: started, runStarted: runStarted,
		onlyFailed: o.OnlyFailed != "", dryRun: o.DryRun,
		known: r.Known, notes: notes,
	}, nil
}

// defaults returns the logger and target opener, with Runner's nil meaning discard and
// OpenTarget.
func (r *Runner) defaults() (*slog.Logger, func(context.Context, *strategies.Plan) (*idp.Target, error)) {
	log := r.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	open := r.OpenTarget
	if open == nil {
		open = func(ctx context.Context, p *strategies.Plan) (*idp.Target, error) { return targets.Open(ctx, p, log) }
	}
	return log, open
}

// startFresh clears a run directory of an earlier run's records (a dry run's, or one
// --only-failed left) and writes run.json, which undo reads to find the target again.
func startFresh(dir string, info RunInfo) error {
	for _, f := range []string{FileOutcomes, FileSent, FileCheckpoint, FileFailuresCSV, FileFailuresJSON, FileWithoutPassword, FileSummary, FileReport} {
		_ = os.Remove(filepath.Join(dir, f))
	}
	if err := writeJSONAtomic(filepath.Join(dir, FileRun), info); err != nil {
		return fmt.Errorf("write run record: %w", err)
	}
	return nil
}

// complete runs the pipeline, closes the logs and builds the report: the end of Run.
// A failure leaves the records for --resume; a run that left nobody at the target is
// an error (nothingImported), not a partial success.
func (ru *run) complete(ctx context.Context) (*strategies.Report, error) {
	p, o, dir, tgt := ru.plan, ru.opts, ru.dir, ru.tgt
	runErr := ru.loop(ctx)
	if err := ru.mapper.Close(); err != nil && runErr == nil {
		runErr = err // duplicates may have gone unreported: the run cannot be trusted
	}
	if err := ru.closeLogs(runErr == nil); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		if ctx.Err() != nil {
			return nil, &strategies.Error{Code: strategies.CodeCancelled, File: dir,
				Message: fmt.Sprintf("run stopped after recording %d rows; continue it with --resume", ru.recorded), Err: ctx.Err()}
		}
		return nil, fmt.Errorf("bulk run (records in %s; continue with --resume once fixed): %w", dir, runErr)
	}
	rep, err := BuildReport(dir, p.Bulk.LogEmails)
	if err != nil {
		return nil, err
	}
	rep.Retries = ru.priorRetries + tgt.Importer.Retries()
	rep.DryRun = o.DryRun
	rep.Duration = time.Since(ru.started)
	rep.NextSteps = append(rep.NextSteps, ru.notes...)
	rep.NextSteps = append(rep.NextSteps, nextSteps(rep, p, dir)...)
	if err := writeReportFiles(dir, rep); err != nil {
		return nil, err
	}
	ru.progress(true)
	if err := nothingImported(rep); err != nil {
		return nil, err
	}
	return rep, nil
}

// chooseDir picks the run directory: the interrupted run's (to resume), a new one, the
// dry-run one, or the one --only-failed names. fresh means earlier records there are
// discarded. Every run gets a directory of its own that is never moved or reused once
// it holds a row, so the path a report printed stays that run's (undo, --only-failed).
func chooseDir(root, fp, target string, o strategies.RunOptions) (dir string, fresh bool, err error) {
	switch {
	case o.OnlyFailed != "":
		dir = o.OnlyFailed
		if _, err := os.Stat(filepath.Join(dir, FileOutcomes)); err != nil && !filepath.IsAbs(dir) {
			dir = filepath.Join(root, o.OnlyFailed)
		}
		if _, err := os.Stat(filepath.Join(dir, FileOutcomes)); err != nil {
			return "", false, strategies.Errorf(strategies.CodeUsage, "--only-failed %s: no outcome log there; give a run directory printed by an earlier run (under %s)", o.OnlyFailed, root)
		}
		return dir, false, nil
	case o.DryRun:
		return runDir(root, fp, target) + dryRunSuffix, true, nil
	}
	dirs, err := runDirs(root, fp, target)
	if err != nil {
		return "", false, err
	}
	if i := slices.IndexFunc(dirs, interrupted); i >= 0 {
		if o.Resume {
			return dirs[i], false, nil
		}
		return "", false, strategies.Errorf(strategies.CodeUsage, "an interrupted run of this plan is in %s; continue it with --resume (or move that directory away to start over)", dirs[i])
	}
	// A run stopped before it recorded a row (or never started) is started again in the
	// directory it already has: that is what continuing it means. Run says so.
	if i := slices.IndexFunc(dirs, func(d string) bool { return !exists(filepath.Join(d, FileOutcomes)) }); i >= 0 {
		return dirs[i], true, nil
	}
	if o.Resume && len(dirs) > 0 {
		return dirs[len(dirs)-1], false, nil // finished: resuming the last run reports it again
	}
	return newRunDir(runDir(root, fp, target), time.Now())
}

// run is the state of one attempt.
type run struct {
	plan       *strategies.Plan
	opts       strategies.RunOptions
	tgt        *idp.Target
	dir        string
	log        *slog.Logger
	state      *State
	started    time.Time
	runStarted time.Time // when the run (not this attempt) began, from run.json
	onlyFailed bool
	dryRun     bool
	known      func(*strategies.User) string // Runner.Known

	src          sources.Source
	mapper       *mapping.Mapper
	verifier     *passwords.Verifier
	identifier   string
	total        int64
	limit        int
	maxRecords   int    // users per batch; 0: as many as fit in limit
	runID        string // the run directory's name: stable across --resume
	concurrency  int
	policy       string
	existing     map[string]bool // dry run: identifiers already at the target; nil when unknown
	priorRetries int64
	notes        []string
	proof        map[int]string // row -> user id a job of an interrupted attempt inserted (loadProof)

	outcomes *os.File
	sent     *os.File
	sentMu   sync.Mutex
	batchSeq atomic.Int64 // numbers batches in sent.ndjson

	// Written by the writer goroutine only, read after it ends.
	recorded   int64
	seen       *bitset
	counts     map[strategies.Outcome]int64
	through    int
	pos        string
	lastCP     time.Time
	lastProg   time.Time
	lastErrors []string
	progMu     sync.Mutex
}

// prepare opens the source, the mapper, the logs, and (dry run) learns who exists.
func (ru *run) prepare(ctx context.Context) error {
	p := ru.plan
	src, err := sources.Open(ctx, p)
	if err != nil {
		return err
	}
	ru.src = src
	// The source first: a Firebase export carries the hash parameters its hashes need.
	if ru.verifier, err = sources.Verifier(ctx, p, src); err != nil {
		return err
	}
	m, err := mapping.New(p, mapping.Options{Verifier: ru.verifier})
	if err != nil {
		return err
	}
	ru.mapper = m
	ru.identifier = m.Identifier()
	// The total only feeds progress and the ETA; an estimate is good enough and a
	// failure to count is no reason to stop.
	ru.total = -1
	if c, ok := src.(sources.Counter); ok {
		if n, _, err := c.Count(ctx); err == nil {
			ru.total = n
		}
	}
	if err := ru.limits(); err != nil {
		return err
	}
	ru.policy = p.Bulk.UnsupportedHash
	if ru.policy == "" {
		ru.policy = strategies.UnsupportedFail
	}
	var cp Checkpoint
	if readJSON(filepath.Join(ru.dir, FileCheckpoint), &cp) == nil {
		ru.through, ru.pos = cp.ThroughRow, cp.Pos
	}
	// Retries of earlier attempts count too: the report is about the run, not the attempt.
	ru.priorRetries = readPriorRetries(ru.dir)
	ru.counts = map[strategies.Outcome]int64{}
	if ru.outcomes, err = os.OpenFile(filepath.Join(ru.dir, FileOutcomes), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
		return fmt.Errorf("open outcome log: %w", err)
	}
	if ru.sent, err = os.OpenFile(filepath.Join(ru.dir, FileSent), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600); err != nil {
		return fmt.Errorf("open sent log: %w", err)
	}
	// A dry run reads who exists once, up front, so its "skipped" counts match what a
	// real run would report without sending anything.
	if ru.dryRun {
		if f, ok := ru.tgt.Importer.(idp.Finder); ok {
			if ru.existing, err = listIdentifiers(ctx, f, ru.identifier); err != nil {
				return fmt.Errorf("dry run: ask the target which users exist: %w", err)
			}
		} else {
			ru.notes = append(ru.notes, "dry run: this target cannot be asked which users exist, so every valid row is counted as inserted")
		}
	}
	return nil
}

// limits sets the batch and concurrency limits from the plan, defaulting to the
// target's own.
func (ru *run) limits() error {
	p, lim := ru.plan, ru.tgt.Limits
	ru.limit = cmp.Or(p.Bulk.BatchBytes, lim.BatchBytes, idp.BodyMaxSize)
	ru.maxRecords = cmp.Or(p.Bulk.BatchSize, lim.BatchRecords)
	if lim.MaxRecords > 0 && ru.maxRecords > lim.MaxRecords {
		return p.PlanError("bulk.batch_size", "%d is over the %d users %s takes in one request; lower it", ru.maxRecords, lim.MaxRecords, ru.tgt.Name)
	}
	ru.concurrency = cmp.Or(p.Bulk.Concurrency, lim.Concurrency, DefaultConcurrency)
	ru.runID = filepath.Base(ru.dir)
	return nil
}

// listIdentifiers pages through the target's users and returns their identifiers,
// lower-cased. A dry run compares each row against it.
func listIdentifiers(ctx context.Context, f idp.Finder, identifier string) (map[string]bool, error) {
	out := map[string]bool{}
	const page = 10_000
	for off := 0; ; off += page {
		pg, err := f.FindUsers(ctx, idp.Query{Limit: page, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, u := range pg.Users {
			v := u.Email
			switch identifier {
			case "phone_number":
				v = u.PhoneNumber
			case "preferred_username":
				v = u.PreferredUsername
			}
			if v != "" {
				out[strings.ToLower(v)] = true
			}
		}
		if len(pg.Users) < page {
			return out, nil
		}
	}
}

// closeLogs closes the log files and writes the last checkpoint.
func (ru *run) closeLogs(finished bool) error {
	err := ru.writeCheckpoint(finished)
	ru.sent.Close()
	if cerr := ru.outcomes.Close(); err == nil {
		err = cerr
	}
	return err
}

func (ru *run) writeCheckpoint(finished bool) error {
	counts := make(map[strategies.Outcome]int64, len(ru.counts))
	for k, v := range ru.counts {
		counts[k] = v
	}
	cp := struct {
		Checkpoint
		Retries int64 `json:"retries"`
	}{Checkpoint{ThroughRow: ru.through, Pos: ru.pos, Recorded: ru.state.Lines + ru.recorded, Counts: counts,
		Finished: finished, Updated: time.Now().UTC()}, ru.priorRetries + ru.tgt.Importer.Retries()}
	if err := writeJSONAtomic(filepath.Join(ru.dir, FileCheckpoint), cp); err != nil {
		return fmt.Errorf("write checkpoint: %w", err)
	}
	return nil
}

func readPriorRetries(dir string) int64 {
	var cp struct {
		Retries int64 `json:"retries"`
	}
	_ = readJSON(filepath.Join(dir, FileCheckpoint), &cp)
	return cp.Retries
}

// progress reports to the caller at most every 250ms, and always when final.
func (ru *run) progress(final bool) {
	if ru.opts.Progress == nil {
		return
	}
	ru.progMu.Lock()
	defer ru.progMu.Unlock()
	now := time.Now()
	if !final && now.Sub(ru.lastProg) < 250*time.Millisecond {
		return
	}
	ru.lastProg = now
	// A copy: the caller may keep the snapshot while the writer goes on counting.
	counts := make(map[strategies.Outcome]int64, len(ru.counts))
	var done int64
	for k, v := range ru.counts {
		counts[k] = v
		done += v
	}
	el := now.Sub(ru.started).Seconds()
	pr := strategies.Progress{Phase: "importing", Total: ru.total, Done: done + ru.state.Lines, Counts: counts,
		Retries: ru.priorRetries + ru.tgt.Importer.Retries(), LastErrors: append([]string(nil), ru.lastErrors...)}
	if ru.dryRun {
		pr.Phase = "dry run"
	}
	if final {
		pr.Phase = "done"
	}
	if el > 0 {
		pr.Rate = float64(done) / el
	}
	if pr.Rate > 0 && ru.total > 0 && pr.Done < ru.total {
		pr.ETA = time.Duration(float64(ru.total-pr.Done) / pr.Rate * float64(time.Second))
	}
	ru.opts.Progress(pr)
}

// errAbort marks a failure that stops the whole run (a refused token, a target that
// stays down): rows in flight stay unrecorded and --resume picks them up.
var errAbort = errors.New("the target cannot take imports now")

// loop runs the pipeline: this goroutine reads and maps; workers import; one writer
// records outcomes. Memory is bounded by the pool of units (concurrency + 2 batches).
func (ru *run) loop(parent context.Context) error {
	// cancel stops everyone when the writer fails: once outcomes cannot be recorded, sending
	// more would create users nobody could account for.
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	g, gctx := errgroup.WithContext(ctx)
	// One unit per worker, one being filled by the reader, one with the writer: enough
	// to keep every stage busy, and the only memory that grows with concurrency.
	nUnits := ru.concurrency + 2
	free := make(chan *unit, nUnits)
	for range nUnits {
		free <- newUnit(ru.limit)
	}
	work := make(chan *unit, ru.concurrency)
	done := make(chan *unit, nUnits)
	var producers sync.WaitGroup
	producers.Add(ru.concurrency + 1)
	for range ru.concurrency {
		g.Go(func() error {
			defer producers.Done()
			for u := range work {
				if err := ru.process(gctx, u); err != nil {
					return err
				}
				done <- u
			}
			return nil
		})
	}
	// done closes when the reader and every worker have finished, so the writer drains
	// everything in flight before the run ends.
	go func() { producers.Wait(); close(done) }()
	var writeErr error
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		for u := range done {
			if writeErr == nil {
				if writeErr = ru.record(u); writeErr != nil {
					cancel() // stop reading and sending: outcomes can no longer be kept
				}
			}
			u.reset()
			free <- u
		}
	}()
	readErr := func() error {
		defer producers.Done()
		defer close(work)
		return ru.read(gctx, free, work, done)
	}()
	// The writer's error comes first: it is why the others stopped.
	werr := g.Wait()
	<-writerDone
	switch {
	case writeErr != nil:
		return writeErr
	case werr != nil:
		return werr
	case readErr != nil:
		return readErr
	}
	return parent.Err()
}
