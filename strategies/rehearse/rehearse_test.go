package rehearse_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/rehearse"
)

// signInFunc is a hand-written SignIner: the rehearsal must take any, not only the mock's.
type signInFunc func(login, password string) strategies.SignInResult

func (f signInFunc) SignIn(_ context.Context, login, password string) (strategies.SignInResult, error) {
	return f(login, password), nil
}

// TestBulkRehearsalWithAnySignIner: the engine imports into the target it is handed and
// asks the SignIner it is handed, reporting who signed in, who was refused and why.
func TestBulkRehearsalWithAnySignIner(t *testing.T) {
	dir := t.TempDir()
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	users := "id,email,password\n1,a@example.com," + string(h) + "\n2,b@example.com," + string(h) + "\n"
	known := filepath.Join(dir, "known.csv")
	for path, data := range map[string]string{
		filepath.Join(dir, "users.csv"): users,
		known:                           "email,password\na@example.com,pw\nb@example.com,pw\nnobody@example.com,pw\n",
	} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	p := csvPlan(t, dir, "bulk")
	tgt := mockTarget(t)
	si := signInFunc(func(login, _ string) strategies.SignInResult {
		if login == "b@example.com" {
			return strategies.SignInResult{Reason: "invalid_credentials"}
		}
		return strategies.SignInResult{OK: true, Subject: "u-" + login}
	})
	res, err := rehearse.Run(context.Background(), rehearse.Config{Plan: p, Known: known,
		Open: func(context.Context, *rehearse.Hook) (*rehearse.Target, error) {
			return &rehearse.Target{Bulk: tgt,
				SignIn: si, Name: "a test target"}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != 2 || res.RunDir != "" {
		t.Errorf("report: got %d inserted, run dir %q; want 2 and none (the records were temporary)", res.Inserted, res.RunDir)
	}
	want := map[string]string{"a@example.com": "", "b@example.com": "sign-in refused: invalid_credentials", "nobody@example.com": "not in the source"}
	if len(res.SignIns) != len(want) {
		t.Fatalf("sign-ins: got %d, want %d", len(res.SignIns), len(want))
	}
	for _, s := range res.SignIns {
		w := want[s.Email]
		if s.OK != (w == "") || !strings.Contains(s.Reason, w) {
			t.Errorf("%s: got ok=%v reason %q, want ok=%v reason containing %q", s.Email, s.OK, s.Reason, w == "", w)
		}
	}
	if res.OK() || res.SignedIn() != 1 || !strings.Contains(res.Summary(), "1 of 3 worked") {
		t.Errorf("got OK %v, %d signed in, summary %q; want not OK, 1, and '1 of 3 worked'", res.OK(), res.SignedIn(), res.Summary())
	}
}

// csvPlan parses a plan of strategy over dir/users.csv into the bundled mock IdP.
func csvPlan(t *testing.T, dir, strategy string) *strategies.Plan {
	t.Helper()
	p, err := strategies.ParsePlan(filepath.Join(dir, "plan.yaml"), []byte(`version: 1
strategy: `+strategy+`
source: {kind: csv, path: users.csv}
mapping: {legacy_id: id, email: email, password_hash: password}
target: {kind: mockidp, profile: authgear}
`))
	if err != nil {
		t.Fatal(err)
	}
	p.File = filepath.Join(dir, "plan.yaml")
	return p
}

// mockTarget starts an in-process mock IdP and returns a target importing into it.
func mockTarget(t *testing.T) *idp.Target {
	t.Helper()
	s := mockidptest.StartFast(t, mockidp.Config{})
	info := s.Config()
	c, err := idp.New(idp.Config{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey})
	if err != nil {
		t.Fatal(err)
	}
	return &idp.Target{Importer: &idp.MockClient{Client: c}, Hashes: idp.ProfileHashes(info.Profile), Name: "mockidp-" + info.Profile, URL: info.Issuer}
}
