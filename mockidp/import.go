package mockidp

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies/passwords"
)

// BodyMaxSize is the import API's body limit: 500 KB, decimal, as Authgear.
const BodyMaxSize = 500_000

// maxTxRecords bounds how many records of queued jobs one SQLite transaction imports.
// Jobs waiting in the queue are imported together: each commit writes every index page
// it dirtied, so few large transactions write far less than many small ones.
const maxTxRecords = 16384

// Import job statuses and record outcomes.
const (
	StatusPending   = "pending"
	StatusCompleted = "completed"

	OutcomeInserted = "inserted"
	OutcomeUpdated  = "updated"
	OutcomeSkipped  = "skipped"
	OutcomeFailed   = "failed"
)

// Identifiers an import may key on.
const (
	IdentifierEmail    = "email"
	IdentifierPhone    = "phone_number"
	IdentifierUsername = "preferred_username"
)

// ImportSummary counts the outcomes of a job.
type ImportSummary struct {
	Total    int `json:"total"`
	Inserted int `json:"inserted"`
	Updated  int `json:"updated"`
	Skipped  int `json:"skipped"`
	Failed   int `json:"failed"`
}

// ImportWarning is a non-fatal remark about a record.
type ImportWarning struct {
	Message string `json:"message"`
}

// ImportDetail is the outcome of one record.
type ImportDetail struct {
	Index    int             `json:"index"`
	Record   json.RawMessage `json:"record,omitempty"`
	Outcome  string          `json:"outcome,omitempty"`
	UserID   string          `json:"user_id,omitempty"`
	Warnings []ImportWarning `json:"warnings,omitempty"`
	Errors   []*APIError     `json:"errors,omitempty"`
}

// ImportJob is the import API's job object, as POST and GET return it.
type ImportJob struct {
	ID          string         `json:"id,omitempty"`
	CreatedAt   *time.Time     `json:"created_at,omitempty"`
	CompletedAt *time.Time     `json:"completed_at,omitempty"`
	Status      string         `json:"status,omitempty"`
	Summary     *ImportSummary `json:"summary,omitempty"`
	Details     []ImportDetail `json:"details,omitempty"`
}

// importRecord is a validated record. Absent fields are zero; opt fields keep null apart
// from absent because null removes an attribute on upsert.
type importRecord struct {
	email, phone, username opt
	disabled               *bool
	password               *importPassword
	// profile holds every other attribute, raw and validated, each key once; json null
	// means remove.
	profile []member
}

type opt struct {
	set, null bool
	v         string
}

type importPassword struct {
	typ, hash, salt string
}

var stringAttrs = map[string]bool{
	"name": true, "given_name": true, "family_name": true, "middle_name": true, "nickname": true,
	"profile": true, "picture": true, "website": true, "gender": true, "birthdate": true,
	"zoneinfo": true, "locale": true,
}

var addressKeys = map[string]bool{
	"formatted": true, "street_address": true, "locality": true, "region": true, "postal_code": true, "country": true,
}

// recordError builds the per-record error Authgear reports for a schema violation.
func recordError(location, kind, msg string) *APIError {
	return &APIError{Name: "Invalid", Reason: "ValidationFailed", Message: msg, Code: http.StatusBadRequest,
		Info: map[string]any{"causes": []map[string]any{{"location": location, "kind": kind}}}}
}

// decodeImportRecord validates one record against the strict schema of the profile.
// raw must be valid JSON (DecodeImportRequest checked the whole body).
func decodeImportRecord(raw json.RawMessage, identifier, profile string, ver *passwords.Verifier) (*importRecord, json.RawMessage, *APIError) {
	ms, ok := objectMembers(raw)
	if !ok {
		return nil, raw, recordError("", "type", "record must be a JSON object")
	}
	rec, e := validateRecord(ms, identifier, profile, ver)
	return rec, redactMembers(raw, ms), e
}

func validateRecord(ms []member, identifier, profile string, ver *passwords.Verifier) (*importRecord, *APIError) {
	rec := &importRecord{}
	for _, m := range ms {
		k, v := m.key, m.val
		isNull := string(v) == "null"
		switch {
		case k == "email" || k == "phone_number" || k == "preferred_username":
			o := opt{set: true, null: isNull}
			if !isNull {
				if err := unmarshalString(v, &o.v); err != nil {
					return nil, recordError("/"+k, "type", k+" must be a string or null")
				}
				if e := checkIdentifier(k, o.v); e != nil {
					return nil, e
				}
			}
			switch k {
			case "email":
				rec.email = o
			case "phone_number":
				rec.phone = o
			default:
				rec.username = o
			}
		case stringAttrs[k] || k == "account_valid_from" || k == "account_valid_until":
			if !isNull {
				var s string
				if err := unmarshalString(v, &s); err != nil {
					return nil, recordError("/"+k, "type", k+" must be a string or null")
				}
				if strings.HasPrefix(k, "account_valid") {
					if _, err := time.Parse(time.RFC3339, s); err != nil {
						return nil, recordError("/"+k, "format", k+" must be an RFC 3339 date-time such as 2025-01-31T00:00:00Z")
					}
				}
			}
			rec.setProfile(k, v)
		case k == "email_verified" || k == "phone_number_verified" || k == "disabled":
			var b bool
			if isNull || unmarshalBool(v, &b) != nil {
				return nil, recordError("/"+k, "type", k+" must be true or false")
			}
			if k == "disabled" {
				rec.disabled = &b
			} else {
				rec.setProfile(k, v)
			}
		case k == "address":
			if !isNull {
				a, ok := objectMembers(v)
				if !ok {
					return nil, recordError("/address", "type", "address must be an object or null")
				}
				for _, am := range a {
					ak := am.key
					var s string
					if !addressKeys[ak] {
						return nil, recordError("/address/"+ak, "additionalProperties", fmt.Sprintf("address has unknown key %q; allowed: formatted, street_address, locality, region, postal_code, country", ak))
					}
					if unmarshalString(am.val, &s) != nil {
						return nil, recordError("/address/"+ak, "type", "address."+ak+" must be a string")
					}
				}
			}
			rec.setProfile(k, v)
		case k == "custom_attributes":
			if _, ok := objectMembers(v); !ok {
				return nil, recordError("/custom_attributes", "type", "custom_attributes must be an object")
			}
			rec.setProfile(k, v)
		case k == "roles" || k == "groups":
			var l []string
			if err := json.Unmarshal(v, &l); err != nil || l == nil {
				return nil, recordError("/"+k, "type", k+" must be an array of strings")
			}
			for i, s := range l {
				if s == "" {
					return nil, recordError(fmt.Sprintf("/%s/%d", k, i), "minLength", k+" entries must not be empty")
				}
			}
			rec.setProfile(k, v)
		case k == "password":
			p, e := decodePassword("/password", v, profile, ver)
			if e != nil {
				return nil, e
			}
			rec.password = p
		case k == "mfa":
			if e := checkMFA(v, profile, ver); e != nil {
				return nil, e
			}
		default:
			return nil, recordError("/"+k, "additionalProperties",
				fmt.Sprintf("unknown key %q: Authgear's import schema does not allow it; remove it or map it to custom_attributes", k))
		}
	}
	var id opt
	switch identifier {
	case IdentifierEmail:
		id = rec.email
	case IdentifierPhone:
		id = rec.phone
	default:
		id = rec.username
	}
	if !id.set || id.null || id.v == "" {
		return nil, recordError("/"+identifier, "required", identifier+" is required because the import's identifier is "+identifier)
	}
	return rec, nil
}

func (r *importRecord) setProfile(k string, v json.RawMessage) {
	r.profile = append(r.profile, member{key: k, val: v})
}

func checkIdentifier(k, v string) *APIError {
	switch k {
	case "email":
		at := strings.IndexByte(v, '@')
		if at <= 0 || at == len(v)-1 || strings.IndexByte(v[at+1:], '@') >= 0 || strings.ContainsAny(v, " \t\r\n<>") {
			return recordError("/email", "format", fmt.Sprintf("email %q is not an email address", v))
		}
	case "phone_number":
		ok := len(v) >= 8 && len(v) <= 16 && v[0] == '+' && v[1] >= '1' && v[1] <= '9'
		for i := 1; ok && i < len(v); i++ {
			ok = v[i] >= '0' && v[i] <= '9'
		}
		if !ok {
			return recordError("/phone_number", "format", fmt.Sprintf("phone_number %q is not in E.164 form (e.g. +14155550123)", v))
		}
	case "preferred_username":
		if v == "" || strings.ContainsAny(v, " \t\r\n@") {
			return recordError("/preferred_username", "format", fmt.Sprintf("preferred_username %q must be non-empty without spaces or @", v))
		}
	}
	return nil
}

func decodePassword(loc string, v json.RawMessage, profile string, ver *passwords.Verifier) (*importPassword, *APIError) {
	ms, ok := objectMembers(v)
	if !ok {
		return nil, recordError(loc, "type", "password must be an object with type and password_hash")
	}
	p := &importPassword{}
	for _, m := range ms {
		k, fv := m.key, m.val
		var s string
		switch k {
		case "type", "password_hash", "expire_after", "salt":
			if k == "salt" && profile != ProfilePermissive {
				return nil, recordError(loc+"/salt", "additionalProperties", `password has unknown key "salt" (only the permissive profile accepts a separate salt)`)
			}
			if unmarshalString(fv, &s) != nil {
				return nil, recordError(loc+"/"+k, "type", "password."+k+" must be a string")
			}
		default:
			return nil, recordError(loc+"/"+k, "additionalProperties", fmt.Sprintf("password has unknown key %q; allowed: type, password_hash, expire_after", k))
		}
		switch k {
		case "type":
			p.typ = s
		case "password_hash":
			p.hash = s
		case "salt":
			p.salt = s
		case "expire_after":
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return nil, recordError(loc+"/expire_after", "format", "password.expire_after must be an RFC 3339 date-time")
			}
		}
	}
	if p.typ == "" {
		return nil, recordError(loc+"/type", "required", "password.type is required")
	}
	if p.hash == "" {
		return nil, recordError(loc+"/password_hash", "required", "password.password_hash is required and must not be empty")
	}
	if profile != ProfilePermissive {
		if p.typ != "bcrypt" {
			return nil, recordError(loc+"/type", "enum", fmt.Sprintf(`password.type %q is not supported: this IdP (profile authgear) imports bcrypt hashes only; migrate other formats lazily, or rehearse with --profile permissive`, p.typ))
		}
		// bcrypt.Cost parses the version and cost without hashing anything.
		if _, err := bcrypt.Cost([]byte(p.hash)); err != nil || len(p.hash) != 60 {
			e := &APIError{Name: "Invalid", Reason: "InvalidBcryptHash", Message: "password.password_hash is not a valid bcrypt hash ($2a$/$2b$/$2y$, 60 characters)", Code: http.StatusBadRequest}
			return nil, e
		}
		return p, nil
	}
	d, err := ver.Detect(passwords.Stored{Hash: p.hash, Salt: p.salt, Format: p.typ})
	if err != nil {
		return nil, recordError(loc+"/password_hash", "format", fmt.Sprintf("password.password_hash is not a recognised %s hash: %v", p.typ, err))
	}
	if d.Format != p.typ && !strings.HasPrefix(p.typ, "recipe:") {
		return nil, recordError(loc+"/type", "enum", fmt.Sprintf("password.type is %q but the hash looks like %q; fix the type", p.typ, d.Format))
	}
	if !passwords.Importable(d.Format, ProfilePermissive) {
		return nil, recordError(loc+"/type", "enum", fmt.Sprintf("password.type %q cannot be verified", p.typ))
	}
	return p, nil
}

func checkMFA(v json.RawMessage, profile string, ver *passwords.Verifier) *APIError {
	ms, ok := objectMembers(v)
	if !ok {
		return recordError("/mfa", "type", "mfa must be an object")
	}
	for _, m := range ms {
		k, fv := m.key, m.val
		loc := "/mfa/" + k
		isNull := string(fv) == "null"
		switch k {
		case "email", "phone_number":
			if isNull {
				continue
			}
			var s string
			if unmarshalString(fv, &s) != nil {
				return recordError(loc, "type", "mfa."+k+" must be a string or null")
			}
			if e := checkIdentifier(k, s); e != nil {
				e.Message = "mfa." + e.Message
				return e
			}
		case "password":
			if _, e := decodePassword(loc, fv, profile, ver); e != nil {
				return e
			}
		case "totp":
			t, ok := objectMembers(fv)
			if !ok {
				return recordError(loc, "type", "mfa.totp must be an object with secret")
			}
			for _, tm := range t {
				var s string
				if tm.key != "secret" {
					return recordError(loc+"/"+tm.key, "additionalProperties", fmt.Sprintf("mfa.totp has unknown key %q; allowed: secret", tm.key))
				}
				if unmarshalString(tm.val, &s) != nil || s == "" {
					return recordError(loc+"/secret", "minLength", "mfa.totp.secret must be a non-empty string")
				}
			}
			if len(t) == 0 {
				return recordError(loc+"/secret", "required", "mfa.totp.secret is required")
			}
		default:
			return recordError(loc, "additionalProperties", fmt.Sprintf("mfa has unknown key %q; allowed: email, phone_number, password, totp", k))
		}
	}
	return nil
}

// redactMembers returns the record to echo: as sent when it holds no secrets, otherwise
// re-encoded from ms (keys sorted) with password, mfa.password and mfa.totp "REDACTED".
func redactMembers(raw json.RawMessage, ms []member) json.RawMessage {
	pw, mfa := -1, -1
	for i, m := range ms {
		switch m.key {
		case "password":
			pw = i
		case "mfa":
			mfa = i
		}
	}
	if pw < 0 && mfa < 0 {
		return raw
	}
	redacted := json.RawMessage(`"REDACTED"`)
	out := make([]member, len(ms))
	copy(out, ms)
	if pw >= 0 {
		out[pw].val = redacted
	}
	if mfa >= 0 {
		if mm, ok := objectMembers(ms[mfa].val); ok {
			for i := range mm {
				if mm[i].key == "password" || mm[i].key == "totp" {
					mm[i].val = redacted
				}
			}
			out[mfa].val = appendObject(nil, mm)
		} else if string(ms[mfa].val) != "null" {
			out[mfa].val = redacted
		}
	}
	return appendObject(make([]byte, 0, len(raw)), out)
}

// appendObject appends ms as a JSON object with sorted keys and compacted values.
// It sorts ms in place.
func appendObject(dst []byte, ms []member) []byte {
	slices.SortFunc(ms, func(a, b member) int { return strings.Compare(a.key, b.key) })
	dst = append(dst, '{')
	for i, m := range ms {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendKeyJSON(dst, m.key)
		dst = append(dst, ':')
		dst = appendCompact(dst, m.val)
	}
	return append(dst, '}')
}

// appendKeyJSON appends k as a JSON string, as encoding/json writes it.
func appendKeyJSON(dst []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		if c := k[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			kb, _ := json.Marshal(k)
			return append(dst, kb...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, k...)
	return append(dst, '"')
}

// appendCompact appends the valid JSON value v without insignificant whitespace.
func appendCompact(dst []byte, v []byte) []byte {
	in := false
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case in && c == '\\':
			i++
		case c == '"':
			in = !in
		case !in && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			b := bytes.NewBuffer(dst)
			if json.Compact(b, v) != nil {
				return append(dst, v...)
			}
			return b.Bytes()
		}
	}
	return append(dst, v...)
}

// importRequest is the top-level body. Fields are pointers to tell absent from zero.
type importRequest struct {
	Upsert     *bool             `json:"upsert"`
	Identifier *string           `json:"identifier"`
	Records    []json.RawMessage `json:"records"`
}

// DecodeImportRequest validates the top level of an import body: only upsert, identifier
// and at least one record. Records themselves are validated one by one later, so one bad
// record does not fail the others. It is exported for fuzzing and for clients' preflight.
func DecodeImportRequest(body []byte) (upsert bool, identifier string, records []json.RawMessage, err *APIError) {
	// Members, not a struct: encoding/json matches struct fields case-insensitively, and
	// Authgear's schema does not ("Records" is an unknown key there). Records stay slices
	// of body; the job keeps body alive until it completes.
	var top []member
	ok := json.Valid(body)
	if ok {
		top, ok = objectMembers(body)
	}
	if !ok {
		msg := "request body is not a JSON object"
		var probe map[string]json.RawMessage
		if e := json.Unmarshal(body, &probe); e != nil {
			msg += ": " + e.Error()
		}
		return false, "", nil, recordError("", "schema", msg)
	}
	var req importRequest
	for _, m := range top {
		k, v := m.key, m.val
		var e error
		switch k {
		case "upsert":
			e = json.Unmarshal(v, &req.Upsert)
		case "identifier":
			e = json.Unmarshal(v, &req.Identifier)
		case "records":
			if v[0] == '[' {
				req.Records = arrayElements(v)
			} else {
				e = json.Unmarshal(v, &req.Records)
			}
		default:
			return false, "", nil, recordError("/"+k, "additionalProperties", fmt.Sprintf("unknown key %q in the request (allowed: upsert, identifier, records)", k))
		}
		if e != nil {
			return false, "", nil, recordError("/"+k, "type", fmt.Sprintf("%s has the wrong type: %v", k, e))
		}
	}
	if req.Identifier == nil {
		return false, "", nil, recordError("/identifier", "required", `identifier is required: "email", "phone_number" or "preferred_username"`)
	}
	switch *req.Identifier {
	case IdentifierEmail, IdentifierPhone, IdentifierUsername:
	default:
		return false, "", nil, recordError("/identifier", "enum", fmt.Sprintf(`identifier %q is not one of "email", "phone_number", "preferred_username"`, *req.Identifier))
	}
	if len(req.Records) == 0 {
		return false, "", nil, recordError("/records", "minItems", "records must hold at least one record")
	}
	return req.Upsert != nil && *req.Upsert, *req.Identifier, req.Records, nil
}

// prepared is a record after validation, ready for the database.
type prepared struct {
	rec  *importRecord
	echo json.RawMessage
	err  *APIError
}

func (s *Server) handleImportCreate(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength > BodyMaxSize {
		writeAPIError(w, tooLarge())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, BodyMaxSize))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeAPIError(w, tooLarge())
			return
		}
		writeAPIError(w, apiErr(http.StatusBadRequest, "BadRequest", "RequestBodyError", "cannot read request body: "+err.Error()))
		return
	}
	upsert, identifier, raws, apiE := DecodeImportRequest(body)
	if apiE != nil {
		writeAPIError(w, apiE)
		return
	}
	// Records are validated here, on the request's goroutine, so concurrent imports
	// validate in parallel; the worker only touches the database.
	recs := make([]prepared, len(raws))
	for i, raw := range raws {
		rec, echo, e := decodeImportRecord(raw, identifier, s.cfg.Profile, s.verifier)
		recs[i] = prepared{rec: rec, echo: echo, err: e}
	}
	now := s.now().UTC()
	j := &job{id: "userimport_" + strings.ToUpper(randomID(20)), createdAt: now, upsert: upsert, identifier: identifier, records: recs}
	if err := s.jobs.submit(r.Context(), j); err != nil {
		writeAPIError(w, apiErr(http.StatusServiceUnavailable, "ServiceUnavailable", "ServerShuttingDown", "the mock IdP is shutting down; retry against a running server"))
		return
	}
	s.log.Debug("import job created", "job", j.id, "records", len(recs))
	writeResult(w, http.StatusOK, ImportJob{ID: j.id, CreatedAt: &now, Status: StatusPending})
}

func tooLarge() *APIError {
	return apiErr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "JSONTooLarge",
		fmt.Sprintf("request body exceeds %d bytes; split the records into smaller batches", BodyMaxSize))
}

func (s *Server) handleImportGet(w http.ResponseWriter, r *http.Request) {
	j := s.jobs.get(r.PathValue("id"))
	if j == nil {
		writeAPIError(w, apiErr(http.StatusNotFound, "NotFound", "UserImportJobNotFound", "no import job with this id (completed jobs are kept for a limited time)"))
		return
	}
	res := s.jobs.result(j)
	if res == nil {
		created := j.createdAt
		writeResult(w, http.StatusOK, ImportJob{ID: j.id, CreatedAt: &created, Status: StatusPending})
		return
	}
	writeRawResult(w, res)
}

// job is one import job.
type job struct {
	id         string
	createdAt  time.Time
	upsert     bool
	identifier string
	records    []prepared

	result  []byte    // the marshalled completed ImportJob, nil while pending
	expires time.Time // when a completed job is forgotten
}

// jobQueue runs import jobs one at a time against the store.
type jobQueue struct {
	s    *Server
	ch   chan *job
	done chan struct{}

	mu   sync.Mutex
	jobs map[string]*job
}

func newJobQueue(s *Server) *jobQueue {
	return &jobQueue{s: s, ch: make(chan *job, 256), done: make(chan struct{}), jobs: map[string]*job{}}
}

func (q *jobQueue) submit(ctx context.Context, j *job) error {
	q.mu.Lock()
	now := q.s.now()
	for id, old := range q.jobs {
		if old.result != nil && now.After(old.expires) {
			delete(q.jobs, id)
		}
	}
	q.jobs[j.id] = j
	q.mu.Unlock()
	select {
	case q.ch <- j:
		return nil
	case <-q.done:
	case <-ctx.Done():
	}
	q.mu.Lock()
	delete(q.jobs, j.id)
	q.mu.Unlock()
	return errors.New("import queue closed")
}

func (q *jobQueue) get(id string) *job {
	q.mu.Lock()
	defer q.mu.Unlock()
	j := q.jobs[id]
	if j != nil && j.result != nil && q.s.now().After(j.expires) {
		delete(q.jobs, id)
		return nil
	}
	return j
}

// result returns the completed result, or nil while pending. A completed job that has been
// read is forgotten a minute later (or at retention), so a million-user import does not
// keep every echoed record in memory.
func (q *jobQueue) result(j *job) []byte {
	q.mu.Lock()
	defer q.mu.Unlock()
	if j.result != nil {
		if soon := q.s.now().Add(time.Minute); soon.Before(j.expires) {
			j.expires = soon
		}
	}
	return j.result
}

func (q *jobQueue) run(ctx context.Context) {
	defer close(q.done)
	ids := newIDGen()
	var group []*job
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-q.ch:
			group = append(group[:0], j)
			n := len(j.records)
		more:
			for n < maxTxRecords {
				select {
				case j := <-q.ch:
					group = append(group, j)
					n += len(j.records)
				default:
					break more
				}
			}
			results, err := q.s.runJobs(ctx, group, ids)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				q.s.log.Error("import jobs failed", "jobs", len(group), "err", err)
				results = results[:0]
				for _, j := range group {
					results = append(results, q.s.failedJobResult(j, err))
				}
			}
			q.mu.Lock()
			expires := q.s.now().Add(q.s.cfg.JobRetention)
			for i, j := range group {
				j.result, j.records = results[i], nil
				j.expires = expires
			}
			q.mu.Unlock()
			clear(group)
		}
	}
}

// failedJobResult completes a job whose database work failed: every record failed.
func (s *Server) failedJobResult(j *job, err error) []byte {
	details := make([]ImportDetail, len(j.records))
	for i, p := range j.records {
		details[i] = ImportDetail{Index: i, Record: p.echo, Outcome: OutcomeFailed,
			Errors: []*APIError{apiErr(http.StatusInternalServerError, "InternalError", "UnexpectedError", "the mock IdP could not store this record: "+err.Error())}}
	}
	return s.marshalJob(j, details, ImportSummary{Total: len(details), Failed: len(details)})
}

func (s *Server) marshalJob(j *job, details []ImportDetail, sum ImportSummary) []byte {
	created, completed := j.createdAt, s.now().UTC()
	n := 256
	for i := range details {
		n += len(details[i].Record) + 96
	}
	b := make([]byte, 0, n)
	b = append(b, `{"id":`...)
	b = appendKeyJSON(b, j.id)
	b = append(b, `,"created_at":"`...)
	b = created.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","completed_at":"`...)
	b = completed.AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","status":"`+StatusCompleted+`","summary":{"total":`...)
	b = strconv.AppendInt(b, int64(sum.Total), 10)
	b = append(b, `,"inserted":`...)
	b = strconv.AppendInt(b, int64(sum.Inserted), 10)
	b = append(b, `,"updated":`...)
	b = strconv.AppendInt(b, int64(sum.Updated), 10)
	b = append(b, `,"skipped":`...)
	b = strconv.AppendInt(b, int64(sum.Skipped), 10)
	b = append(b, `,"failed":`...)
	b = strconv.AppendInt(b, int64(sum.Failed), 10)
	b = append(b, '}')
	if len(details) > 0 {
		b = append(b, `,"details":[`...)
		for i := range details {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendDetail(b, &details[i])
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// appendDetail appends d as encoding/json would (rarely used parts go through it).
func appendDetail(b []byte, d *ImportDetail) []byte {
	b = append(b, `{"index":`...)
	b = strconv.AppendInt(b, int64(d.Index), 10)
	if len(d.Record) > 0 {
		b = append(b, `,"record":`...)
		b = appendCompact(b, d.Record)
	}
	if d.Outcome != "" {
		b = append(b, `,"outcome":`...)
		b = appendKeyJSON(b, d.Outcome)
	}
	if d.UserID != "" {
		b = append(b, `,"user_id":`...)
		b = appendKeyJSON(b, d.UserID)
	}
	for _, part := range []struct {
		key string
		v   any
		n   int
	}{{`,"warnings":`, d.Warnings, len(d.Warnings)}, {`,"errors":`, d.Errors, len(d.Errors)}} {
		if part.n == 0 {
			continue
		}
		raw, err := json.Marshal(part.v)
		if err != nil {
			continue // plain structs of strings and numbers: cannot happen
		}
		b = append(b, part.key...)
		b = append(b, raw...)
	}
	return append(b, '}')
}

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
func mergeProfile(old []byte, changes []member) json.RawMessage {
	var ms []member
	if len(old) > 0 {
		ms, _ = objectMembers(old)
	}
	for _, c := range changes {
		i := slices.IndexFunc(ms, func(m member) bool { return m.key == c.key })
		switch {
		case string(c.val) == "null" && i >= 0:
			ms = slices.Delete(ms, i, i+1)
		case string(c.val) == "null":
		case i >= 0:
			ms[i].val = c.val
		default:
			ms = append(ms, c)
		}
	}
	if len(ms) == 0 {
		return nil
	}
	return appendObject(nil, ms)
}

// member is one key and raw value of a JSON object.
type member struct {
	key string
	val json.RawMessage
}

// maxFastMembers bounds the quadratic duplicate check of objectMembers' fast path.
const maxFastMembers = 24

// objectMembers returns the members of v, which must be valid JSON, each key once (the
// last value wins, as when encoding/json fills a map), or ok false when v is not an
// object. Plain keys of small objects are scanned in place; escaped keys, many keys or
// repeated keys go through encoding/json, sorted by key.
func objectMembers(v []byte) (ms []member, ok bool) {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '{' {
		return nil, false
	}
	ms = make([]member, 0, 8)
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == '}' {
		return ms, true
	}
	for i < len(v) {
		if v[i] != '"' {
			return slowMembers(v)
		}
		end := i + 1
		plain := true
		for end < len(v) && v[end] != '"' {
			if v[end] == '\\' || v[end] >= utf8.RuneSelf {
				plain = false
				break
			}
			end++
		}
		if !plain || end == len(v) || len(ms) == maxFastMembers {
			return slowMembers(v)
		}
		key := v[i+1 : end]
		for _, m := range ms {
			if m.key == string(key) {
				return slowMembers(v)
			}
		}
		i = skipSpace(v, end+1)
		if i >= len(v) || v[i] != ':' {
			return slowMembers(v)
		}
		if i = skipSpace(v, i+1); i >= len(v) {
			return slowMembers(v)
		}
		vend := skipValue(v, i)
		k, ok := internedKeys[string(key)]
		if !ok {
			k = string(key)
		}
		ms = append(ms, member{key: k, val: v[i:vend:vend]})
		i = skipSpace(v, vend)
		if i < len(v) && v[i] == '}' {
			return ms, true
		}
		if i >= len(v) || v[i] != ',' {
			return slowMembers(v)
		}
		i = skipSpace(v, i+1)
	}
	return slowMembers(v)
}

func slowMembers(v []byte) ([]member, bool) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(v, &m); err != nil || m == nil {
		return nil, false
	}
	ms := make([]member, 0, len(m))
	for k, val := range m {
		ms = append(ms, member{key: k, val: val})
	}
	sort.Slice(ms, func(a, b int) bool { return ms[a].key < ms[b].key })
	return ms, true
}

// arrayElements returns the raw elements of v, a valid JSON array, without copying.
func arrayElements(v []byte) []json.RawMessage {
	i := skipSpace(v, 0)
	if i >= len(v) || v[i] != '[' {
		return nil
	}
	out := []json.RawMessage{}
	i = skipSpace(v, i+1)
	if i < len(v) && v[i] == ']' {
		return out
	}
	for i < len(v) {
		end := skipValue(v, i)
		out = append(out, v[i:end:end])
		i = skipSpace(v, end)
		if i >= len(v) || v[i] == ']' {
			return out
		}
		i = skipSpace(v, i+1)
	}
	return out
}

func skipSpace(v []byte, i int) int {
	for i < len(v) && (v[i] == ' ' || v[i] == '\t' || v[i] == '\n' || v[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the valid JSON value starting at v[i].
func skipValue(v []byte, i int) int {
	switch v[i] {
	case '"':
		return skipString(v, i)
	case '{', '[':
		depth := 0
		for ; i < len(v); i++ {
			switch v[i] {
			case '"':
				i = skipString(v, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
		return i
	}
	for i < len(v) {
		switch v[i] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return i
		}
		i++
	}
	return i
}

// skipString returns the index just past the string starting at v[i].
func skipString(v []byte, i int) int {
	for i++; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return i
}

// unmarshalString decodes v into s as json.Unmarshal does (null leaves s alone), without
// reflection for plain strings.
func unmarshalString(v []byte, s *string) error {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		in := v[1 : len(v)-1]
		plain := true
		for _, c := range in {
			if c == '\\' || c == '"' || c < 0x20 || c >= utf8.RuneSelf {
				plain = false
				break
			}
		}
		if plain {
			*s = string(in)
			return nil
		}
	}
	return json.Unmarshal(v, s)
}

// unmarshalBool decodes v into b as json.Unmarshal does (null leaves b alone).
func unmarshalBool(v []byte, b *bool) error {
	switch string(v) {
	case "true":
		*b = true
		return nil
	case "false":
		*b = false
		return nil
	}
	return json.Unmarshal(v, b)
}

// internedKeys maps every key of the record schema to itself, so scanning a record
// allocates no key strings.
var internedKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{"email", "phone_number", "preferred_username", "email_verified", "phone_number_verified",
		"disabled", "address", "custom_attributes", "roles", "groups", "password", "mfa", "account_valid_from",
		"account_valid_until", "type", "password_hash", "expire_after", "salt", "totp", "secret"} {
		m[k] = k
	}
	for k := range stringAttrs {
		m[k] = k
	}
	for k := range addressKeys {
		m[k] = k
	}
	return m
}()
