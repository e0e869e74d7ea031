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
// until the entry is removed, so the list only shrinks. It is empty: every recorded
// case is compared, the only exception being Compare's ExceptionRacedPost.
var pending = map[string]string{}

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
