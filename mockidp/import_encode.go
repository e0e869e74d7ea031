package mockidp

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/cutover/cutover/mockidp/internal/jsonscan"
)

// The completed job's JSON. It is the answer cutover polls for, once per job, and holds
// every echoed record, so it is written by hand; see encodeJob.

// failedJobResult completes a job whose database work failed: every record failed.
func (s *Server) failedJobResult(j *job, err error) []byte {
	details := make([]ImportDetail, len(j.records))
	for i, p := range j.records {
		details[i] = ImportDetail{Index: i, Record: p.echo, Outcome: OutcomeFailed,
			Errors: []*APIError{apiErr(http.StatusInternalServerError, "InternalError", "UnexpectedError", "the mock IdP could not store this record: "+err.Error())}}
	}
	return s.marshalJob(j, details, ImportSummary{Total: len(details), Failed: len(details)})
}

// marshalJob encodes a completed job as the GET answer.
func (s *Server) marshalJob(j *job, details []ImportDetail, sum ImportSummary) []byte {
	b := encodeJob(j.id, j.createdAt, s.now().UTC(), details, sum)
	if j.err != nil {
		// Rare: spliced in before the summary, where Authgear writes it.
		raw, _ := json.Marshal(j.err)
		at := bytes.Index(b, []byte(`,"summary":`))
		b = slices.Concat(b[:at], []byte(`,"error":`), raw, b[at:])
	}
	return b
}

// encodeJob writes what json.Marshal writes for the completed ImportJob, byte for byte
// (TestEncodeJobMatchesEncodingJSON holds it to that). It is hand-written because a
// million-user import echoes every record: json.Marshal would re-validate and copy each
// json.RawMessage through reflection, several times the cost of appending it.
func encodeJob(id string, created, completed time.Time, details []ImportDetail, sum ImportSummary) []byte {
	n := 256
	for i := range details {
		n += len(details[i].Record) + 96
	}
	b := make([]byte, 0, n)
	b = append(b, `{"id":`...)
	b = jsonscan.AppendString(b, id)
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
		b = jsonscan.AppendCompact(b, d.Record)
	}
	if d.Outcome != "" {
		b = append(b, `,"outcome":`...)
		b = jsonscan.AppendString(b, d.Outcome)
	}
	if d.UserID != "" {
		b = append(b, `,"user_id":`...)
		b = jsonscan.AppendString(b, d.UserID)
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
