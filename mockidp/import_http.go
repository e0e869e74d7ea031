package mockidp

// HTTP handlers of the import API: read and check the body, validate records on the
// request's goroutine, queue the job.

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
)

func (s *Server) handleImportCreate(w http.ResponseWriter, r *http.Request) {
	if !isJSONContentType(r.Header.Get("Content-Type")) {
		// Past the route's check (application/graphql passes it), the import handler
		// wants JSON, as Authgear's ParseJSONBody does.
		writeAPIError(w, apiErr(http.StatusBadRequest, "BadRequest", "BadRequest", "request content type is invalid"))
		return
	}
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
		writeAPIError(w, unexpectedError())
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
	// Authgear's job ids: "userimport_" and 32 characters of the base32 alphabet.
	j := &job{id: "userimport_" + strings.ToUpper(randomID(20)), createdAt: now, upsert: upsert, identifier: identifier, records: recs}
	if err := s.jobs.submit(r.Context(), j); err != nil {
		writeAPIError(w, apiErr(http.StatusServiceUnavailable, "ServiceUnavailable", "ServerShuttingDown", "the mock IdP is shutting down; retry against a running server"))
		return
	}
	s.log.Debug("import job created", "job", j.id, "records", len(recs))
	writeResult(w, http.StatusOK, ImportJob{ID: j.id, CreatedAt: &now, Status: StatusPending})
}

// isJSONContentType is Authgear's check in ParseJSONBody: application/json with no
// parameter but charset=utf-8.
func isJSONContentType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" || len(params) > 1 {
		return false
	}
	cs, ok := params["charset"]
	return len(params) == 0 || ok && strings.EqualFold(cs, "utf-8")
}

func (s *Server) handleImportGet(w http.ResponseWriter, r *http.Request) {
	j := s.jobs.get(r.PathValue("id"))
	if j == nil {
		writeAPIError(w, apiErr(http.StatusNotFound, "NotFound", "TaskNotFound", "task not found"))
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
