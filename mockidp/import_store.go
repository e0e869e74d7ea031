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
	now := nowT.UnixMilli()
	for i := range j.records {
		p := &j.records[i]
		d := &details[i]
		d.Index, d.Record = i, p.echo
		if p.err != nil {
			d.Outcome, d.Errors = OutcomeFailed, []*APIError{p.err}
			continue
		}
		rec := p.rec
		id := ids.next(nowT)
		var hash, salt, format any
		if rec.password != nil {
			hash, salt, format = rec.password.hash, nullStr(rec.password.salt), rec.password.typ
		}
		disabled := rec.disabled != nil && *rec.disabled
		_, err := ins.ExecContext(ctx, id, nullStr(rec.email.v), lowerOrNil(rec.email.v), nullStr(rec.phone.v),
			nullStr(rec.username.v), lowerOrNil(rec.username.v), SourceImport, now, now, hash, salt, format, disabled,
			rawOrNil(mergeProfile(nil, rec.profile)))
		if err == nil {
			d.Outcome, d.UserID = OutcomeInserted, id
			continue
		}
		conflict := conflictError(err)
		if conflict == nil {
			return fmt.Errorf("import: insert record %d: %w", i, err)
		}
		st, err := find(j.identifier)
		if err != nil {
			return err
		}
		var profile string
		err = st.QueryRowContext(ctx, identifierValue(rec, j.identifier)).Scan(&id, &profile)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			d.Outcome, d.Errors = OutcomeFailed, []*APIError{conflict}
		case err != nil:
			return fmt.Errorf("import: look up record %d: %w", i, err)
		case !j.upsert:
			d.Outcome, d.UserID = OutcomeSkipped, id
			d.Warnings = []ImportWarning{{Message: "skipping because upsert = false and user exists"}}
		default:
			if e := s.upsertRecord(ctx, tx, id, profile, rec, now); e != nil {
				d.Outcome, d.Errors = OutcomeFailed, []*APIError{e}
				continue
			}
			d.Outcome, d.UserID = OutcomeUpdated, id
			if rec.password != nil {
				d.Warnings = []ImportWarning{{Message: "password is ignored because the user exists (upsert)"}}
			}
		}
	}
	return nil
}

func identifierValue(rec *importRecord, identifier string) string {
	switch identifier {
	case IdentifierEmail:
		return strings.ToLower(rec.email.v)
	case IdentifierPhone:
		return rec.phone.v
	default:
		return strings.ToLower(rec.username.v)
	}
}

// conflictError turns a unique-constraint failure into the record's error.
func conflictError(err error) *APIError {
	msg := err.Error()
	if !strings.Contains(msg, "UNIQUE constraint failed") {
		return nil
	}
	field := "identifier"
	switch {
	case strings.Contains(msg, "email_lc"):
		field = "email"
	case strings.Contains(msg, "phone"):
		field = "phone_number"
	case strings.Contains(msg, "username_lc"):
		field = "preferred_username"
	}
	return &APIError{Name: "AlreadyExists", Reason: "DuplicatedIdentity", Code: http.StatusConflict,
		Message: field + " already belongs to another user; fix the duplicate in the source data"}
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
