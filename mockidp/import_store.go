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
		if j.err == nil {
			all[gi] = details
		}
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
		if identifierOf(p.rec, j.identifier).null {
			// Authgear's schema lets the import's identifier be null and its importer
			// then dereferences it: the task panics, and the job completes with an
			// unexpected error and no details, though the records before it were
			// imported.
			j.err = unexpectedError()
			clear(details)
			return nil
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
	cfg := &im.s.cfg
	// The login ids the project allows; the others are ignored with a warning.
	email, phone, username := im.allowed(rec.email, IdentifierEmail), im.allowed(rec.phone, IdentifierPhone), im.allowed(rec.username, IdentifierUsername)
	if username.v != "" {
		if e := usernameError(username.v); e != nil {
			d.Outcome, d.Errors = OutcomeFailed, []*APIError{e}
			return nil
		}
	}
	warnings := insertWarnings(rec, cfg, email.v != "", phone.v != "")
	// Authgear assigns roles and groups before it stores the password, so an unknown role
	// wins over a bad hash; both are found only for a new user.
	fault := im.s.rolesGroupsError(rec)
	if fault == nil && rec.password != nil {
		fault = rec.password.err
	}
	if fault != nil {
		return im.existing(ctx, fault, warnings)
	}
	var hash, salt, format any
	if rec.password != nil {
		hash, salt, format = rec.password.hash, nullStr(rec.password.salt), rec.password.typ
	}
	disabled := rec.disabled != nil && *rec.disabled
	_, err := ins.ExecContext(ctx, id, nullStr(email.v), lowerOrNil(email.v), nullStr(phone.v),
		nullStr(username.v), lowerOrNil(username.v), SourceImport, im.now, im.now, hash, salt, format, disabled,
		rawOrNil(mergeProfile(nil, rec.profile)))
	if err == nil {
		d.Outcome, d.UserID, d.Warnings = OutcomeInserted, id, warnings
		return nil
	}
	conflict := conflictError(err)
	if conflict == nil {
		return fmt.Errorf("insert: %w", err)
	}
	return im.existing(ctx, conflict, warnings)
}

// allowed is the identifier o of record key k if the project allows it as a login id,
// and nothing otherwise.
func (im *recordImport) allowed(o opt, k string) opt {
	if o.null || !im.s.cfg.loginID(k) {
		return opt{}
	}
	return o
}

// insertWarnings are the warnings Authgear gives a record it inserts, in its order:
// identities null or not allowed as login ids, verified flags without effect, disabled =
// false, mfa keys null. hasEmail and hasPhone say whether the user gets those login ids.
func insertWarnings(rec *importRecord, cfg *Config, hasEmail, hasPhone bool) []ImportWarning {
	var w []ImportWarning
	add := func(m string) { w = append(w, ImportWarning{Message: m}) }
	for _, f := range []struct {
		o opt
		k string
	}{{rec.email, IdentifierEmail}, {rec.phone, IdentifierPhone}, {rec.username, IdentifierUsername}} {
		switch {
		case !f.o.set:
		case f.o.null:
			add(f.k + " = null has no effect in insert.")
		case !cfg.loginID(f.k):
			add(f.k + " is ignored because it is not an allowed login ID.")
		}
	}
	for _, f := range []struct {
		flag, claim string
		has         bool
	}{{"email_verified", "email", hasEmail}, {"phone_number_verified", "phone_number", hasPhone}} {
		v, ok := profileValue(rec.profile, f.flag)
		switch {
		case !ok:
		case v == "false":
			add(f.flag + " = false has no effect in insert.")
		case !f.has:
			add(f.flag + " = true has no effect when " + f.claim + " is absent.")
		}
	}
	if rec.disabled != nil && !*rec.disabled {
		add("disabled = false has no effect in insert.")
	}
	for _, k := range []string{"email", "phone_number"} {
		if slices.Contains(rec.mfaNull, k) {
			add("mfa." + k + " = null has no effect in insert.")
		}
	}
	return w
}

func profileValue(ms []jsonscan.Member, k string) (string, bool) {
	for _, m := range ms {
		if m.Key == k {
			return string(m.Val), true
		}
	}
	return "", false
}

// rolesGroupsError is Authgear's error for a record naming roles or groups the project
// does not define (Config.Roles, Config.Groups), roles first; nil in the permissive
// profile.
func (s *Server) rolesGroupsError(rec *importRecord) *APIError {
	if s.cfg.Profile == ProfilePermissive {
		return nil
	}
	for _, f := range []struct {
		key, reason, msg string
		defined          []string
	}{{"roles", "RoleUnknownKeys", "unknown role keys", s.cfg.Roles}, {"groups", "GroupUnknownKeys", "unknown group keys", s.cfg.Groups}} {
		v, ok := profileValue(rec.profile, f.key)
		if !ok || v == "null" {
			continue
		}
		var missing []string
		for _, item := range jsonscan.Array(json.RawMessage(v)) {
			var k string
			if jsonscan.String(item, &k) == nil && !slices.Contains(f.defined, k) && !slices.Contains(missing, k) {
				missing = append(missing, k)
			}
		}
		if len(missing) > 0 {
			return &APIError{Name: "NotFound", Reason: f.reason, Message: f.msg, Code: http.StatusNotFound,
				Info: map[string]any{"keys": missing}}
		}
	}
	return nil
}

// existing looks the record's user up by the import's identifier: a user found is
// skipped, or updated on upsert; none found fails the record with notFound.
func (im *recordImport) existing(ctx context.Context, notFound *APIError, warnings []ImportWarning) error {
	st, err := im.find(im.j.identifier)
	if err != nil {
		return err
	}
	var id, profile string
	err = st.QueryRowContext(ctx, identifierValue(im.rec, im.j.identifier, im.s.cfg.Profile)).Scan(&id, &profile)
	d := im.d
	switch {
	case errors.Is(err, sql.ErrNoRows):
		// Authgear keeps the warnings it gave before the insert failed.
		d.Outcome, d.Errors, d.Warnings = OutcomeFailed, []*APIError{notFound}, warnings
	case err != nil:
		return fmt.Errorf("look up: %w", err)
	case !im.j.upsert:
		d.Outcome, d.UserID = OutcomeSkipped, id
		d.Warnings = []ImportWarning{{Message: "skipping because upsert = false and user exists"}}
	default:
		// As at Authgear, an upsert ignores the password without a warning; roles and
		// groups are reset, so unknown ones fail it.
		e := im.s.rolesGroupsError(im.rec)
		if e == nil {
			e = im.s.upsertRecord(ctx, im.tx, id, profile, im.rec, im.now)
		}
		if e != nil {
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
		k        string
	}{{rec.email, "email", "email_lc", true, IdentifierEmail}, {rec.phone, "phone", "", false, IdentifierPhone},
		{rec.username, "username", "username_lc", true, IdentifierUsername}} {
		if !f.o.set || !s.cfg.loginID(f.k) {
			continue
		}
		if f.k == IdentifierUsername && f.o.v != "" {
			if e := usernameError(f.o.v); e != nil {
				return e
			}
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

// identifierOf is the record's value of the import's identifier.
func identifierOf(rec *importRecord, identifier string) opt {
	switch identifier {
	case IdentifierEmail:
		return rec.email
	case IdentifierPhone:
		return rec.phone
	default:
		return rec.username
	}
}
