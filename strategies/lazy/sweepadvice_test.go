package lazy

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
)

// TestSweepAdviceForFailedRows: rows a sweep failed are retried by running the sweep
// again. Its report must not send the operator to `cutover run --only-failed`, which
// runs a lazy plan's pre-import (Kratos) or refuses it (the others).
func TestSweepAdviceForFailedRows(t *testing.T) {
	p := sqlitePlan(t, []legacyUser{alice, erin}, bcrypt.MinCost)
	p.Bulk.UnsupportedHash = strategies.UnsupportedFail // erin's phpass fails at an authgear target
	p.File = filepath.Join(t.TempDir(), "lazy.yaml")
	s := mockidptest.StartFast(t, mockidp.Config{})
	info := s.Config()
	c, err := idp.New(idp.Config{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey})
	if err != nil {
		t.Fatal(err)
	}
	r := &bulk.Runner{OpenTarget: func(context.Context, *strategies.Plan) (*idp.Target, error) {
		return &idp.Target{Importer: &idp.MockClient{Client: c}, Hashes: idp.ProfileHashes(info.Profile), Name: "mockidp-test", URL: info.Issuer}, nil
	}}
	rep, err := Sweep(context.Background(), p, nil, r, strategies.RunOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed != 1 {
		t.Fatalf("sweep: got %d failed, want 1 (erin)", rep.Failed)
	}
	steps := strings.Join(rep.NextSteps, "\n")
	if strings.Contains(steps, "cutover run") || !strings.Contains(steps, "cutover sweep --plan "+p.File) {
		t.Errorf("next steps: want the sweep run again, never 'cutover run'; got:\n%s", steps)
	}
}
