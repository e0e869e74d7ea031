package bulk_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/oauth2"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/bulk"
	"github.com/cutover/cutover/strategies/idp"
)

// startIdP starts a real mock IdP on a loopback port.
func startIdP(t testing.TB, cfg mockidp.Config) *mockidp.Server {
	t.Helper()
	return mockidptest.StartFast(t, cfg)
}

// mockClient is an import client for s.
func mockClient(t testing.TB, s *mockidp.Server) *idp.MockClient {
	t.Helper()
	info := s.Config()
	c, err := idp.New(idp.Config{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey})
	if err != nil {
		t.Fatal(err)
	}
	return &idp.MockClient{Client: c}
}

// runner imports into s.
func runner(t testing.TB, s *mockidp.Server) *bulk.Runner {
	return &bulk.Runner{OpenTarget: func(ctx context.Context, p *strategies.Plan) (*idp.Target, error) {
		return &idp.Target{Importer: mockClient(t, s), Hashes: idp.ProfileHashes(s.Config().Profile), Name: "mockidp-" + s.Config().Profile, URL: s.Config().Issuer}, nil
	}}
}

// fixtureHashes are bcrypt hashes (cost 4) of "password-<i>", made once.
var fixtureHashes = sync.OnceValue(func() []string {
	out := make([]string, 8)
	for i := range out {
		h, err := bcrypt.GenerateFromPassword([]byte(fmt.Sprintf("password-%d", i)), bcrypt.MinCost)
		if err != nil {
			panic(err)
		}
		out[i] = string(h)
	}
	return out
})

// writeCSV writes n users: row i has email user<i>@example.com and password
// "password-<i%8>". invalid(i) rows get a broken email.
func writeCSV(t testing.TB, path string, n int, invalid func(i int) bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	hs := fixtureHashes()
	fmt.Fprintln(w, "id,email,name,password")
	for i := 1; i <= n; i++ {
		email := fmt.Sprintf("user%d@example.com", i)
		if invalid != nil && invalid(i) {
			email = fmt.Sprintf("user%d-at-example.com", i)
		}
		fmt.Fprintf(w, "%d,%s,User %d,%s\n", i, email, i, hs[i%len(hs)])
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// csvPlan is a bulk plan for a CSV written by writeCSV.
func csvPlan(t testing.TB, csvPath string) *strategies.Plan {
	t.Helper()
	p := &strategies.Plan{
		Version:  strategies.PlanVersion,
		Strategy: strategies.StrategyBulk,
		Source:   strategies.SourceSpec{Kind: strategies.SourceCSV, Path: csvPath},
		Mapping: strategies.Mapping{
			LegacyID: strategies.FieldRef{Column: "id"}, Email: strategies.FieldRef{Column: "email"},
			Name: strategies.FieldRef{Column: "name"}, PasswordHash: strategies.FieldRef{Column: "password"},
		},
		Target: strategies.Target{Kind: strategies.TargetMockIDP, Profile: strategies.ProfileAuthgear},
		Bulk:   strategies.BulkOptions{RunDir: filepath.Join(filepath.Dir(csvPath), "runs")},
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	return p
}

// usersAt counts the users at the mock IdP.
func usersAt(t testing.TB, s *mockidp.Server) int {
	t.Helper()
	pg, err := mockClient(t, s).FindUsers(context.Background(), idp.Query{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	return pg.Total
}

// signIn signs in at s with the password grant and verifies the ID token (signature,
// issuer, audience, expiry) and its email with coreos/go-oidc.
func signIn(t testing.TB, s *mockidp.Server, email, password string) error {
	t.Helper()
	ctx := context.Background()
	info := s.Config()
	provider, err := oidc.NewProvider(ctx, info.Issuer)
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	ep := provider.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams
	conf := oauth2.Config{ClientID: info.ClientID, Endpoint: ep, Scopes: []string{oidc.ScopeOpenID, "email"}}
	tok, err := conf.PasswordCredentialsToken(ctx, email, password)
	if err != nil {
		return err
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: info.ClientID}).Verify(ctx, raw)
	if err != nil {
		return fmt.Errorf("verify the ID token: %w", err)
	}
	var claims struct {
		Email string `json:"email"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != email {
		return fmt.Errorf("ID token email: got %q, want %q (%v)", claims.Email, email, err)
	}
	return nil
}
