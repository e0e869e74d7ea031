package bulk_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/preflight"
)

// writeFile writes content to dir/name and returns the path.
func writeFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// finalLines reads a run's final outcome lines.
func finalLines(t testing.TB, dir string) []bulk.Line {
	t.Helper()
	var out []bulk.Line
	if err := bulk.EachFinal(dir, func(l *bulk.Line) error { out = append(out, *l); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestRunRefusesWhatPlanCheckRefuses is issue 12's list: plans `cutover run` carried out
// silently (exit 0) now stop before anything is written, with plan check's message and
// a typed error (CodePlan: exit 2; CodeNothingToImport: exit 1).
func TestRunRefusesWhatPlanCheckRefuses(t *testing.T) {
	h := fixtureHashes()
	good := fmt.Sprintf("id,email,name,password\n1,user1@example.com,A,%s\n2,user2@example.com,B,%s\n", h[1], h[2])
	tests := []struct {
		name     string
		csv      string
		edit     func(p *strategies.Plan)
		wantCode strategies.Code
	}{
		{"password column typo", good, func(p *strategies.Plan) { p.Mapping.PasswordHash.Column = "passwd" }, strategies.CodePlan},
		{"identifier typo", good, func(p *strategies.Plan) { p.Mapping.Email.Column = "mail" }, strategies.CodePlan},
		{"mapped column absent", good, func(p *strategies.Plan) { p.Mapping.Name.Column = "full_name" }, strategies.CodePlan},
		{"header-only file", "id,email,name,password\n", func(*strategies.Plan) {}, strategies.CodeNothingToImport},
		{"every row invalid", "id,email,name,password\n1,nope,A,\n2,also-nope,B,\n", func(p *strategies.Plan) { p.Mapping.PasswordHash = strategies.FieldRef{} }, strategies.CodeNothingToImport},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := startIdP(t, mockidp.Config{})
			p := csvPlan(t, writeFile(t, dir, "users.csv", tt.csv))
			tt.edit(p)
			_, err := runner(t, s).Run(context.Background(), p, strategies.RunOptions{})
			if strategies.CodeOf(err) != tt.wantCode {
				t.Fatalf("Run: got %v (code %q), want code %s", err, strategies.CodeOf(err), tt.wantCode)
			}
			if got := usersAt(t, s); got != 0 {
				t.Errorf("users at the IdP: got %d, want 0 (nothing written)", got)
			}
			r, rerr := preflight.Run(context.Background(), p, preflight.Options{})
			if rerr != nil || len(r.Blockers) == 0 || !strings.Contains(err.Error(), r.Blockers[0]) {
				t.Errorf("got %q, want plan check's message %q (%v)", err, r.Blockers, rerr)
			}
		})
	}
}

// TestNothingImportedIsAFailure: a run in which every row failed at the target is not a
// partial success: Run returns CodeNothingToImport naming the failures file.
func TestNothingImportedIsAFailure(t *testing.T) {
	dir := t.TempDir()
	s := startIdP(t, mockidp.Config{})
	// Plain md5: valid rows, but the Authgear profile cannot take the format (fail policy).
	p := csvPlan(t, writeFile(t, dir, "users.csv", "id,email,name,password\n1,a@x.io,A,5f4dcc3b5aa765d61d8327deb882cf99\n2,b@x.io,B,5f4dcc3b5aa765d61d8327deb882cf99\n"))
	_, err := runner(t, s).Run(context.Background(), p, strategies.RunOptions{})
	if strategies.CodeOf(err) != strategies.CodeNothingToImport || !strings.Contains(err.Error(), "nothing could be imported") || !strings.Contains(err.Error(), bulk.FileFailuresCSV) {
		t.Fatalf("Run: got %v, want nothing_to_import naming %s", err, bulk.FileFailuresCSV)
	}
}

// TestInvalidOptionalPhoneSignsIn: the 100,000-row file (here 300 rows) whose
// optional phone column libphonenumber calls invalid: every user moves without the phone,
// signs in, and the report counts the dropped field.
func TestInvalidOptionalPhoneSignsIn(t *testing.T) {
	dir := t.TempDir()
	h := fixtureHashes()
	var b strings.Builder
	b.WriteString("id,email,name,password,phone\n")
	const n = 300
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%d,user%d@example.com,User %d,%s,+1555%07d\n", i, i, i, h[i%len(h)], i)
	}
	s := startIdP(t, mockidp.Config{})
	p := csvPlan(t, writeFile(t, dir, "users.csv", b.String()))
	p.Mapping.PhoneNumber = strategies.FieldRef{Column: "phone"}
	rep, err := runner(t, s).Run(context.Background(), p, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Inserted != n || rep.Invalid != 0 || rep.Warnings["phone_number"] != n {
		t.Fatalf("report: got %+v, want %d inserted, 0 invalid, %d phone_number warnings", rep, n, n)
	}
	if err := signIn(t, s, "user7@example.com", "password-7"); err != nil {
		t.Errorf("sign-in of a user whose phone was invalid: %v", err)
	}
	l := finalLines(t, rep.RunDir)[0]
	if len(l.Warnings) != 1 || !strings.HasPrefix(l.Warnings[0], "phone_number: invalid_phone: dropped") || strings.Contains(l.Warnings[0], "5550000001") {
		t.Errorf("outcome warnings: got %q, want one on phone_number giving the shape, not the number", l.Warnings)
	}
	if !strings.Contains(strings.Join(rep.NextSteps, "\n"), "300 users moved without their phone_number") {
		t.Errorf("next steps: got %q, want the dropped field counted", rep.NextSteps)
	}
}

// TestWithoutPasswordCountsEveryCause: every user who reaches the target with no hash
// is counted, whatever the cause, and listed with the reason.
func TestWithoutPasswordCountsEveryCause(t *testing.T) {
	dir := t.TempDir()
	h := fixtureHashes()
	csvText := fmt.Sprintf("id,email,name,password\n1,a@x.io,A,%s\n2,b@x.io,B,\n3,c@x.io,C,!unusable\n4,d@x.io,D,5f4dcc3b5aa765d61d8327deb882cf99\n", h[1])
	s := startIdP(t, mockidp.Config{})
	p := csvPlan(t, writeFile(t, dir, "users.csv", csvText))
	p.Bulk.UnsupportedHash = strategies.UnsupportedWithoutPassword
	rep, err := runner(t, s).Run(context.Background(), p, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Inserted != 4 || rep.WithoutPassword != 3 {
		t.Fatalf("report: got inserted %d without password %d, want 4 and 3", rep.Inserted, rep.WithoutPassword)
	}
	for _, l := range finalLines(t, rep.RunDir)[1:] {
		if l.Password != "none" || !strings.HasPrefix(l.Reason, "imported without password: ") {
			t.Errorf("row %d: got password %q reason %q, want \"none\" with the reason", l.Row, l.Password, l.Reason)
		}
	}
	f, err := os.Open(filepath.Join(rep.RunDir, bulk.FileWithoutPassword))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != 4 {
		t.Errorf("%s: got %d records (%v), want a header and 3 users", bulk.FileWithoutPassword, len(recs), err)
	}
	steps := strings.Join(rep.NextSteps, "\n")
	if !strings.Contains(steps, "3 users were imported without a password") || !strings.Contains(steps, bulk.FileWithoutPassword) {
		t.Errorf("next steps: got %q, want the count and the file", steps)
	}
	if !strings.Contains(bulk.Summary(rep), "Imported without password: 3.") {
		t.Errorf("summary: got %q, want 3 without password", bulk.Summary(rep))
	}
}

// authgearCase imitates the real Authgear's difference 9: login ids are stored
// lower-cased but looked up by the raw value, so a case variant of a stored email fails
// with DuplicatedIdentity instead of being skipped.
type authgearCase struct {
	mu    sync.Mutex
	users map[string]string // stored (lower-cased) email -> id
}

func (a *authgearCase) Retries() int64 { return 0 }

func (a *authgearCase) ImportUsers(ctx context.Context, b *idp.ImportBatch) (*idp.Job, error) {
	body := b.Body
	var req struct {
		Records []struct {
			Email string `json:"email"`
		} `json:"records"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	j := &idp.Job{ID: "job", Status: idp.StatusCompleted, Summary: &idp.Summary{Total: len(req.Records)}}
	for i, r := range req.Records {
		d := idp.Detail{Index: i}
		low := strings.ToLower(r.Email)
		switch id, ok := a.users[r.Email]; {
		case ok:
			d.Outcome, d.UserID = "skipped", id
		case a.users[low] != "":
			d.Outcome = "failed"
			d.Errors = []*idp.APIError{{Name: "Invalid", Reason: "InvariantViolated", Message: "identity already exists", Code: 400}}
		default:
			a.users[low] = fmt.Sprintf("u%d", len(a.users)+1)
			d.Outcome, d.UserID = "inserted", a.users[low]
		}
		j.Details = append(j.Details, d)
	}
	return j, nil
}

// TestRerunSendsTheStoredCase: a re-run against a target holding the lower-cased email
// skips the user instead of failing, and the outcome log keeps the legacy spelling.
func TestRerunSendsTheStoredCase(t *testing.T) {
	dir := t.TempDir()
	h := fixtureHashes()
	p := csvPlan(t, writeFile(t, dir, "users.csv", fmt.Sprintf("id,email,name,password\n1,Alice@Example.com,Alice,%s\n", h[1])))
	p.Bulk.LogEmails = true
	tgt := &authgearCase{users: map[string]string{"alice@example.com": "u1"}}
	r := &bulk.Runner{OpenTarget: func(context.Context, *strategies.Plan) (*idp.Target, error) {
		return &idp.Target{Importer: tgt, Hashes: idp.ProfileHashes(strategies.ProfileAuthgear), Name: "authgear-case"}, nil
	}}
	rep, err := r.Run(context.Background(), p, strategies.RunOptions{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Skipped != 1 || rep.Failed != 0 {
		t.Fatalf("report: got %+v (reasons %v), want the user skipped", rep, rep.Reasons)
	}
	l := finalLines(t, rep.RunDir)[0]
	if l.Email != "alice@example.com" || l.LegacyEmail != "Alice@Example.com" {
		t.Errorf("outcome: got email %q legacy %q, want alice@example.com and Alice@Example.com", l.Email, l.LegacyEmail)
	}
}

// TestFailuresCSVNeutralisesFormulas: cells a spreadsheet would run as formulas are
// written with a leading ' (issue 13, item 14).
func TestFailuresCSVNeutralisesFormulas(t *testing.T) {
	dir := t.TempDir()
	ids := []string{"=cmd|' /C calc'!A0", "+SUM(1+1)", "@SUM(1)", "-2+3"}
	var b strings.Builder
	b.WriteString("id,email,name,password\n")
	for i, id := range ids {
		fmt.Fprintf(&b, "%q,bad%d,N,\n", id, i) // invalid emails, so the rows land in failures.csv
	}
	fmt.Fprintf(&b, "5,ok@x.io,N,%s\n", fixtureHashes()[1])
	s := startIdP(t, mockidp.Config{})
	rep, err := runner(t, s).Run(context.Background(), csvPlan(t, writeFile(t, dir, "users.csv", b.String())), strategies.RunOptions{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	f, err := os.Open(filepath.Join(rep.RunDir, bulk.FileFailuresCSV))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) != len(ids)+1 {
		t.Fatalf("got %d records (%v), want a header and %d rows", len(recs), err, len(ids))
	}
	for i, id := range ids {
		if got := recs[i+1][2]; got != "'"+id {
			t.Errorf("legacy_id cell: got %q, want %q", got, "'"+id)
		}
	}
}

// signUpDuringRun wraps the mock IdP's client: before the first import it creates, as a
// sign-up would, the user of the batch's first row, and it reports that import as sent
// twice (its first answer lost), as idp.Client does after a retry.
type signUpDuringRun struct {
	*idp.MockClient
	email string
	once  atomic.Bool
}

func (c *signUpDuringRun) StartImport(ctx context.Context, body []byte) (*idp.Job, error) {
	if c.once.CompareAndSwap(false, true) {
		signup := fmt.Sprintf(`{"upsert":false,"identifier":"email","records":[{"email":%q}]}`, c.email)
		if _, err := c.MockClient.Import(ctx, []byte(signup)); err != nil {
			return nil, err
		}
		j, err := c.MockClient.StartImport(ctx, body)
		if j != nil {
			j.Resent = true
		}
		return j, err
	}
	return c.MockClient.StartImport(ctx, body)
}

// TestUndoAfterLostAnswerLeavesSignUp: a user found at the target after a lost answer
// is this run's only with proof; a time window is none, so the user who signed up
// during the run is recorded uncertain, and undo leaves and lists them.
func TestUndoAfterLostAnswerLeavesSignUp(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "users.csv")
	writeCSV(t, csvPath, 20, nil)
	s := startIdP(t, mockidp.Config{})
	c := &signUpDuringRun{MockClient: mockClient(t, s), email: "user1@example.com"}
	r := &bulk.Runner{OpenTarget: func(context.Context, *strategies.Plan) (*idp.Target, error) {
		return &idp.Target{Importer: c, Hashes: idp.ProfileHashes(strategies.ProfileAuthgear), Name: "signup-during-run"}, nil
	}}
	rep, err := r.Run(context.Background(), csvPlan(t, csvPath), strategies.RunOptions{})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Inserted != 19 || rep.Skipped != 1 || rep.Uncertain != 1 {
		t.Fatalf("report: got %+v, want 19 inserted and the sign-up skipped as uncertain", rep)
	}
	unc, err := bulk.Uncertain(rep.RunDir)
	if err != nil || len(unc) != 1 || unc[0].Row != 1 || unc[0].UserID == "" {
		t.Fatalf("Uncertain: got %+v (%v), want row 1 with its user id", unc, err)
	}
	found, deleted, err := bulk.Undo(context.Background(), rep.RunDir, c, false, nil)
	if err != nil || found != 19 || deleted != 19 {
		t.Fatalf("undo: got found %d deleted %d (%v), want 19 and 19", found, deleted, err)
	}
	u, err := c.LookupUser(context.Background(), "email", "user1@example.com")
	if err != nil || u == nil {
		t.Errorf("the user who signed up during the run: got %v (%v), want them still at the target", u, err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
}
