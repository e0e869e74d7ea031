package bulk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
	reasonRecreated   = "created by the interrupted run (its job's outcome was lost; found at the target)"
	reasonExists      = "exists at the target"
	reasonNoOutcome   = "target_error: the import job reported no outcome for this record"
	reasonLostAnswer  = "created by a request whose answer was lost (sent again; found at the target)"
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

// read is the producer: it reads the source in order, maps every record (so duplicate
// detection sees the same rows on every attempt), and packs the rows of this attempt.
func (ru *run) read(ctx context.Context, free, work, done chan *unit) error {
	var cur, rec *unit // rec: rows a crashed attempt may have sent, re-sent with upsert=false
	upsert := ru.plan.Bulk.Upsert
	scratch := make([]byte, 0, 4096)
	take := func(recovery bool) (*unit, error) {
		select {
		case u := <-free:
			u.reset()
			u.recovery = recovery
			u.upsert = upsert && !recovery
			u.batch.Reset(u.upsert, ru.identifier)
			return u, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	send := func(u *unit) error {
		ch := work
		if len(u.rows) == 0 {
			ch = done
		}
		select {
		case ch <- u:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := ru.src.Read(ctx, "", func(r sources.Record) error {
		var u *strategies.User
		var errs []*strategies.Error
		if r.Err == nil {
			u, errs = ru.mapper.Map(r)
		}
		if ru.onlyFailed && !ru.state.Failed.has(r.Row) || !ru.onlyFailed && ru.state.Done.has(r.Row) {
			return nil
		}
		if cur == nil {
			var err error
			if cur, err = take(false); err != nil {
				return err
			}
		}
		l := Line{Row: r.Row, Line: r.Line, pos: r.Pos}
		if u != nil {
			l.LegacyID = u.LegacyID
			if ru.plan.Bulk.LogEmails {
				l.Email = u.Email
			}
		}
		local := func(o strategies.Outcome, why string) error {
			l.Outcome, l.Reason = o, why
			cur.lines = append(cur.lines, l)
			if len(cur.lines) >= maxLocalLines {
				err := send(cur)
				cur = nil
				return err
			}
			return nil
		}
		known := ""
		if ru.known != nil && u != nil {
			known = ru.known(u)
		}
		switch {
		case known != "" && (r.Err != nil || len(errs) > 0):
			return local(strategies.OutcomeSkipped, known)
		case r.Err != nil:
			return local(strategies.OutcomeInvalid, reason(r.Err))
		case len(errs) > 0:
			return local(strategies.OutcomeInvalid, reason(errs[0]))
		}
		pw, noPW, o, why := ru.password(u)
		if o != "" && known != "" {
			o, noPW = "", why // checking the user is at the target matters more than the hash
		}
		if o != "" {
			return local(o, why)
		}
		var err error
		if scratch, err = idp.AppendRecord(scratch[:0], u, pw); err != nil {
			return local(strategies.OutcomeInvalid, string(strategies.CodeInvalidValue)+": "+err.Error())
		}
		if len(scratch) > cur.batch.MaxRecord() {
			return local(strategies.OutcomeFailed, reasonTooLarge)
		}
		resent := !ru.onlyFailed && ru.state.Sent.has(r.Row) // the interrupted run sent it
		recovery := (resent || known != "") && upsert        // so it goes with upsert=false
		if resent {
			// Check before sending again: a user the interrupted run created is recorded
			// as inserted by it (so undo finds it), not as skipped by this run.
			id, err := ru.createdByRun(ctx, identifierOf(u, ru.identifier))
			if err != nil {
				return err
			}
			if id != "" {
				l.UserID, l.WithoutPassword = id, noPW != ""
				why := ""
				if l.WithoutPassword {
					why = withoutPWReasonFn + noPW
				}
				return local(strategies.OutcomeInserted, why)
			}
		}
		dst := &cur
		if recovery {
			dst = &rec
			if rec == nil {
				if rec, err = take(true); err != nil {
					return err
				}
			}
		}
		if !(*dst).batch.Fits(len(scratch)) {
			if err := send(*dst); err != nil {
				return err
			}
			if *dst, err = take(recovery); err != nil {
				return err
			}
		}
		b := (*dst).batch
		start := b.Size()
		if b.Len() > 0 {
			start++
		}
		b.Add(scratch)
		m := rowMeta{row: r.Row, line: r.Line, legacyID: l.LegacyID, email: l.Email, pos: r.Pos,
			start: start, end: start + len(scratch), noPassword: noPW, known: known}
		m.ident = identifierOf(u, ru.identifier)
		(*dst).rows = append((*dst).rows, m)
		return nil
	})
	for _, u := range []*unit{cur, rec} {
		if u == nil {
			continue
		}
		if u.empty() {
			free <- u
			continue
		}
		if serr := send(u); serr != nil && err == nil {
			err = serr
		}
	}
	if err != nil {
		return fmt.Errorf("read source: %w", err)
	}
	return nil
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
		return nil, "", "", ""
	}
	s := passwords.Stored{Hash: u.PasswordHash, Salt: u.PasswordSalt, Format: u.PasswordFormat}
	if hash, typ, ok := ru.verifier.Convert(s, ru.tgt.Profile); ok {
		pw = &idp.Password{Type: typ, Hash: hash}
		if ru.tgt.Profile == strategies.ProfilePermissive {
			pw.Salt = u.PasswordSalt
		}
		return pw, "", "", ""
	}
	format := u.PasswordFormat
	if format == "" || format == "auto" {
		if d, err := ru.verifier.Detect(s); err == nil {
			format = d.Format
		} else {
			format = "unknown"
		}
	}
	why = fmt.Sprintf("%s: %s (the %s target cannot import this format)", strategies.CodeUnsupportedHash, format, ru.tgt.Profile)
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
		u.lines = append(u.lines, Line{Row: m.row, Line: m.line, LegacyID: m.legacyID, Email: m.email, pos: m.pos})
	}
	out := u.lines[base:]
	if ru.dryRun {
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
	if err := ru.journal(u.rows); err != nil {
		return err
	}
	body := u.batch.Body()
	return ru.post(ctx, body[:u.rows[0].start], body, u.rows, out, u.recovery, &u.poll)
}

// journal records, before posting, which rows a batch carries: after a crash those rows'
// fate is unknown and --resume re-sends them with upsert=false.
func (ru *run) journal(rows []rowMeta) error {
	buf := make([]byte, 0, 16+8*len(rows))
	buf = append(buf, `{"batch":`...)
	buf = strconv.AppendInt(buf, ru.batchSeq.Add(1), 10)
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
func (ru *run) post(ctx context.Context, hdr, body []byte, rows []rowMeta, out []Line, recovery bool, pt *pollTimer) error {
	job, err := ru.importBody(ctx, body, len(rows), pt)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if idp.IsTooLarge(err) {
			if len(rows) == 1 {
				out[0].Outcome, out[0].Reason = strategies.OutcomeFailed, reasonTooLarge
				return nil
			}
			mid := len(rows) / 2
			for _, part := range [][2]int{{0, mid}, {mid, len(rows)}} {
				b, rs := subBatch(hdr, body, rows[part[0]:part[1]])
				if err := ru.post(ctx, hdr, b, rs, out[part[0]:part[1]], recovery, pt); err != nil {
					return err
				}
			}
			return nil
		}
		var ae *idp.APIError
		if errors.As(err, &ae) && ae.Status >= 400 && ae.Status < 500 &&
			ae.Status != http.StatusUnauthorized && ae.Status != http.StatusForbidden &&
			ae.Status != http.StatusTooManyRequests && ae.Status != http.StatusRequestTimeout {
			for i := range out {
				out[i].Outcome, out[i].Reason = strategies.OutcomeFailed, "target_refused_batch: "+ae.Error()
			}
			return nil
		}
		return fmt.Errorf("%w: %w", errAbort, err)
	}
	seen := make([]bool, len(rows))
	for i := range job.Details {
		d := &job.Details[i]
		if d.Index < 0 || d.Index >= len(rows) || seen[d.Index] {
			continue
		}
		seen[d.Index] = true
		l := &out[d.Index]
		l.UserID = d.UserID
		switch d.Outcome {
		case "inserted":
			l.Outcome = strategies.OutcomeInserted
			l.Rescued = rows[d.Index].known != ""
		case "updated":
			l.Outcome = strategies.OutcomeUpdated
		case "skipped":
			l.Outcome, l.Reason = strategies.OutcomeSkipped, d.Reason()
			switch {
			case rows[d.Index].known != "":
				l.Reason = rows[d.Index].known
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
		ru.markNoPassword(l, rows[d.Index])
	}
	for i := range rows {
		if !seen[i] {
			out[i].Outcome, out[i].Reason = strategies.OutcomeFailed, reasonNoOutcome
		}
	}
	if job.Resent {
		return ru.resolveResent(ctx, rows, out)
	}
	return nil
}

// resolveResent looks up the skipped rows of a job whose request had to be sent again:
// if an earlier attempt's answer was lost after the target took it, an earlier job
// created them, and they are this run's, to be recorded as inserted (so undo finds
// them), not as users that were there before.
func (ru *run) resolveResent(ctx context.Context, rows []rowMeta, out []Line) error {
	for i := range out {
		if out[i].Outcome != strategies.OutcomeSkipped {
			continue
		}
		id, err := ru.createdByRun(ctx, rows[i].ident)
		if err != nil {
			return fmt.Errorf("%w: %w", errAbort, err)
		}
		if id == "" {
			continue
		}
		out[i].Outcome, out[i].UserID, out[i].Reason = strategies.OutcomeInserted, id, reasonLostAnswer
		out[i].Rescued = rows[i].known != ""
		ru.markNoPassword(&out[i], rows[i])
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
func (ru *run) importBody(ctx context.Context, body []byte, n int, pt *pollTimer) (*idp.Job, error) {
	p, ok := ru.tgt.Importer.(jobPoller)
	if !ok {
		return ru.tgt.Importer.Import(ctx, body)
	}
	start := time.Now()
	j, err := p.StartImport(ctx, body)
	if err != nil {
		return nil, err
	}
	if j.Status == idp.StatusCompleted && j.Summary != nil {
		return j, nil
	}
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
	took := time.Since(start) / time.Duration(max(n, 1))
	if pt.perRecord == 0 {
		pt.perRecord = took
	} else {
		pt.perRecord = (3*pt.perRecord + took) / 4
	}
	return j, nil
}

// markNoPassword notes on an inserted row that it went without its password.
func (ru *run) markNoPassword(l *Line, m rowMeta) {
	if m.noPassword != "" && l.Outcome == strategies.OutcomeInserted {
		l.WithoutPassword = true
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
	if time.Since(ru.lastCP) >= checkpointEvery {
		ru.lastCP = time.Now()
		if err := ru.writeCheckpoint(false); err != nil {
			return err
		}
	}
	ru.progress(false)
	return nil
}

// createdByRun asks a target that can look users up (Authgear's getUserByLoginID, the
// mock IdP's too) whether u's identifier belongs to a user this run imported before it
// was interrupted: created since the run started, by an import where the target says.
// It returns that user's id, or "" when there is none or the target cannot say (the row
// is then sent again with upsert=false, which cannot create it twice).
func (ru *run) createdByRun(ctx context.Context, value string) (string, error) {
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
