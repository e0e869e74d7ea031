package conformance

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
)

// pending lists the cases the mock does not yet answer as the real Authgear does, each
// with the first difference seen when the corpus was recorded. A pending case's
// differences are logged (go test -v), not failed; once it matches, the test fails
// until the entry is removed, so the list only shrinks. Fixing the mock empties it.
var pending = map[string]string{
	"body/identifier-number":           "step 0 response $.error.tracking_id: missing, want '<tracking_id>'",
	"record/email-null":                "step 0 job $.result.error: missing, want {'name':'InternalError','reason':'UnexpectedError','message...",
	"record/address-unknown-key":       "step 0 job $.result.summary.inserted: 0, want 1",
	"record/phone-not-e164":            "step 0 response $.result.completed_at: missing, want '<time>'",
	"record/password-no-hash":          "step 0 response $.result.completed_at: missing, want '<time>'",
	"record/password-salt-key":         "step 0 job $.result.details[0].record: echo {'email':'k31-{{run}}@example.com','password':'REDACTED'...",
	"record/mfa-password-and-totp-bad": "step 0 job $.result.details[0].record: echo {'email':'k40-{{run}}@example.com','mfa':{'password':'RE...",
	"record/all-standard-attributes":   "step 0 job $.result.summary.inserted: 1, want 0",
	"record/nulls":                     "step 0 job $.result.details[0].record: echo {'email':'g5-{{run}}@example.com','name':null,'phone_num...",
	"record/roles-and-groups":          "step 0 job $.result.summary.inserted: 1, want 0",
	"record/mfa-everything":            "step 0 job $.result.summary.inserted: 1, want 0",
	"record/mfa-nulls":                 "step 0 job $.result.details[0].warnings: missing, want [{'message':'mfa.email = null has no effect i...",
	"record/phone-identifier":          "step 0 job $.result.summary.inserted: 1, want 0",
	"record/username-identifier":       "step 0 job $.result.summary.inserted: 1, want 2",
	"graphql/lookup-and-delete":        "step 1 response $.data.getUserByLoginID.standardAttributes.updated_at: missing, want '<time>'",
	"graphql/delete-garbage-id":        "step 0 response $.data: {'deleteUser':null}, want null",
	"graphql/delete-unknown-user":      "step 0 response $.data: {'deleteUser':null}, want null",
}

// replayMock runs the recorded requests against a fresh in-process mock (authgear
// profile) and returns its answers, normalised like the recording.
func replayMock(t *testing.T, cases []Case) []Case {
	t.Helper()
	srv := mockidptest.Start(t, mockidp.Config{Profile: mockidp.ProfileAuthgear, BcryptCost: 4})
	info := srv.Config()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	target := &Target{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey,
		OtherKey: other, JobTimeout: time.Minute, PollEvery: 5 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	got, err := Run(ctx, target, cases, "replay")
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// TestReplay replays the recorded corpus against the mock and compares every answer
// field by field with what the real Authgear said.
func TestReplay(t *testing.T) {
	corpus, err := Load(corpusFile)
	if err != nil {
		t.Fatal(err)
	}
	if corpus.Authgear == "" || len(corpus.Cases) == 0 {
		t.Fatalf("%s names no Authgear commit or holds no cases", corpusFile)
	}
	got := replayMock(t, corpus.Cases)
	for i, want := range corpus.Cases {
		t.Run(want.Name, func(t *testing.T) {
			diffs := Compare(want, got[i])
			why, isPending := pending[want.Name]
			switch {
			case isPending && len(diffs) == 0:
				t.Errorf("the mock now answers as Authgear does: remove %q from pending", want.Name)
			case isPending:
				t.Skipf("pending (%s): %d difference(s):\n%s", why, len(diffs), strings.Join(diffs, "\n"))
			default:
				for _, d := range diffs {
					t.Error(d)
				}
			}
		})
	}
	for name := range pending {
		found := false
		for _, c := range corpus.Cases {
			found = found || c.Name == name
		}
		if !found {
			t.Errorf("pending names %q, which is not in the corpus", name)
		}
	}
}

// TestCorpusCoversCases checks the recording holds every case cases.go defines, in
// order, with the same requests: a case added without re-recording is caught here.
func TestCorpusCoversCases(t *testing.T) {
	corpus, err := Load(corpusFile)
	if err != nil {
		t.Fatal(err)
	}
	defined := Cases()
	if len(corpus.Cases) != len(defined) {
		t.Fatalf("the corpus holds %d cases, cases.go defines %d: re-record (see the package doc)", len(corpus.Cases), len(defined))
	}
	for i, c := range defined {
		if got := corpus.Cases[i]; got.Name != c.Name || len(got.Steps) != len(c.Steps) {
			t.Errorf("case %d: the corpus has %q with %d steps, cases.go %q with %d: re-record", i, got.Name, len(got.Steps), c.Name, len(c.Steps))
		}
	}
}

// TestNormalisedRunsAgree runs the corpus against two fresh mocks: after
// normalisation their answers must be equal, or ids and times leak into comparisons.
func TestNormalisedRunsAgree(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the corpus twice")
	}
	cases := Cases()
	a, b := replayMock(t, cases), replayMock(t, cases)
	if path := os.Getenv("CONFORMANCE_DUMP"); path != "" {
		// The mock's answers in the corpus format, to diff against the recording by eye.
		if err := (&Corpus{Authgear: "mockidp", Cases: a}).Save(path); err != nil {
			t.Fatal(err)
		}
	}
	for i := range a {
		if d := Compare(a[i], b[i]); len(d) != 0 {
			t.Errorf("%s: two runs differ:\n%s", a[i].Name, strings.Join(d, "\n"))
		}
		if a[i].Err != "" {
			t.Errorf("%s: %s", a[i].Name, a[i].Err)
		}
	}
}
