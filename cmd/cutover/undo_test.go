package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
)

// TestUndoAuthgearTarget: with a target of kind authgear (the mock IdP by URL, reached
// only through Authgear's own APIs) undo deletes the run's users with the Admin API
// GraphQL deleteUser mutation; run again, it finds them gone and fails nothing.
func TestUndoAuthgearTarget(t *testing.T) {
	keyDir := t.TempDir()
	s := mockidptest.Start(t, mockidp.Config{AdminKeyDir: keyDir, BcryptCost: bcrypt.MinCost})
	info := s.Config()
	plan := writeRunFixture(t, 12, "{unsupported_hash: skip}")
	data, err := os.ReadFile(plan)
	if err != nil {
		t.Fatal(err)
	}
	target := fmt.Sprintf("target: {kind: authgear, url: %q, project: %s, key_id: %s, key_file: %q}",
		info.Issuer, info.Project, info.KeyID, filepath.Join(keyDir, mockidp.AdminKeyPEMFile))
	data = []byte(strings.Replace(string(data), "target: {kind: mockidp, profile: authgear}", target, 1))
	if err := os.WriteFile(plan, data, 0o600); err != nil {
		t.Fatal(err)
	}

	code, out, errOut := runCLI(t, "", "run", "--plan", plan, "--json")
	var rep strategies.Report
	if code != exitOK || json.Unmarshal([]byte(out), &rep) != nil || rep.Inserted != 11 || rep.Skipped != 1 {
		t.Fatalf("run: got exit %d, %q (stderr %q); want 11 inserted, 1 skipped (Django hash)", code, out, errOut)
	}
	mc := &idp.MockClient{}
	if mc.Client, err = idp.New(idp.Config{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey}); err != nil {
		t.Fatal(err)
	}
	count := func() int {
		t.Helper()
		pg, err := mc.FindUsers(context.Background(), idp.Query{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return pg.Total
	}
	if n := count(); n != 11 {
		t.Fatalf("users at the IdP after the run: got %d, want 11", n)
	}
	code, out, errOut = runCLI(t, "", "undo", rep.RunDir)
	if code != exitOK || !strings.Contains(out, "deleted 11 of the 11 users") {
		t.Fatalf("undo: got exit %d, %q (stderr %q); want 11 deleted", code, out, errOut)
	}
	if n := count(); n != 0 {
		t.Errorf("users at the IdP after undo: got %d, want 0", n)
	}
	code, out, errOut = runCLI(t, "", "undo", rep.RunDir)
	if code != exitOK || !strings.Contains(out, "deleted 0 of the 11 users") {
		t.Errorf("undo again: got exit %d, %q (stderr %q); want 0 deleted and no error", code, out, errOut)
	}
}
