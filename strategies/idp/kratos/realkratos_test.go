package kratos

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
	"github.com/cutover/cutover/strategies/passwords"
)

// These tests run against a real Kratos when KRATOS_ADMIN_URL and KRATOS_PUBLIC_URL
// are set (testdata/kratos.yml and identity.schema.json are the configuration they
// expect: schema "user" with an email password identifier), and skip otherwise. With
// -record they rewrite the recordings the replay tests use.

func realKratos(t *testing.T) (*Client, *recorder) {
	t.Helper()
	admin, public := os.Getenv("KRATOS_ADMIN_URL"), os.Getenv("KRATOS_PUBLIC_URL")
	if admin == "" || public == "" {
		t.Skip("KRATOS_ADMIN_URL and KRATOS_PUBLIC_URL are not set: no real Kratos to test against")
	}
	rec := &recorder{next: http.DefaultTransport}
	c, err := New(Config{AdminURL: admin, PublicURL: public, SchemaID: "user",
		HTTP: &http.Client{Timeout: time.Minute, Transport: rec}})
	if err != nil {
		t.Fatal(err)
	}
	return c, rec
}

func uniq() string { return strings.ToLower(rand.Text()[:10]) }

// TestRealKratosTranslatedSignIn imports one identity per real implementation's hash,
// translated, and signs each in at the real Kratos with the right and a wrong password.
// It also imports passlib's pbkdf2 untranslated to show the trap is real.
func TestRealKratosTranslatedSignIn(t *testing.T) {
	c, _ := realKratos(t)
	ctx := context.Background()
	run := uniq()
	type row struct {
		vec   vector
		email string
		hash  string
		err   error
	}
	var rows []*row
	var ids []Identity
	for i, vec := range loadVectors(t) {
		r := &row{vec: vec, email: fmt.Sprintf("%s-%d-%s@example.com", strings.ReplaceAll(vec.Format, "_", "-"), i, run)}
		rows = append(rows, r)
		tr, err := NewTranslator(passwords.Options{Firebase: vec.Firebase})
		if err != nil {
			t.Fatal(err)
		}
		s := passwords.Stored{Hash: vec.Hash, Salt: vec.Salt}
		if vec.Salt != "" {
			s.Format = vec.Format
		}
		r.hash, _, r.err = tr.Translate(s)
		if r.err == nil {
			ids = append(ids, Identity{Traits: map[string]any{"email": r.email}, Password: &Password{Hash: r.hash}})
		}
	}
	// The trap: passlib's own pbkdf2 string, sent as is (bypassing CheckHash).
	var trap vector
	for _, v := range loadVectors(t) {
		if v.Format == "pbkdf2_sha256" {
			trap = v
			break
		}
	}
	trapEmail := "trap-" + run + "@example.com"
	body := fmt.Sprintf(`{"schema_id":"user","traits":{"email":%q},"credentials":{"password":{"config":{"hashed_password":%q}}}}`, trapEmail, trap.Hash)
	status, data, _, err := c.send(ctx, c.admin, http.MethodPost, PathIdentities, []byte(body))
	if err != nil || status != http.StatusCreated {
		t.Fatalf("import passlib pbkdf2 as is: HTTP %d %s %v; Kratos accepted it when this was written", status, idp.FirstLine(data), err)
	}
	var created []string
	for start := 0; start < len(ids); start += 50 {
		end := min(start+50, len(ids))
		res, err := c.ImportBatch(ctx, run, ids[start:end])
		if err != nil {
			t.Fatalf("ImportBatch: %v", err)
		}
		for k, r := range res {
			if r.Outcome != strategies.OutcomeInserted {
				t.Errorf("import %s: %s %s", ids[start+k].Traits["email"], r.Outcome, r.Reason)
			}
			created = append(created, r.ID)
		}
	}
	t.Cleanup(func() {
		for _, id := range created {
			if _, err := c.Delete(context.Background(), id); err != nil {
				t.Errorf("delete %s: %v", id, err)
			}
		}
		if f, _ := c.FindByIdentifier(context.Background(), trapEmail); f != nil {
			_, _ = c.Delete(context.Background(), f.ID)
		}
	})
	res, err := c.SignIn(ctx, trapEmail, trap.Password)
	if err != nil || res.OK {
		t.Errorf("sign-in with passlib's pbkdf2 imported as is: %+v, %v; want refused (the trap)", res, err)
	}
	t.Logf("passlib pbkdf2 imported untranslated: accepted HTTP 201, sign-in with the right password: ok=%v reason=%q", res.OK, res.Reason)

	results := map[string][2]int{} // format -> signed in, tried
	for _, r := range rows {
		if r.err != nil {
			continue
		}
		right, err := c.SignIn(ctx, r.email, r.vec.Password)
		if err != nil {
			t.Fatalf("sign in %s: %v", r.vec.Format, err)
		}
		wrong, err := c.SignIn(ctx, r.email, r.vec.Wrong)
		if err != nil {
			t.Fatalf("sign in %s: %v", r.vec.Format, err)
		}
		n := results[r.vec.Format]
		n[1]++
		long := strings.HasPrefix(r.hash, "$2") && len(r.vec.Password) > 72
		switch {
		case right.OK && !wrong.OK:
			n[0]++
		case long && !right.OK:
			t.Logf("%s: a %d-byte password is refused by Kratos's bcrypt (%s), as the table says", r.vec.Format, len(r.vec.Password), right.Reason)
		default:
			t.Errorf("%s (%s): right password %+v, wrong password %+v", r.vec.Format, r.vec.Source, right, wrong)
		}
		if wrong.OK || (!wrong.OK && wrong.Reason != "invalid_credentials" && !(long && strings.HasPrefix(wrong.Reason, "password_too_long"))) {
			t.Errorf("%s: wrong password gave %+v, want invalid_credentials", r.vec.Format, wrong)
		}
		results[r.vec.Format] = n
	}
	var names []string
	for k := range results {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "\n  %-24s %d/%d signed in with the right password, all refused the wrong one", k, results[k][0], results[k][1])
	}
	t.Logf("real Kratos sign-ins after translation:%s", b.String())
}

// TestRealKratosAdminAndLogin walks the admin API and the login flow once, recording
// the exchanges with -record for the replay tests.
func TestRealKratosAdminAndLogin(t *testing.T) {
	c, rec := realKratos(t)
	ctx := context.Background()
	run := uniq()
	alice := "alice-" + run + "@example.com"
	bob := "bob-" + run + "@example.com"
	carol := "carol-" + run + "@example.com"
	// A bcrypt hash of "correct horse battery staple" from passlib (testdata vectors).
	const hash = "$2b$05$zYt9Qrg1VHNd/MifE/.Fg.9jz0UoEkXWN5vPRtNG.jBN80avlGxkK"
	save := func(name string) {
		if *record {
			rec.save(t, name)
		}
		rec.ex = nil
	}

	// 1. A batch: alice with a hash, bob for the migration hook, carol inactive, and a
	// row with bad traits (not an email) that fails alone.
	res, err := c.ImportBatch(ctx, run, []Identity{
		{Traits: map[string]any{"email": alice, "name": "Alice"}, Password: &Password{Hash: hash}, VerifiedEmail: alice, MetadataAdmin: map[string]any{"legacy_id": "1"}},
		{Traits: map[string]any{"email": bob}, Password: &Password{MigrationHook: true}},
		{Traits: map[string]any{"email": carol}, Password: &Password{Hash: hash}, Inactive: true},
		{Traits: map[string]any{"email": "not-an-email"}, Password: &Password{Hash: hash}},
	})
	if err != nil {
		t.Fatalf("ImportBatch: %v", err)
	}
	t.Logf("first batch: %+v", res)
	var created []string
	for _, r := range res {
		if r.ID != "" {
			created = append(created, r.ID)
		}
	}
	t.Cleanup(func() {
		for _, id := range created {
			_, _ = c.Delete(context.Background(), id)
		}
	})
	save("import_batch")

	// 2. The same alice again (and dave, new): alice is a 409 in the batch result.
	dave := "dave-" + run + "@example.com"
	res2, err := c.ImportBatch(ctx, run, []Identity{
		{Traits: map[string]any{"email": alice}, Password: &Password{Hash: hash}},
		{Traits: map[string]any{"email": dave}},
	})
	if err != nil {
		t.Fatalf("ImportBatch again: %v", err)
	}
	t.Logf("second batch: %+v", res2)
	for _, r := range res2 {
		if r.ID != "" {
			created = append(created, r.ID)
		}
	}
	save("import_duplicate")

	// 3. What a bad hash does to a whole batch, sent raw (the client never sends one).
	raw := fmt.Sprintf(`{"identities":[{"create":{"schema_id":"user","traits":{"email":"eve-%s@example.com"},"credentials":{"password":{"config":{"hashed_password":"$P$984478476IagS59wHZvyQMArzfx58u."}}},"state":"active"},"patch_id":"8d6a0c4e-3e5f-4b8e-9a55-1f0e2b9d7c11"},{"create":{"schema_id":"user","traits":{"email":"frank-%s@example.com"},"state":"active"},"patch_id":"0b7f5a0e-2b1c-4c3d-8e9f-a1b2c3d4e5f6"}]}`, run, run)
	status, data, _, err := c.send(ctx, c.admin, http.MethodPatch, PathIdentities, []byte(raw))
	t.Logf("batch with a phpass hash: HTTP %d %s %v", status, idp.FirstLine(data), err)
	if status != http.StatusBadRequest {
		t.Errorf("a batch with an unknown hash format: HTTP %d, want 400 (the whole batch refused)", status)
	}
	if f, _ := c.FindByIdentifier(ctx, "frank-"+run+"@example.com"); f != nil {
		t.Errorf("frank was created although his batch was refused")
		created = append(created, f.ID)
	}
	save("import_bad_hash")

	// 4. Lookups: found (with metadata), not found.
	f, err := c.FindByIdentifier(ctx, alice)
	if err != nil || f == nil || f.MetadataAdmin[RunMarkerKey] != run {
		t.Fatalf("FindByIdentifier(alice) = %+v, %v; want her, with the run marker", f, err)
	}
	if f, err := c.FindByIdentifier(ctx, "nobody-"+run+"@example.com"); err != nil || f != nil {
		t.Errorf("FindByIdentifier(nobody) = %+v, %v; want nil, nil", f, err)
	}
	save("lookup")

	// 5. Sign-ins: right, wrong, unknown user, inactive, migration-hook user (no hook
	// configured), then whoami with the token and with a bad one.
	for _, tc := range []struct {
		login, password string
		ok              bool
	}{
		{alice, "correct horse battery staple", true},
		{alice, "correct horse battery staple!", false},
		{"nobody-" + run + "@example.com", "x", false},
		{carol, "correct horse battery staple", false},
	} {
		r, err := c.SignIn(ctx, tc.login, tc.password)
		t.Logf("sign in %s: %+v %v", strings.SplitN(tc.login, "-", 2)[0], r, err)
		if err != nil || r.OK != tc.ok {
			t.Errorf("SignIn(%s) = %+v, %v; want ok %v", tc.login, r, err, tc.ok)
		}
	}
	s, reason, err := c.Login(ctx, alice, "correct horse battery staple")
	if err != nil || s == nil {
		t.Fatalf("Login(alice) = %v, %q, %v", s, reason, err)
	}
	who, err := c.WhoAmI(ctx, s.Token)
	if err != nil || who == nil || who.IdentityID != s.IdentityID {
		t.Errorf("WhoAmI(alice's token) = %+v, %v; want her session", who, err)
	}
	if who, err := c.WhoAmI(ctx, "ory_st_notatoken"); err != nil || who != nil {
		t.Errorf("WhoAmI(bad token) = %+v, %v; want nil, nil", who, err)
	}
	save("signin")

	// 6. Delete: once, and again (already gone).
	if ok, err := c.Delete(ctx, f.ID); err != nil || !ok {
		t.Errorf("Delete(alice) = %v, %v; want true", ok, err)
	}
	if ok, err := c.Delete(ctx, f.ID); err != nil || ok {
		t.Errorf("Delete(alice) again = %v, %v; want false, nil", ok, err)
	}
	save("delete")
}

// TestRealKratosRecipes imports the recipes Kratos can express and signs them in.
func TestRealKratosRecipes(t *testing.T) {
	c, _ := realKratos(t)
	ctx := context.Background()
	run := uniq()
	tr, err := NewTranslator(passwords.Options{Key: recipeKey})
	if err != nil {
		t.Fatal(err)
	}
	var ids []Identity
	var exprs []string
	for i, tc := range recipeCases() {
		if !tc.ok {
			continue
		}
		h, _, err := tr.Translate(passwords.Stored{Hash: tc.hash, Salt: tc.salt, Format: "recipe:" + tc.expr})
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		ids = append(ids, Identity{Traits: map[string]any{"email": fmt.Sprintf("recipe-%d-%s@example.com", i, run)}, Password: &Password{Hash: h}})
		exprs = append(exprs, tc.expr)
	}
	res, err := c.ImportBatch(ctx, run, ids)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Outcome != strategies.OutcomeInserted {
			t.Fatalf("%s: %+v", exprs[i], r)
		}
		id := r.ID
		t.Cleanup(func() { _, _ = c.Delete(context.Background(), id) })
		email := ids[i].Traits["email"].(string)
		right, err1 := c.SignIn(ctx, email, recipePassword)
		wrong, err2 := c.SignIn(ctx, email, recipePassword+"!")
		if err1 != nil || err2 != nil || !right.OK || wrong.OK {
			t.Errorf("%s: right %+v %v, wrong %+v %v", exprs[i], right, err1, wrong, err2)
		}
		t.Logf("%s: signed in %v, wrong password refused %v", exprs[i], right.OK, !wrong.OK)
	}
}

// TestRealKratosPendingHook records what the lazy sweep does to an identity the
// pre-import left waiting for the migration hook: it looks the identity up with its
// password credential, gives it the legacy hash (PUT with credentials), after which the
// user signs in with that password; asked again, it leaves the identity alone, since
// it has a password of its own now.
func TestRealKratosPendingHook(t *testing.T) {
	c, rec := realKratos(t)
	pendingHook(t, c, "bob-"+uniq()+"@example.com", true)
	if *record {
		rec.save(t, "pending_hook")
	}
}

// TestReplayPendingHook replays TestRealKratosPendingHook's recording.
func TestReplayPendingHook(t *testing.T) {
	srv := replay(t, "pending_hook", nil)
	c, err := New(Config{AdminURL: srv.URL, PublicURL: srv.URL, SchemaID: "user"})
	if err != nil {
		t.Fatal(err)
	}
	pendingHook(t, c, "bob@example.com", false)
}

// pendingHook is the pending-hook scenario against c; real says c is a real Kratos
// (whose identity is deleted afterwards).
func pendingHook(t *testing.T, c *Client, bob string, real bool) {
	t.Helper()
	ctx := context.Background()
	// A bcrypt hash of "correct horse battery staple" from passlib (testdata vectors).
	const hash = "$2b$05$zYt9Qrg1VHNd/MifE/.Fg.9jz0UoEkXWN5vPRtNG.jBN80avlGxkK"
	res, err := c.ImportBatch(ctx, "", []Identity{{Traits: map[string]any{"email": bob}, Password: &Password{MigrationHook: true}}})
	if err != nil || len(res) != 1 || res[0].ID == "" {
		t.Fatalf("ImportBatch(bob for the hook) = %+v, %v", res, err)
	}
	if real {
		t.Cleanup(func() { _, _ = c.Delete(context.Background(), res[0].ID) })
	}
	id, err := c.SetHashIfHookPending(ctx, bob, hash)
	if err != nil || id != res[0].ID {
		t.Fatalf("SetHashIfHookPending(bob, waiting) = %q, %v; want his id %s", id, err, res[0].ID)
	}
	if r, err := c.SignIn(ctx, bob, "correct horse battery staple"); err != nil || !r.OK {
		t.Errorf("SignIn(bob) after his hash was set = %+v, %v; want signed in", r, err)
	}
	if id, err := c.SetHashIfHookPending(ctx, bob, hash); err != nil || id != "" {
		t.Errorf("SetHashIfHookPending(bob, with a password) = %q, %v; want \"\", nil (left alone)", id, err)
	}
}
