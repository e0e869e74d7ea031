package mockidp

// The Admin import API (POST /_api/admin/users/import, GET .../import/{id}), split by
// concern: this file holds its wire types; import_schema.go validates records,
// import_http.go answers requests, import_queue.go runs jobs one group at a time,
// import_store.go writes them to SQLite and import_encode.go writes the completed job.

import (
	"encoding/json"
	"time"
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
	ID          string     `json:"id,omitempty"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	Status      string     `json:"status,omitempty"`
	// Error fails the whole job, as when Authgear's importer hits an unexpected error.
	Error   *APIError      `json:"error,omitempty"`
	Summary *ImportSummary `json:"summary,omitempty"`
	Details []ImportDetail `json:"details,omitempty"`
}
