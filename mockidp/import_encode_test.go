package mockidp

import (
	"encoding/json"
	"testing"
	"time"
)

// jobForEncoding builds the ImportJob encodeJob is meant to write, from records given as
// raw JSON, with every kind of detail: inserted, skipped with a warning, failed with an
// error holding info.
func jobForEncoding(records []string) ImportJob {
	created := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)
	completed := created.Add(1500 * time.Millisecond)
	details := make([]ImportDetail, len(records))
	sum := ImportSummary{Total: len(records)}
	for i, r := range records {
		d := ImportDetail{Index: i, Record: json.RawMessage(r)}
		switch i % 3 {
		case 0:
			d.Outcome, d.UserID = OutcomeInserted, "0190b3c4-0000-7000-8000-00000000000"+string(rune('0'+i%10))
			sum.Inserted++
		case 1:
			d.Outcome, d.UserID = OutcomeSkipped, "u<&>"
			d.Warnings = []ImportWarning{{Message: "skipping because upsert = false and user exists"}}
			sum.Skipped++
		default:
			d.Outcome = OutcomeFailed
			d.Errors = []*APIError{recordError("/email", "format", `email "<a>" is not an email address`)}
			sum.Failed++
		}
		details[i] = d
	}
	return ImportJob{ID: "userimport_ABC", CreatedAt: &created, CompletedAt: &completed, Status: StatusCompleted,
		Summary: &sum, Details: details}
}

func checkEncodeJob(t *testing.T, records []string) {
	t.Helper()
	j := jobForEncoding(records)
	want, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	got := encodeJob(j.ID, *j.CreatedAt, *j.CompletedAt, j.Details, *j.Summary)
	if string(got) != string(want) {
		t.Errorf("encodeJob differs from json.Marshal:\ngot  %s\nwant %s", got, want)
	}
}

// TestEncodeJobMatchesEncodingJSON holds the hand-written job encoder to json.Marshal of
// the ImportJob type, byte for byte.
func TestEncodeJobMatchesEncodingJSON(t *testing.T) {
	tests := []struct {
		name    string
		records []string
	}{
		{"no details", nil},
		{"plain records", []string{`{"email":"a@x.io"}`, `{"email":"b@x.io","name":"B"}`, `{"email":"c@x.io"}`}},
		{"whitespace", []string{"{ \"email\" : \"a@x.io\" ,\n \"roles\": [ \"a\" ] }"}},
		{"html and separators", []string{`{"name":"<script>&</script>"}`, "{\"name\":\"a\u2028b\"}", `{"name":"\u003c"}`}},
		{"escapes and non-ASCII", []string{`{"name":"Zoë \"Z\" \\ \t"}`, `{"k":[1,-2.5e3,null,true,{"x":{}}]}`}},
		{"not objects", []string{`7`, `"x"`, `null`, `[]`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { checkEncodeJob(t, tt.records) })
	}
}

// FuzzEncodeJob holds encodeJob to json.Marshal on any valid JSON record.
func FuzzEncodeJob(f *testing.F) {
	for _, s := range []string{`{"email":"a@x.io"}`, `{"a": "<b>"}`, "[\"\u2029\"]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		if !json.Valid(rec) {
			return
		}
		checkEncodeJob(t, []string{string(rec), string(rec), string(rec)})
	})
}
