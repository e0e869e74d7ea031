package idp

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
)

// TestLookupAndDeleteThroughAdminGraphQL drives getUserByLoginID and deleteUser against
// the mock IdP's Admin API GraphQL endpoint with the plain Authgear client.
func TestLookupAndDeleteThroughAdminGraphQL(t *testing.T) {
	ctx := context.Background()
	// A project that allows usernames as login ids (`authgear init` allows email only).
	s := mockidptest.Start(t, mockidp.Config{AdminKey: testKey(), BcryptCost: 4,
		LoginIDKeys: []string{mockidp.LoginIDEmail, mockidp.LoginIDUsername}})
	info := s.Config()
	c, err := New(Config{BaseURL: info.Issuer, Project: info.Project, KeyID: info.KeyID, Key: info.AdminKey})
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Add(-time.Second)
	job, err := c.Import(ctx, []byte(`{"identifier":"email","records":[
		{"email":"Ann@Example.com","preferred_username":"ann"},
		{"email":"bob@example.com"}]}`))
	if err != nil || len(job.Details) != 2 {
		t.Fatalf("import: got %+v, %v", job, err)
	}
	annID, bobID := job.Details[0].UserID, job.Details[1].UserID

	u, err := c.LookupUser(ctx, "email", "ann@example.com")
	if err != nil || u == nil {
		t.Fatalf("look up ann by email: got %+v, %v; want her", u, err)
	}
	if u.ID != annID || u.Email != "Ann@Example.com" || u.PreferredUsername != "ann" || u.CreatedAt.Before(before) || u.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Errorf("ann: got %+v, want id %s, her email and username, created just now", u, annID)
	}
	if u, err := c.LookupUser(ctx, "preferred_username", "ann"); err != nil || u == nil || u.ID != annID {
		t.Errorf("look up ann by username: got %+v, %v", u, err)
	}
	if u, err := c.LookupUser(ctx, "email", "nobody@example.com"); err != nil || u != nil {
		t.Errorf("look up an unknown email: got %+v, %v; want nil, nil", u, err)
	}

	// Ann twice and a stranger: one deletion; the rest are already gone, which is no error.
	n, err := c.DeleteUsers(ctx, []string{annID, annID, "00000000-0000-4000-8000-000000000000"})
	if err != nil || n != 1 {
		t.Fatalf("delete: got %d, %v; want 1 deleted and no error", n, err)
	}
	if u, err := c.LookupUser(ctx, "email", "ann@example.com"); err != nil || u != nil {
		t.Errorf("ann after deletion: got %+v, %v; want nil", u, err)
	}
	if u, err := c.LookupUser(ctx, "email", "bob@example.com"); err != nil || u == nil || u.ID != bobID {
		t.Errorf("bob after ann's deletion: got %+v, %v; want him untouched", u, err)
	}

	// Another project's key is refused: a plain-text 403, as Authgear answers.
	other, _ := New(Config{BaseURL: info.Issuer, Project: "another-project", KeyID: info.KeyID, Key: info.AdminKey})
	var ae *APIError
	if _, err := other.LookupUser(ctx, "email", "bob@example.com"); !errors.As(err, &ae) || ae.Status != 403 {
		t.Errorf("lookup with a token for another project: got %v, want HTTP 403", err)
	}
}

func TestNodeID(t *testing.T) {
	const id = "0f0f65ee-4c7d-45a0-a740-bcbbfd3fcf06"
	want := base64.RawURLEncoding.EncodeToString([]byte("User:" + id))
	if got := NodeID(id); got != want || strings.Contains(got, "=") {
		t.Errorf("NodeID: got %q, want %q", got, want)
	}
	if got, err := UserIDFromNodeID(want); err != nil || got != id {
		t.Errorf("UserIDFromNodeID: got %q, %v; want %q", got, err, id)
	}
	if _, err := UserIDFromNodeID(base64.RawURLEncoding.EncodeToString([]byte("Role:x"))); err == nil {
		t.Errorf("a role's node id: got no error")
	}
}
