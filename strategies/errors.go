package strategies

import (
	"errors"
	"fmt"
	"strings"
)

// Code classifies an Error for reports, outcome logs and exit codes.
type Code string

// Error codes. The validation codes double as the "reason" of an invalid row in reports.
const (
	CodeUsage             Code = "usage"              // bad flags or arguments
	CodePlan              Code = "plan_invalid"       // the plan file cannot be used
	CodeSource            Code = "source"             // the legacy source cannot be read
	CodeTarget            Code = "target"             // the IdP refused or failed
	CodeCancelled         Code = "cancelled"          // the user or a signal stopped the work
	CodeInvalidEmail      Code = "invalid_email"      // not an email address
	CodeInvalidPhone      Code = "invalid_phone"      // not a phone number that converts to E.164
	CodeMissingIdentifier Code = "missing_identifier" // no email, phone or username to sign in with
	CodeDuplicate         Code = "duplicate_identifier"
	CodeUnknownHash       Code = "unknown_hash_format"
	CodeMalformedHash     Code = "malformed_hash"
	CodeUnsupportedHash   Code = "unsupported_hash" // a known format the target cannot import
	CodeTooLong           Code = "too_long"
	CodeMalformedRecord   Code = "malformed_record" // a source record that cannot be parsed (CSV quotes, field count, bad JSON)
	CodeInvalidValue      Code = "invalid_value"
	// CodeNothingToImport: no user could be imported (a source with no rows, no valid
	// row, a run that ended with nobody at the target). A failure, not a plan mistake.
	CodeNothingToImport Code = "nothing_to_import"
)

// Error is the typed error of the engine. It says what went wrong and where: the file,
// the 1-based record number (Row), the physical line, and the plan key or canonical field.
// cmd/cutover prints it once and maps its Code to an exit code.
type Error struct {
	Code    Code
	File    string // plan or source file, when the error is about one
	Row     int    // 1-based record number, header excluded; 0 when not about a row
	Line    int    // physical line in File; 0 when unknown
	Field   string // plan key (dotted) or canonical field
	Message string // what is wrong and what to do next
	Err     error  // the underlying error, if any
}

// Error formats the location first, then the message: "users.csv: row 17 (line 18): email: ...".
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 && e.Row == 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Row > 0 {
		fmt.Fprintf(&b, "row %d", e.Row)
		if e.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.Err != nil {
		if e.Message != "" {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Code of the first *Error in err's chain, or "" when there is none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
