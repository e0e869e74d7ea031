package bulk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/passwords"
	"github.com/cutover/cutover/strategies/sources"
)

// Reasons written into outcome lines by bulk itself (the target's come from its errors).
const (
	reasonRecovered   = "already at the target: sent by the interrupted run (or there before it)"
	reasonRecreated   = "created by the interrupted run (its import job says so)"
	reasonExists      = "exists at the target"
	reasonNoOutcome   = "target_error: the import job reported no outcome for this record"
	reasonLostAnswer  = "uncertain: found at the target, created during this run, after an import answer was lost; nothing proves this run created it, so undo leaves it"
	reasonUncertain   = "uncertain: found at the target, created since the interrupted run began, but no job outcome of that run proves it created it, so undo leaves it"
	reasonTooLarge    = "record_too_large: this user's record alone is over the request body limit; shorten its longest fields"
	maxLocalLines     = 4096 // outcomes decided without the target, flushed in groups of this size
	checkpointEvery   = time.Second
	lastErrorsToKeep  = 5
	withoutPWReasonFn = "imported without password: "
)

// rowMeta is what a batch remembers about each record it carries.
type rowMeta struct {
	row, line  int
	legacyID   string
	email      string // only when the plan allows emails in logs
	ident      string // the identifier's value (for lookups at the target)
	pos        string
	start, end int // the record's bytes in the batch body
	noPassword string
	known      string // Runner.Known's reason
	// warnings and legacyEmail go to the row's outcome line (nil and "" for most rows).
	warnings    []string
	legacyEmail string
	// user and pw are the canonical user and its password in the target's syntax, for
	// targets that import users rather than the encoded records.
	user *strategies.User
	pw   *idp.Password
}

// unit is one batch on its way: the request body, its rows, and the outcome lines
// decided without the target (invalid rows...) that travel with it to the writer.
type unit struct {
	batch    *idp.Batch
	upsert   bool
	recovery bool
	rows     []rowMeta
	lines    []Line
	wbuf     []byte
	poll     pollTimer
}

func newUnit(limit int) *unit { return &unit{batch: idp.NewBatch(limit)} }

func (u *unit) reset() {
	u.rows = u.rows[:0]
	u.lines = u.lines[:0]
	u.recovery = false
}

func (u *unit) empty() bool { return len(u.rows) == 0 && len(u.lines) == 0 }

// reason renders a typed error as an outcome reason: "code: field: message".
func reason(err error) string {
	var e *strategies.Error
	if !errors.As(err, &e) {
		return err.Error()
	}
	var b strings.Builder
	b.WriteString(string(e.Code))
	if e.Field != "" {
		b.WriteString(": " + e.Field)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

// reader is the producer's state: the units being filled, and a scratch buffer for the
// record being encoded (one per run, so encoding allocates nothing per row).
type reader struct {
	ru               *run
	ctx              context.Context
	free, work, done chan *unit
	cur, rec         *unit // rec: rows a crashed attempt may have sent, re-sent with upsert=false
	upsert           bool
	scratch          []byte
}

// read is the producer: it reads the source in order, maps every record (so duplicate
// detection sees the same rows on every attempt), and packs the rows of this attempt.
func (ru *run) read(ctx context.Context, free, work, done chan *unit) error {
	rd := &reader{ru: ru, ctx: ctx, free: free, work: work, done: done, upsert: ru.plan.Bulk.Upsert, scratch: make([]byte, 0, 4096)}
	err := ru.src.Read(ctx, "", rd.row)
	// The last units go out even after an error: their rows are decided and must be recorded.
	for _, u := range []*unit{rd.cur, rd.rec} {
		if u == nil {
			continue
		}
		if u.empty() {
			free <- u
			continue
		}
		if serr := rd.send(u); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return fmt.Errorf("read source: %w", err)
	}
	return nil
}

// take waits for a free unit (this is where a slow target slows the reader down).
func (rd *reader) take(recovery bool) (*unit, error) {
	select {
	case u := <-rd.free:
		u.reset()
		u.recovery = recovery
		u.upsert = rd.upsert && !recovery
		u.batch.Reset(u.upsert, rd.ru.identifier)
		return u, nil
	case <-rd.ctx.Done():
		return nil, rd.ctx.Err()
	}
}

// send hands a unit to the workers, or straight to the writer when it carries only
// outcomes decided here.
func (rd *reader) send(u *unit) error {
	ch := rd.work
	if len(u.rows) == 0 {
		ch = rd.done
	}
	select {
	case ch <- u:
		return nil
	case <-rd.ctx.Done():
		return rd.ctx.Err()
	}
}

// local records an outcome decided without the target; such lines travel with the
// current unit so the log keeps source order as closely as batches allow.
func (rd *reader) local(l Line, o strategies.Outcome, why string) error {
	l.Outcome, l.Reason = o, why
	rd.cur.lines = append(rd.cur.lines, l)
	if len(rd.cur.lines) >= maxLocalLines {
		err := rd.send(rd.cur)
		rd.cur = nil
		return err
	}
	return nil
}

// row handles one record: decide locally (invalid, known, unsupported hash, already
// created by the interrupted run) or pack it into a batch.
func (rd *reader) row(r sources.Record) error {
	ru := rd.ru
	var u *strategies.User
	var errs []*strategies.Error
	if r.Err == nil {
		u, errs = ru.mapper.Map(r)
	}
	// Rows of earlier attempts are still mapped (above), so duplicate detection sees
	// the whole source, but only this attempt's rows go further.
	if ru.onlyFailed && !ru.state.Failed.has(r.Row) || !ru.onlyFailed && ru.state.Done.has(r.Row) {
		return nil
	}
	if rd.cur == nil {
		var err error
		if rd.cur, err = rd.take(false); err != nil {
			return err
		}
	}
	if u != nil {
		// Authgear stores login ids lower-cased but looks up the value sent: a re-run
		// sending Alice@Example.com next to a stored alice@example.com fails with
		// DuplicatedIdentity instead of skipping. Send what the target stores; the
		// outcome log keeps the source's spelling. (ToLower does not allocate when the
		// address is lower-case already, as most are.)
		if low := strings.ToLower(u.Email); low != u.Email {
			u.LegacyEmail, u.Email = u.Email, low
		}
	}
	l := ru.lineFor(r, u)
	known := ""
	if ru.known != nil && u != nil {
		known = ru.known(u)
	}
	switch {
	case known != "" && (r.Err != nil || len(errs) > 0):
		return rd.local(l, strategies.OutcomeSkipped, known)
	case r.Err != nil:
		return rd.local(l, strategies.OutcomeInvalid, reason(r.Err))
	case len(errs) > 0:
		return rd.local(l, strategies.OutcomeInvalid, reason(errs[0]))
	}
	pw, noPW, o, why := ru.password(u)
	if o != "" && known != "" {
		o, noPW = "", why // checking the user is at the target matters more than the hash
	}
	if o != "" {
		return rd.local(l, o, why)
	}
	var err error
	if rd.scratch, err = idp.AppendRecord(rd.scratch[:0], u, pw); err != nil {
		return rd.local(l, strategies.OutcomeInvalid, string(strategies.CodeInvalidValue)+": "+err.Error())
	}
	// A record that cannot fit even an empty batch would loop on 413s: fail it here.
	if len(rd.scratch) > rd.cur.batch.MaxRecord() {
		return rd.local(l, strategies.OutcomeFailed, reasonTooLarge)
	}
	m := rowMeta{row: r.Row, line: r.Line, legacyID: l.LegacyID, email: l.Email, pos: r.Pos,
		noPassword: noPW, known: known, ident: identifierOf(u, ru.identifier),
		warnings: l.Warnings, legacyEmail: l.LegacyEmail, user: u, pw: pw}
	resent := !ru.onlyFailed && ru.state.Sent.has(r.Row) // the interrupted run sent it
	if resent {
		// Check before sending again: a user the interrupted run created is recorded
		// as inserted by it (so undo finds it), not as skipped by this run.
		done, err := ru.resolveSent(rd.ctx, m, &l)
		if err != nil {
			return err
		}
		if done {
			return rd.local(l, l.Outcome, l.Reason)
		}
	}
	return rd.pack(m, (resent || known != "") && rd.upsert) // recovery rows go with upsert=false
}

// pack adds the encoded record in scratch to the current (or recovery) unit, sending
// the unit first when the record does not fit.
func (rd *reader) pack(m rowMeta, recovery bool) error {
	dst := &rd.cur
	var err error
	if recovery {
		dst = &rd.rec
		if rd.rec == nil {
			if rd.rec, err = rd.take(true); err != nil {
				return err
			}
		}
	}
	if !(*dst).batch.Fits(len(rd.scratch)) || rd.ru.maxRecords > 0 && len((*dst).rows) >= rd.ru.maxRecords {
		if err := rd.send(*dst); err != nil {
			return err
		}
		if *dst, err = rd.take(recovery); err != nil {
			return err
		}
	}
	b := (*dst).batch
	m.start = b.Size()
	if b.Len() > 0 {
		m.start++ // the comma before it
	}
	b.Add(rd.scratch)
	m.end = m.start + len(rd.scratch)
	(*dst).rows = append((*dst).rows, m)
	return nil
}

// lineFor starts a row's outcome line with what the source and the mapping say.
func (ru *run) lineFor(r sources.Record, u *strategies.User) Line {
	l := Line{Row: r.Row, Line: r.Line, pos: r.Pos}
	if u == nil {
		return l
	}
	l.LegacyID = u.LegacyID
	if ru.plan.Bulk.LogEmails {
		l.Email, l.LegacyEmail = u.Email, u.LegacyEmail
	}
	for _, w := range u.Warnings {
		// Only valid rows keep warnings; they count by field in the report.
		l.Warnings = append(l.Warnings, w.Field+": "+string(w.Code)+": "+w.Message)
	}
	return l
}

func identifierOf(u *strategies.User, identifier string) string {
	switch identifier {
	case "phone_number":
		return u.PhoneNumber
	case "preferred_username":
		return u.PreferredUsername
	}
	return u.Email
}

// password decides what travels for u's password. When the target cannot take the
// format, bulk.unsupported_hash says: fail the row, skip it, or import without password
// (noPW then holds the reason, kept on the row's outcome line).
func (ru *run) password(u *strategies.User) (pw *idp.Password, noPW string, o strategies.Outcome, why string) {
	if u.PasswordHash == "" {
		// No hash is not an error (a social-login user, an unusable password), but it is
		// counted: the user needs a reset or a one-time code.
		return nil, ru.noHash(), "", ""
	}
	s := passwords.Stored{Hash: u.PasswordHash, Salt: u.PasswordSalt, Format: u.PasswordFormat}
	pw, err := ru.tgt.Hashes.Password(ru.verifier, s)
	if err == nil {
		return pw, "", "", ""
	}
	// Name the format in the reason, so the report groups the rows by what to do.
	format := u.PasswordFormat
	if format == "" || format == "auto" {
		if d, err := ru.verifier.Detect(s); err == nil {
			format = d.Format
		} else {
			format = "unknown"
		}
	}
	msg := err.Error()
	var se *strategies.Error
	if errors.As(err, &se) {
		msg = se.Message
	}
	why = fmt.Sprintf("%s: %s (%s)", strategies.CodeUnsupportedHash, format, msg)
	switch ru.policy {
	case strategies.UnsupportedSkip:
		return nil, "", strategies.OutcomeSkipped, why
	case strategies.UnsupportedWithoutPassword:
		return nil, why, "", ""
	}
	return nil, "", strategies.OutcomeFailed, why + "; set bulk.unsupported_hash to without_password or skip, or migrate these users lazily"
}

// process sends one unit's batch (or, in a dry run, decides what would happen) and
// appends an outcome line per row to u.lines.
func (ru *run) process(ctx context.Context, u *unit) error {
	if len(u.rows) == 0 {
		return nil
	}
	base := len(u.lines)
	for _, m := range u.rows {
		u.lines = append(u.lines, Line{Row: m.row, Line: m.line, LegacyID: m.legacyID, Email: m.email, pos: m.pos,
			Warnings: m.warnings, LegacyEmail: m.legacyEmail})
	}
	out := u.lines[base:]
	if ru.dryRun {
		// Decide as the target would, from the identifiers it holds (lower-cased, as
		// Authgear stores them), without sending anything.
		for i, m := range u.rows {
			switch {
			case ru.existing != nil && ru.existing[strings.ToLower(m.ident)] && u.upsert:
				out[i].Outcome, out[i].Reason = strategies.OutcomeUpdated, reasonExists+" (dry run)"
			case ru.existing != nil && ru.existing[strings.ToLower(m.ident)]:
				out[i].Outcome, out[i].Reason = strategies.OutcomeSkipped, reasonExists+" (dry run)"
			default:
				out[i].Outcome = strategies.OutcomeInserted
			}
			ru.markNoPassword(&out[i], m)
		}
		return nil
	}
	seq, err := ru.journal(u.rows)
	if err != nil {
		return err
	}
	// The header (upsert, identifier) is kept apart so a 413 can split the batch and
	// send each half under the same options.
	body := u.batch.Body()
	return ru.post(ctx, post{hdr: body[:u.rows[0].start], body: body, upsert: u.upsert, rows: u.rows, out: out, recovery: u.recovery, pt: &u.poll, batch: seq})
}

// post is one import request on its way: a batch's body, or half of one after a 413.
type post struct {
	hdr, body []byte
	upsert    bool
	rows      []rowMeta
	out       []Line
	recovery  bool
	pt        *pollTimer
	batch     int64 // the batch's number in sent.ndjson
}

// journal records, before posting, which rows a batch carries: after a crash those rows'
// fate is unknown and --resume re-sends them with upsert=false.
func (ru *run) journal(rows []rowMeta) (int64, error) {
	seq := ru.batchSeq.Add(1)
	return seq, ru.journalLine(seq, "", rows)
}

// journalJob records, once the target has answered, which job carries which rows: the
// job's outcomes are the proof, after a crash, that this run created those users.
func (ru *run) journalJob(seq int64, job string, rows []rowMeta) error {
	return ru.journalLine(seq, job, rows)
}

func (ru *run) journalLine(seq int64, job string, rows []rowMeta) error {
	buf := make([]byte, 0, 48+8*len(rows))
	buf = append(buf, `{"batch":`...)
	buf = strconv.AppendInt(buf, seq, 10)
	if job != "" {
		buf = append(buf, `,"job":`...)
		buf = idp.AppendJSONString(buf, job)
	}
	buf = append(buf, `,"rows":[`...)
	for i, m := range rows {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = strconv.AppendInt(buf, int64(m.row), 10)
	}
	buf = append(buf, "]}\n"...)
	ru.sentMu.Lock()
	defer ru.sentMu.Unlock()
	if _, err := ru.sent.Write(buf); err != nil {
		return fmt.Errorf("write sent log: %w", err)
	}
	if err := ru.sent.Sync(); err != nil {
		return fmt.Errorf("sync sent log: %w", err)
	}
	return nil
}

// post imports one body and fills out. A 413 splits the batch in two; a request the
// target refuses for good fails its rows with the reason; anything else (bad token,
// target down after all retries) aborts the run, leaving the rows for --resume.
func (ru *run) post(ctx context.Context, ps post) error {
	job, err := ru.importBody(ctx, ps)
	if err != nil {
		return ru.postFailed(ctx, ps, err)
	}
	// A detail per record is the contract, but a target that repeats or skips one must
	// not shift outcomes onto other rows: each index is taken once, and rows without a
	// detail fail with reasonNoOutcome rather than being guessed.
	seen := make([]bool, len(ps.rows))
	for i := range job.Details {
		d := &job.Details[i]
		if d.Index < 0 || d.Index >= len(ps.rows) || seen[d.Index] {
			continue
		}
		seen[d.Index] = true
		ru.outcome(&ps.out[d.Index], d, ps.rows[d.Index], ps.recovery)
	}
	for i := range ps.rows {
		if !seen[i] {
			ps.out[i].Outcome, ps.out[i].Reason = strategies.OutcomeFailed, reasonNoOutcome
		}
	}
	if job.Resent {
		return ru.resolveResent(ctx, ps.rows, ps.out)
	}
	return nil
}

// postFailed handles an import that returned no job: split on 413, fail the rows the
// target refuses for good, abort on anything else.
func (ru *run) postFailed(ctx context.Context, ps post, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if idp.IsTooLarge(err) {
		if len(ps.rows) == 1 {
			ps.out[0].Outcome, ps.out[0].Reason = strategies.OutcomeFailed, reasonTooLarge
			return nil
		}
		mid := len(ps.rows) / 2
		for _, part := range [][2]int{{0, mid}, {mid, len(ps.rows)}} {
			half := ps
			half.body, half.rows = subBatch(ps.hdr, ps.body, ps.rows[part[0]:part[1]])
			half.out = ps.out[part[0]:part[1]]
			if err := ru.post(ctx, half); err != nil {
				return err
			}
		}
		return nil
	}
	var ae *idp.APIError
	if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 &&
		ae.Status != http.StatusUnauthorized && ae.Status != http.StatusForbidden &&
		ae.Status != http.StatusTooManyRequests && ae.Status != http.StatusRequestTimeout {
		for i := range ps.out {
			ps.out[i].Outcome, ps.out[i].Reason = strategies.OutcomeFailed, "target_refused_batch: "+ae.Error()
		}
		return nil
	}
	return fmt.Errorf("%w: %w", errAbort, err)
}

// outcome fills a row's line from the job's detail for it.
func (ru *run) outcome(l *Line, d *idp.Detail, m rowMeta, recovery bool) {
	l.UserID = d.UserID
	switch d.Outcome {
	case "inserted":
		l.Outcome = strategies.OutcomeInserted
		l.Rescued = m.known != ""
	case "updated":
		l.Outcome = strategies.OutcomeUpdated
	case "skipped":
		l.Outcome, l.Reason = strategies.OutcomeSkipped, d.Reason()
		switch {
		case m.known != "":
			l.Reason = m.known
		case recovery:
			l.Reason = reasonRecovered
		}
		if l.Reason == "" {
			l.Reason = reasonExists
		}
	default:
		l.Outcome, l.Reason = strategies.OutcomeFailed, d.Reason()
		if l.Reason == "" {
			l.Reason = "target_error: the import job reported outcome " + strconv.Quote(d.Outcome)
		}
	}
	ru.markNoPassword(l, m)
}

// resolveResent looks up the skipped rows of a job whose request had to be sent again:
// an earlier attempt's answer may have been lost after the target created them. A user
// found there created since the run began may be this run's, or someone who signed up
// meanwhile: nothing proves which (the lost job's id never arrived), so the row is
// recorded skipped and uncertain, with the user's id: undo leaves it and lists it.
func (ru *run) resolveResent(ctx context.Context, rows []rowMeta, out []Line) error {
	for i := range out {
		if out[i].Outcome != strategies.OutcomeSkipped {
			continue
		}
		id, err := ru.createdSinceStart(ctx, rows[i].ident)
		if err != nil {
			return fmt.Errorf("%w: %w", errAbort, err)
		}
		if id != "" {
			out[i].UserID, out[i].Uncertain, out[i].Reason = id, true, reasonLostAnswer
		}
	}
	return nil
}

// jobPoller is what a target whose import jobs run asynchronously offers (*idp.Client
// does). Bulk then polls the job itself, timed by how long jobs have been taking, rather
// than on the client's fixed back-off: a job finishing just after a long wait would
// leave its batch slot, and the target, idle.
type jobPoller interface {
	StartImport(ctx context.Context, body []byte) (*idp.Job, error)
	GetImport(ctx context.Context, id string) (*idp.Job, error)
}

// pollTimer learns how long a job takes per record, from the completed jobs of one unit.
type pollTimer struct{ perRecord time.Duration }

// Polls after the first start at minPoll and grow by half each time to maxPoll (the
// client's own cap, polite to a real target): since the first poll is timed by the
// estimate, most jobs need one or two more.
const (
	minPoll = 2 * time.Millisecond
	maxPoll = 250 * time.Millisecond
)

// importBody starts an import job for body (n records) and waits for it. The first poll
// comes a little before the job is expected to complete.
func (ru *run) importBody(ctx context.Context, ps post) (*idp.Job, error) {
	body, n, pt := ps.body, len(ps.rows), ps.pt
	p, ok := ru.tgt.Importer.(jobPoller)
	if !ok {
		return ru.tgt.Importer.ImportUsers(ctx, ru.importBatch(ps))
	}
	start := time.Now()
	j, err := p.StartImport(ctx, body)
	if err != nil {
		return nil, err
	}
	if err := ru.journalJob(ps.batch, j.ID, ps.rows); err != nil {
		return nil, err
	}
	if j.Status == idp.StatusCompleted && j.Summary != nil {
		return j, nil
	}
	// Resent is known only from the start call; the polls return a fresh Job.
	resent := j.Resent
	wait := max(pt.perRecord*time.Duration(n)*3/4-time.Since(start), minPoll)
	step := minPoll
	for {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		if j, err = p.GetImport(ctx, j.ID); err != nil {
			return nil, err
		}
		if j.Status == idp.StatusCompleted {
			break
		}
		if j.Error != nil {
			return nil, fmt.Errorf("import job %s: %w", j.ID, j.Error)
		}
		wait, step = step, min(step*3/2, maxPoll)
	}
	j.Resent = resent
	// A moving average: the target slows down as its tables grow, and one slow job
	// (a GC pause, a retry) should not set the pace for the next.
	took := time.Since(start) / time.Duration(max(n, 1))
	if pt.perRecord == 0 {
		pt.perRecord = took
	} else {
		pt.perRecord = (3*pt.perRecord + took) / 4
	}
	return j, nil
}

// importBatch is the canonical form of a post, for targets that import users.
func (ru *run) importBatch(ps post) *idp.ImportBatch {
	b := &idp.ImportBatch{Upsert: ps.upsert, Identifier: ru.identifier, Body: ps.body, RunID: ru.runID,
		Users: make([]*strategies.User, len(ps.rows)), Passwords: make([]*idp.Password, len(ps.rows))}
	for i, m := range ps.rows {
		b.Users[i], b.Passwords[i] = m.user, m.pw
	}
	return b
}

// noHash says why a row with no hash moves without a password.
func (ru *run) noHash() string {
	switch {
	case strings.TrimSpace(ru.plan.Mapping.PasswordFormat) == strategies.PasswordFormatNone:
		return "no_password: mapping.password_format is none"
	case ru.plan.Mapping.PasswordHash.IsZero():
		return "no_password: no password column is mapped"
	}
	return "no_password: the row has no usable password hash"
}

// markNoPassword notes on an inserted row that it reached the target with no password,
// whatever the cause: the report counts them and lists them for a reset or a code.
func (ru *run) markNoPassword(l *Line, m rowMeta) {
	if m.noPassword != "" && l.Outcome == strategies.OutcomeInserted {
		l.WithoutPassword, l.Password = true, "none"
		l.Reason = withoutPWReasonFn + m.noPassword
	}
}

// subBatch builds a request body holding rows (whose offsets refer to body) under hdr.
func subBatch(hdr, body []byte, rows []rowMeta) ([]byte, []rowMeta) {
	n := len(hdr) + 2
	for _, m := range rows {
		n += m.end - m.start + 1
	}
	b := make([]byte, 0, n)
	b = append(b, hdr...)
	rs := make([]rowMeta, len(rows))
	for i, m := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		rs[i] = m
		rs[i].start = len(b)
		b = append(b, body[m.start:m.end]...)
		rs[i].end = len(b)
	}
	return append(b, ']', '}'), rs
}

// record is the writer: it appends a unit's outcome lines to the log in one write,
// syncs, and moves the checkpoint and the progress on.
func (ru *run) record(u *unit) error {
	if len(u.lines) == 0 {
		return nil
	}
	if ru.seen == nil {
		ru.seen = &bitset{w: append([]uint64(nil), ru.state.Done.w...)}
	}
	// One write and one fsync per unit, not per row: a crash loses at most the units in
	// flight, whose rows the sent journal names, so --resume checks them again.
	buf := u.wbuf[:0]
	for i := range u.lines {
		buf = appendLine(buf, &u.lines[i])
	}
	u.wbuf = buf
	if _, err := ru.outcomes.Write(buf); err != nil {
		return fmt.Errorf("write outcome log: %w", err)
	}
	if err := ru.outcomes.Sync(); err != nil {
		return fmt.Errorf("sync outcome log: %w", err)
	}
	ru.progMu.Lock()
	for i := range u.lines {
		l := &u.lines[i]
		ru.counts[l.Outcome]++
		ru.seen.set(l.Row)
		if l.Outcome == strategies.OutcomeFailed {
			ru.lastErrors = append(ru.lastErrors, "row "+strconv.Itoa(l.Row)+": "+l.Reason)
			if len(ru.lastErrors) > lastErrorsToKeep {
				ru.lastErrors = ru.lastErrors[1:]
			}
		}
	}
	ru.recorded += int64(len(u.lines))
	ru.progMu.Unlock()
	// The checkpoint's position only moves to a row when every row before it is recorded.
	old := ru.through
	for ru.seen.has(ru.through + 1) {
		ru.through++
	}
	if ru.through != old {
		for i := range u.lines {
			if u.lines[i].Row == ru.through {
				ru.pos = u.lines[i].pos
			}
		}
	}
	// The checkpoint is only a shortcut for --resume (the outcome log is the truth), so
	// it is written at most once a second rather than after every unit.
	if time.Since(ru.lastCP) >= checkpointEvery {
		ru.lastCP = time.Now()
		if err := ru.writeCheckpoint(false); err != nil {
			return err
		}
	}
	ru.progress(false)
	return nil
}

// createdSinceStart asks a target that can look users up (Authgear's getUserByLoginID,
// the mock IdP's too) for the user holding an identifier, and returns their id when they
// were created since the run began (by an import, where the target says), else "". Such
// a user may be this run's or may have signed up meanwhile: the time is no proof, so
// callers record them uncertain unless a job outcome proves more.
func (ru *run) createdSinceStart(ctx context.Context, value string) (string, error) {
	l, ok := ru.tgt.Importer.(idp.Looker)
	if !ok || ru.runStarted.IsZero() {
		return "", nil
	}
	ident := ru.identifier
	if ident == "" {
		ident = "email"
	}
	t, err := l.LookupUser(ctx, ident, value)
	if err != nil {
		return "", fmt.Errorf("look up a row sent before: %w", err)
	}
	// A little slack for clocks: the target stamps created_at, this machine the run.
	if t != nil && (t.Source == "" || t.Source == "import") && !t.CreatedAt.Before(ru.runStarted.Add(-time.Minute)) {
		return t.ID, nil
	}
	return "", nil
}

// resolveSent decides a row the interrupted run sent before this attempt: a job outcome
// of that run saying it inserted the row proves the user is this run's (inserted); a
// user found created since the run began without such proof is uncertain (skipped,
// left by undo); otherwise the row is sent again with upsert=false. done says l holds
// the row's outcome.
func (ru *run) resolveSent(ctx context.Context, m rowMeta, l *Line) (done bool, err error) {
	if err := ru.loadProof(ctx); err != nil {
		return false, err
	}
	if id := ru.proof[m.row]; id != "" {
		l.Outcome, l.UserID, l.Reason = strategies.OutcomeInserted, id, reasonRecreated
		ru.markNoPassword(l, m)
		return true, nil
	}
	id, err := ru.createdSinceStart(ctx, m.ident)
	if err != nil || id == "" {
		return false, err
	}
	l.Outcome, l.UserID, l.Uncertain, l.Reason = strategies.OutcomeSkipped, id, true, reasonUncertain
	return true, nil
}

// loadProof reads, once, the job ids the interrupted attempts journalled in sent.ndjson
// and asks the target for those jobs' outcomes (Authgear keeps jobs 24 hours): the rows
// they inserted, with the users' ids, are proven this run's.
func (ru *run) loadProof(ctx context.Context) error {
	if ru.proof != nil {
		return nil
	}
	ru.proof = map[int]string{}
	p, ok := ru.tgt.Importer.(jobPoller)
	if !ok {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(ru.dir, FileSent))
	if err != nil {
		return nil // no journal: nothing proven
	}
	for line := range bytes.Lines(data) {
		var s struct {
			Job  string `json:"job"`
			Rows []int  `json:"rows"`
		}
		if json.Unmarshal(line, &s) != nil || s.Job == "" || !ru.pending(s.Rows) {
			continue
		}
		j, err := p.GetImport(ctx, s.Job)
		if err != nil || j.Status != idp.StatusCompleted {
			ru.log.Debug("job of the interrupted run", "job", s.Job, "err", err)
			continue // gone or unfinished: its rows stay unproven
		}
		for _, d := range j.Details {
			if d.Outcome == "inserted" && d.Index >= 0 && d.Index < len(s.Rows) && d.UserID != "" {
				ru.proof[s.Rows[d.Index]] = d.UserID
			}
		}
	}
	return nil
}

// pending reports whether any of rows still lacks an outcome (so its job is worth asking).
func (ru *run) pending(rows []int) bool {
	for _, r := range rows {
		if !ru.state.Done.has(r) {
			return true
		}
	}
	return false
}
