package mockidp

// The top level of an import request, and the error envelopes Authgear answers with.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cutover/cutover/mockidp/internal/jsonscan"
)

// cause is one entry of info.causes as Authgear's JSON-schema validator writes it.
func cause(location, kind string, details map[string]any) map[string]any {
	c := map[string]any{"location": location, "kind": kind}
	if details != nil {
		c["details"] = details
	}
	return c
}

// validationFailed is Authgear's 400 ValidationFailed with its causes sorted by location.
func validationFailed(msg string, causes ...map[string]any) *APIError {
	slices.SortStableFunc(causes, func(a, b map[string]any) int {
		return strings.Compare(a["location"].(string), b["location"].(string))
	})
	return &APIError{Name: "Invalid", Reason: "ValidationFailed", Message: msg, Code: http.StatusBadRequest,
		Info: map[string]any{"causes": causes}}
}

// unexpectedError is what Authgear answers for an error it did not anticipate, such as a
// body that is not JSON or a bcrypt hash that does not start with "$".
func unexpectedError() *APIError {
	return apiErr(http.StatusInternalServerError, "InternalError", "UnexpectedError", "unexpected error occurred")
}

// invalidJSON is Authgear's answer to a body that is not JSON: a syntax error at a byte
// is a 400 InvalidJSON naming the offset, while a body that ends too soon (or is empty)
// surfaces as an unexpected error, a 500.
func invalidJSON(body []byte) *APIError {
	var x any
	var se *json.SyntaxError
	if err := json.Unmarshal(body, &x); errors.As(err, &se) && se.Offset < int64(len(body)) {
		e := apiErr(http.StatusBadRequest, "BadRequest", "InvalidJSON", se.Error())
		e.Info = map[string]any{"byte_offset": se.Offset}
		return e
	}
	return unexpectedError()
}

// tooLarge is Authgear's answer to a body over BodyMaxSize.
func tooLarge() *APIError {
	e := apiErr(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "JSONTooLarge", "request body too large")
	e.Info = map[string]any{"limit": BodyMaxSize}
	return e
}

// jsonTypes names the JSON-schema types of the valid JSON value v, sorted, as Authgear's
// validator reports them: an integral number is both "integer" and "number".
func jsonTypes(v []byte) []string {
	v = v[jsonscan.SkipSpace(v, 0):]
	if len(v) == 0 {
		return []string{}
	}
	switch v[0] {
	case 'n':
		return []string{"null"}
	case 't', 'f':
		return []string{"boolean"}
	case '{':
		return []string{"object"}
	case '[':
		return []string{"array"}
	case '"':
		return []string{"string"}
	}
	// JSON-schema's integer is any number with a zero fraction: 1.0 and 1e2 are integers.
	if x, err := strconv.ParseFloat(string(v), 64); err == nil && x == math.Trunc(x) {
		return []string{"integer", "number"}
	}
	return []string{"number"}
}

// identifiers are the values the request's identifier may take, in Authgear's schema order.
var identifiers = []string{IdentifierUsername, IdentifierEmail, IdentifierPhone}

// DecodeImportRequest validates the top level of an import body as Authgear's request
// schema does: only upsert, identifier and records, at least one record, every record an
// object. Every violation is reported, as Authgear reports them, in one 400; a body that
// is not JSON is Authgear's 500. Records themselves are validated one by one later, so
// one bad record does not fail the others. It is exported for fuzzing and for clients'
// preflight.
func DecodeImportRequest(body []byte) (upsert bool, identifier string, records []json.RawMessage, err *APIError) {
	if !json.Valid(body) {
		return false, "", nil, invalidJSON(body)
	}
	// Members, not a struct: encoding/json matches struct fields case-insensitively, and
	// Authgear's schema does not ("Records" is an unknown key there). Records stay slices
	// of body; the job keeps body alive until it completes.
	top, ok := jsonscan.Object(body, internedKeys)
	if !ok {
		return false, "", nil, validationFailed("invalid request body", cause("", "type", map[string]any{"expected": []string{"object"}, "actual": jsonTypes(body)}))
	}
	var causes []map[string]any
	var keys []string
	idSet, recordsSet := false, false
	for _, m := range top {
		k, v := m.Key, m.Val
		keys = append(keys, k)
		switch k {
		case "upsert":
			if jsonscan.Bool(v, &upsert) != nil || string(v) == "null" {
				causes = append(causes, typeCause("/upsert", v, "boolean"))
			}
		case "identifier":
			idSet = true
			if jsonscan.String(v, &identifier) != nil || string(v) == "null" {
				// The enum is checked too, as Authgear's validator does: a non-string is
				// never one of the identifiers.
				causes = append(causes, typeCause("/identifier", v, "string"),
					cause("/identifier", "enum", map[string]any{"expected": identifiers, "actual": json.RawMessage(v)}))
			} else if !slices.Contains(identifiers, identifier) {
				causes = append(causes, cause("/identifier", "enum", map[string]any{"expected": identifiers, "actual": identifier}))
			}
		case "records":
			recordsSet = true
			records, causes = decodeRecords(v, causes)
		default:
			causes = append(causes, cause("/"+k, "", nil))
		}
	}
	if !idSet || !recordsSet {
		var missing []string
		if !idSet {
			missing = append(missing, "identifier")
		}
		if !recordsSet {
			missing = append(missing, "records")
		}
		slices.Sort(keys)
		if keys == nil {
			keys = []string{}
		}
		causes = append(causes, cause("", "required", map[string]any{"expected": []string{"identifier", "records"}, "actual": keys, "missing": missing}))
	}
	if len(causes) > 0 {
		return false, "", nil, validationFailed("invalid request body", causes...)
	}
	return upsert, identifier, records, nil
}

// decodeRecords splits the records array and checks each is an object: Authgear's
// request schema fails the whole request for one record that is not (issue 15).
func decodeRecords(v []byte, causes []map[string]any) ([]json.RawMessage, []map[string]any) {
	if v[0] != '[' {
		return nil, append(causes, typeCause("/records", v, "array"))
	}
	records := jsonscan.Array(v)
	if len(records) == 0 {
		causes = append(causes, cause("/records", "minItems", map[string]any{"expected": 1, "actual": 0}))
	}
	for i, r := range records {
		if r[0] != '{' {
			causes = append(causes, typeCause(fmt.Sprintf("/records/%d", i), r, "object"))
		}
	}
	return records, causes
}

func typeCause(location string, v []byte, expected ...string) map[string]any {
	return cause(location, "type", map[string]any{"expected": expected, "actual": jsonTypes(v)})
}
