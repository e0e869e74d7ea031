package conformance

import (
	"encoding/json"
	"strings"
	"testing"
)

// recorded is a small recording in the corpus's own format: a failed record with
// its envelope, a warning, a redacted echo and a plain-text refusal.
const recorded = `{"name":"x","steps":[
 {"request":{"method":"POST","path":"/p"},
  "response":{"status":200,"content_type":"application/json","json":{"result":{"id":"<job>","status":"pending"}}},
  "job":{"status":200,"content_type":"application/json","json":{"result":{"id":"<job>","status":"completed",
   "summary":{"total":2,"inserted":0,"updated":0,"skipped":1,"failed":1},
   "details":[
    {"index":0,"outcome":"failed","record":{"email":"a@example.com","password":{"password_hash":"REDACTED","type":"bcrypt"}},
     "errors":[{"name":"Invalid","reason":"ValidationFailed","message":"invalid value","code":400,
       "info":{"causes":[{"location":"/email","kind":"format","details":{"format":"email"}}]}}]},
    {"index":1,"outcome":"skipped","user_id":"<uuid>","record":{"email":"b@example.com"},"warnings":[{"message":"skip"}]}]}}}},
 {"request":{"method":"POST","path":"/p","auth":"none"},
  "response":{"status":403,"content_type":"text/plain","text":"Forbidden\n"}},
 {"request":{"method":"POST","path":"/p"},
  "response":{"status":400,"content_type":"application/json","json":{"error":{"name":"Invalid","reason":"ValidationFailed",
   "message":"invalid request body","code":400,"info":{"cause":{"location":"/records/1","kind":"type"}},"tracking_id":"<tracking_id>"}}}}
]}`

func loadCase(t *testing.T, s string) Case {
	t.Helper()
	var c Case
	if err := json.Unmarshal([]byte(s), &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCompareCatchesEachAlteration alters one recorded answer at a time and checks
// Compare reports it: the replay cannot pass against a server that answers otherwise.
func TestCompareCatchesEachAlteration(t *testing.T) {
	want := loadCase(t, recorded)
	if d := Compare(want, loadCase(t, recorded)); len(d) != 0 {
		t.Fatalf("a recording differs from itself: %v", d)
	}
	tests := []struct{ name, from, to, report string }{
		{"status", `"status":403`, `"status":401`, "HTTP 401, want 403"},
		{"content type", `"content_type":"text/plain"`, `"content_type":"application/json"`, "Content-Type"},
		{"text body", `"Forbidden\n"`, `"Unauthorized\n"`, "body"},
		{"job status", `"status":"completed"`, `"status":"pending"`, "result.status"},
		{"summary", `"skipped":1`, `"skipped":0`, "summary.skipped"},
		{"outcome", `"outcome":"skipped"`, `"outcome":"inserted"`, "details[1].outcome"},
		{"user id gone", `"user_id":"<uuid>",`, ``, "details[1].user_id"},
		{"warning", `"warnings":[{"message":"skip"}]`, `"warnings":[{"message":"skipped"}]`, "warnings[0].message"},
		{"no warning", `,"warnings":[{"message":"skip"}]`, ``, "warnings"},
		{"error name", `"name":"Invalid","reason":"ValidationFailed","message":"invalid value"`, `"name":"BadRequest","reason":"ValidationFailed","message":"invalid value"`, "errors[0].name"},
		{"error reason", `"reason":"ValidationFailed","message":"invalid value"`, `"reason":"InvalidRecord","message":"invalid value"`, "errors[0].reason"},
		{"error code", `"message":"invalid value","code":400`, `"message":"invalid value","code":422`, "errors[0].code"},
		{"cause kind", `"kind":"format"`, `"kind":"type"`, "causes[0].kind"},
		{"cause location", `"location":"/email"`, `"location":""`, "causes[0].location"},
		{"top cause", `"location":"/records/1"`, `"location":"/records/7"`, "cause.location"},
		{"tracking id", `,"tracking_id":"<tracking_id>"`, ``, "tracking_id"},
		{"redaction", `"password":{"password_hash":"REDACTED","type":"bcrypt"}`, `"password":"REDACTED"`, "record.password"},
		{"key order", `"password":{"password_hash":"REDACTED","type":"bcrypt"}`, `"password":{"type":"bcrypt","password_hash":"REDACTED"}`, "in this order"},
		{"echo gone", `,"record":{"email":"b@example.com"}`, ``, "details[1].record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(recorded, tt.from) {
				t.Fatalf("the recording has no %s", tt.from)
			}
			got := loadCase(t, strings.Replace(recorded, tt.from, tt.to, 1))
			d := Compare(want, got)
			if len(d) == 0 {
				t.Fatalf("altered %s: Compare reports nothing", tt.name)
			}
			if !strings.Contains(strings.Join(d, "\n"), tt.report) {
				t.Errorf("altered %s: got %v, want a line about %q", tt.name, d, tt.report)
			}
		})
	}
	t.Run("message wording is not compared", func(t *testing.T) {
		got := loadCase(t, strings.Replace(recorded, `"invalid value"`, `"email must be an email address"`, 1))
		if d := Compare(want, got); len(d) != 0 {
			t.Errorf("got %v, want no differences", d)
		}
	})
}

// TestCompareRacedPost: the one exception (ExceptionRacedPost). A POST the recording
// shows completed matches a pending answer with the same id and created_at, and nothing
// else is forgiven: the pending answer's other fields, the other direction, and a
// completed answer are compared as usual.
func TestCompareRacedPost(t *testing.T) {
	const raced = `{"name":"x","steps":[{"request":{"method":"POST","path":"/p"},
  "response":{"status":200,"content_type":"application/json","json":{"result":{"id":"<job>","created_at":"<time>","completed_at":"<time>","status":"completed","summary":{"total":1,"inserted":1,"updated":0,"skipped":0,"failed":0},"details":[{"index":0,"outcome":"inserted"}]}}},
  "job":{"status":200,"content_type":"application/json","json":{"result":{"id":"<job>","created_at":"<time>","completed_at":"<time>","status":"completed","summary":{"total":1,"inserted":1,"updated":0,"skipped":0,"failed":0},"details":[{"index":0,"outcome":"inserted"}]}}}}]}`
	pendingPost := `"json":{"result":{"id":"<job>","created_at":"<time>","status":"pending"}}},
  "job"`
	completedPost := raced[strings.Index(raced, `"json":{"result":{"id":"<job>","created_at":"<time>","completed_at"`):strings.Index(raced, `"job"`)] + `"job"`
	want := loadCase(t, raced)
	got := loadCase(t, strings.Replace(raced, completedPost, pendingPost, 1))
	if d := Compare(want, got); len(d) != 0 {
		t.Errorf("pending answer to a raced POST: got %v, want no differences", d)
	}
	for _, tt := range []struct{ name, from, to string }{
		{"job id", `"id":"<job>","created_at":"<time>","status":"pending"`, `"id":"other","created_at":"<time>","status":"pending"`},
		{"created_at gone", `"created_at":"<time>","status":"pending"`, `"status":"pending"`},
		{"polled job", `"job":{"status":200,"content_type":"application/json","json":{"result":{"id":"<job>","created_at":"<time>","completed_at":"<time>","status":"completed","summary":{"total":1,"inserted":1`, `"job":{"status":200,"content_type":"application/json","json":{"result":{"id":"<job>","created_at":"<time>","completed_at":"<time>","status":"completed","summary":{"total":1,"inserted":0`},
	} {
		altered := strings.Replace(strings.Replace(raced, completedPost, pendingPost, 1), tt.from, tt.to, 1)
		if altered == strings.Replace(raced, completedPost, pendingPost, 1) {
			t.Fatalf("%s: nothing to alter", tt.name)
		}
		if d := Compare(want, loadCase(t, altered)); len(d) == 0 {
			t.Errorf("%s altered: Compare reports nothing", tt.name)
		}
	}
	// The other direction: the recording pending, the replay completed.
	if d := Compare(got, want); len(d) == 0 {
		t.Error("a completed answer where the recording is pending: Compare reports nothing")
	}
}
