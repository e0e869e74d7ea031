package mockidp

// HTTP handlers of the import API: read and check the body, validate records on the
// request's goroutine, queue the job.

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

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
