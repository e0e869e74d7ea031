package mockidp

// Persistence of import jobs: one SQLite transaction per group of queued jobs.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/cutover/cutover/mockidp/internal/jsonscan"
)

// runJobs imports a group of queued jobs in one transaction and returns their results.
// A database error fails the whole group, and nothing of it is stored.
func (s *Server) runJobs(ctx context.Context, group []*job, ids *idGen) ([][]byte, error) {
	tx, err := s.store.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("import: begin: %w", err)
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, `INSERT INTO users (id, email, email_lc, phone, username, username_lc, source, created_at,
		updated_at, password_hash, password_salt, password_format, disabled, profile) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`)
	if err != nil {
		return nil, fmt.Errorf("import: prepare: %w", err)
	}
	defer ins.Close()
	finds := map[string]*sql.Stmt{}
	find := func(identifier string) (*sql.Stmt, error) {
		if st := finds[identifier]; st != nil {
			return st, nil
		}
		col := "username_lc"
		switch identifier {
		case IdentifierEmail:
			col = "email_lc"
		case IdentifierPhone:
			col = "phone"
		}
		st, err := tx.PrepareContext(ctx, "SELECT id, COALESCE(profile,'') FROM users WHERE "+col+" = ?")
		if err != nil {
			return nil, fmt.Errorf("import: prepare: %w", err)
		}
		finds[identifier] = st
		return st, nil
	}
	defer func() {
		for _, st := range finds {
			st.Close()
		}
	}()
	all := make([][]ImportDetail, len(group))
	for gi, j := range group {
		details := make([]ImportDetail, len(j.records))
		if err := s.importRecords(ctx, tx, j, details, ins, find, ids); err != nil {
			return nil, err
		}
		all[gi] = details
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("import: commit: %w", err)
	}
	out := make([][]byte, len(group))
	for gi, j := range group {
		var sum ImportSummary
		sum.Total = len(all[gi])
		for i := range all[gi] {
			switch all[gi][i].Outcome {
			case OutcomeInserted:
				sum.Inserted++
			case OutcomeUpdated:
				sum.Updated++
			case OutcomeSkipped:
				sum.Skipped++
			default:
				sum.Failed++
			}
		}
		out[gi] = s.marshalJob(j, all[gi], sum)
	}
	return out, nil
}

// importRecords imports one job's records. A new user is inserted straight away; only
// when that breaks a unique index is the identifier looked up, to tell an existing user
// (skipped, or updated on upsert) from a clash with another user's identifier.
func (s *Server) importRecords(ctx context.Context, tx *sql.Tx, j *job, details []ImportDetail,
	ins *sql.Stmt, find func(string) (*sql.Stmt, error), ids *idGen) error {
	nowT := s.now()
	for i := range j.records {
		p := &j.records[i]
		d := &details[i]
		d.Index, d.Record = i, p.echo
		if p.err != nil {
			d.Outcome, d.Errors = OutcomeFailed, []*APIError{p.err}
			continue
		}
		im := recordImport{s: s, tx: tx, j: j, rec: p.rec, d: d, find: find, now: nowT.UnixMilli()}
		if err := im.run(ctx, ins, ids.next(nowT)); err != nil {
			return fmt.Errorf("import: record %d: %w", i, err)
		}
	}
	return nil
}

// recordImport imports one valid record within a job's transaction.
type recordImport struct {
	s    *Server
	tx   *sql.Tx
	j    *job
	rec  *importRecord
	d    *ImportDetail
	find func(string) (*sql.Stmt, error)
	now  int64
}

func (im *recordImport) run(ctx context.Context, ins *sql.Stmt, id string) error {
	rec, d := im.rec, im.d
	if rec.password != nil && rec.password.err != nil {
		// Authgear finds a bad hash only when it stores it, for a new user: an existing
		// user is skipped or updated as if the hash were good.
		return im.existing(ctx, rec.password.err)
	}
	var hash, salt, format any
	if rec.password != nil {
		hash, salt, format = rec.password.hash, nullStr(rec.password.salt), rec.password.typ
	}
	disabled := rec.disabled != nil && *rec.disabled
	_, err := ins.ExecContext(ctx, id, nullStr(rec.email.v), lowerOrNil(rec.email.v), nullStr(rec.phone.v),
		nullStr(rec.username.v), lowerOrNil(rec.username.v), SourceImport, im.now, im.now, hash, salt, format, disabled,
		rawOrNil(mergeProfile(nil, rec.profile)))
	if err == nil {
		d.Outcome, d.UserID = OutcomeInserted, id
		return nil
	}
	conflict := conflictError(err)
	if conflict == nil {
		return fmt.Errorf("insert: %w", err)
	}
	return im.existing(ctx, conflict)
}

// existing looks the record's user up by the import's identifier: a user found is
// skipped, or updated on upsert; none found fails the record with notFound.
func (im *recordImport) existing(ctx context.Context, notFound *APIError) error {
	st, err := im.find(im.j.identifier)
	if err != nil {
		return err
	}
	var id, profile string
	err = st.QueryRowContext(ctx, identifierValue(im.rec, im.j.identifier, im.s.cfg.Profile)).Scan(&id, &profile)
	d := im.d
	switch {
	case errors.Is(err, sql.ErrNoRows):
		d.Outcome, d.Errors = OutcomeFailed, []*APIError{notFound}
	case err != nil:
		return fmt.Errorf("look up: %w", err)
	case !im.j.upsert:
		d.Outcome, d.UserID = OutcomeSkipped, id
		d.Warnings = []ImportWarning{{Message: "skipping because upsert = false and user exists"}}
	default:
		// As at Authgear, an upsert ignores the password without a warning.
		if e := im.s.upsertRecord(ctx, im.tx, id, profile, im.rec, im.now); e != nil {
			d.Outcome, d.Errors = OutcomeFailed, []*APIError{e}
			return nil
		}
		d.Outcome, d.UserID = OutcomeUpdated, id
	}
	return nil
}

// identifierValue is the value an existing user is looked up by. Authgear looks an email
// up by the value as sent while it stores it lower-cased, so in the authgear profile an
// email with upper-case letters never finds its user and fails as a duplicate, even on a
// re-run of the same record (issue 15); the permissive profile finds it in any case.
func identifierValue(rec *importRecord, identifier, profile string) string {
	switch identifier {
	case IdentifierEmail:
		if profile != ProfilePermissive {
			return rec.email.v
		}
		return strings.ToLower(rec.email.v)
	case IdentifierPhone:
		return rec.phone.v
	default:
		return strings.ToLower(rec.username.v)
	}
}

// conflictError turns a unique-constraint failure into the record's error, in
// Authgear's shape whichever identity clashed; nil for any other error.
func conflictError(err error) *APIError {
	msg := err.Error()
	if !strings.Contains(msg, "UNIQUE constraint failed") {
		return nil
	}
	// Authgear names the clashing login id's type (email, phone or username).
	typ := "username"
	switch {
	case strings.Contains(msg, "email_lc"):
		typ = "email"
	case strings.Contains(msg, "phone"):
		typ = "phone"
	}
	return &APIError{Name: "Invalid", Reason: "InvariantViolated", Code: http.StatusBadRequest,
		Message: "identity already exists", Info: map[string]any{"cause": map[string]any{"kind": "DuplicatedIdentity"},
			"IdentityTypeExisting": "login_id", "IdentityTypeIncoming": "login_id", "LoginIDTypeExisting": typ, "LoginIDTypeIncoming": typ}}
}

// upsertRecord updates an existing user: identity and standard attributes when present
// (removed when null), flags when present; password and MFA secrets are ignored.
func (s *Server) upsertRecord(ctx context.Context, tx *sql.Tx, id, oldProfile string, rec *importRecord, now int64) *APIError {
	sets := []string{"updated_at = ?"}
	args := []any{now}
	for _, f := range []struct {
		o        opt
		col, lc  string
		lowerize bool
	}{{rec.email, "email", "email_lc", true}, {rec.phone, "phone", "", false}, {rec.username, "username", "username_lc", true}} {
		if !f.o.set {
			continue
		}
		sets, args = append(sets, f.col+" = ?"), append(args, nullStr(f.o.v))
		if f.lc != "" {
			sets, args = append(sets, f.lc+" = ?"), append(args, lowerOrNil(f.o.v))
		}
	}
	if rec.disabled != nil {
		sets, args = append(sets, "disabled = ?"), append(args, *rec.disabled)
	}
	if len(rec.profile) > 0 {
		sets, args = append(sets, "profile = ?"), append(args, rawOrNil(mergeProfile([]byte(oldProfile), rec.profile)))
	}
	args = append(args, id)
	if _, err := tx.ExecContext(ctx, "UPDATE users SET "+strings.Join(sets, ", ")+" WHERE id = ?", args...); err != nil {
		if e := conflictError(err); e != nil {
			return e
		}
		return apiErr(http.StatusInternalServerError, "InternalError", "UnexpectedError", "update user: "+err.Error())
	}
	return nil
}

// mergeProfile applies changes to old (a stored profile, or empty): null removes a key,
// anything else sets it. The result has sorted keys and compact values; nil when empty.
func mergeProfile(old []byte, changes []jsonscan.Member) json.RawMessage {
	var ms []jsonscan.Member
	if len(old) > 0 {
		ms, _ = jsonscan.Object(old, internedKeys)
	}
	for _, c := range changes {
		i := slices.IndexFunc(ms, func(m jsonscan.Member) bool { return m.Key == c.Key })
		switch {
		case string(c.Val) == "null" && i >= 0:
			ms = slices.Delete(ms, i, i+1)
		case string(c.Val) == "null":
		case i >= 0:
			ms[i].Val = c.Val
		default:
			ms = append(ms, c)
		}
	}
	if len(ms) == 0 {
		return nil
	}
	return jsonscan.AppendObject(nil, ms)
}
