package kratos

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cutover/cutover/strategies"
)

const aliceHash = "$2b$05$zYt9Qrg1VHNd/MifE/.Fg.9jz0UoEkXWN5vPRtNG.jBN80avlGxkK"

func fastRetry() Retry { return Retry{Attempts: 4, Base: time.Millisecond, Cap: 5 * time.Millisecond} }

func newClient(t *testing.T, admin, public string) *Client {
	t.Helper()
	c, err := New(Config{AdminURL: admin, PublicURL: public, SchemaID: "user", Retry: fastRetry()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestImportBatchReplay replays the real Kratos's answer to a batch of four: a user
// with a hash, one for the migration hook, an inactive one, and one whose traits the
// schema refuses (it fails alone).
func TestImportBatchReplay(t *testing.T) {
	var sent batchBody
	srv := replay(t, "import_batch", func(e exchange, body []byte) {
		if err := json.Unmarshal(body, &sent); err != nil {
			t.Errorf("request body: %v", err)
		}
	})
	c := newClient(t, srv.URL, "")
	res, err := c.ImportBatch(context.Background(), "run1", []Identity{
		{Traits: map[string]any{"email": "alice@example.com", "name": "Alice"}, Password: &Password{Hash: aliceHash}, VerifiedEmail: "alice@example.com", MetadataAdmin: map[string]any{"legacy_id": "1"}},
		{Traits: map[string]any{"email": "bob@example.com"}, Password: &Password{MigrationHook: true}},
		{Traits: map[string]any{"email": "carol@example.com"}, Password: &Password{Hash: aliceHash}, Inactive: true},
		{Traits: map[string]any{"email": "not-an-email"}, Password: &Password{Hash: aliceHash}},
	})
	if err != nil {
		t.Fatalf("ImportBatch: %v", err)
	}
	want := []strategies.Outcome{strategies.OutcomeInserted, strategies.OutcomeInserted, strategies.OutcomeInserted, strategies.OutcomeFailed}
	for i, r := range res {
		if r.Outcome != want[i] || (r.Outcome == strategies.OutcomeInserted) != (r.ID != "") {
			t.Errorf("result %d: %+v, want %s (with an id when inserted)", i, r, want[i])
		}
	}
	if len(sent.Identities) != 4 {
		t.Fatalf("sent %d identities, want 4", len(sent.Identities))
	}
	if p := sent.Identities[1].Create.Credentials.Password.Config; !p.UsePasswordMigrationHook || p.HashedPassword != "" {
		t.Errorf("bob's credentials %+v: want the migration hook flag and no hash", p)
	}
	if sent.Identities[2].Create.State != "inactive" || sent.Identities[0].Create.MetadataAdmin[RunMarkerKey] != "run1" {
		t.Errorf("carol's state %q, alice's metadata %v: want inactive and the run marker", sent.Identities[2].Create.State, sent.Identities[0].Create.MetadataAdmin)
	}
}

// TestImportDuplicateReplay: Kratos answers a batch with an existing identifier with
// 200 and a 409 item; the client reports it skipped, the other inserted.
func TestImportDuplicateReplay(t *testing.T) {
	srv := replay(t, "import_duplicate", nil)
	c := newClient(t, srv.URL, "")
	res, err := c.ImportBatch(context.Background(), "run1", []Identity{
		{Traits: map[string]any{"email": "alice@example.com"}, Password: &Password{Hash: aliceHash}},
		{Traits: map[string]any{"email": "dave@example.com"}},
	})
	if err != nil {
		t.Fatalf("ImportBatch: %v", err)
	}
	if res[0].Outcome != strategies.OutcomeSkipped || !strings.HasPrefix(res[0].Reason, "duplicate") || res[1].Outcome != strategies.OutcomeInserted {
		t.Errorf("results %+v; want skipped (duplicate), inserted", res)
	}
}

// TestImportBadHashReplay: the real Kratos refuses a whole batch for one hash it does
// not know (recorded); the client checks hashes first, so that user fails alone and the
// batch sent holds only the others.
func TestImportBadHashReplay(t *testing.T) {
	srv := replay(t, "import_bad_hash", nil)
	c := newClient(t, srv.URL, "")
	status, data, _, err := c.send(context.Background(), c.admin, http.MethodPatch, PathIdentities, []byte(`{}`))
	if err != nil || status != http.StatusBadRequest {
		t.Fatalf("recorded answer: HTTP %d %v", status, err)
	}
	if e := decodeError(status, data).Error(); !strings.Contains(e, "does not match any known hash format") {
		t.Errorf("Kratos's refusal reads %q; want it to name the hash format", e)
	}
	// The refused batch's other user was not created either.
	if f, err := c.FindByIdentifier(context.Background(), "frank@example.com"); err != nil || f != nil {
		t.Errorf("FindByIdentifier(frank) = %+v, %v; want nil, nil: the whole batch was refused", f, err)
	}

	var sent batchBody
	var calls atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_ = json.NewDecoder(r.Body).Decode(&sent)
		out := batchAnswer{}
		for _, it := range sent.Identities {
			out.Identities = append(out.Identities, struct {
				Action  string    `json:"action"`
				ID      string    `json:"identity"`
				PatchID string    `json:"patch_id"`
				Error   *APIError `json:"error"`
			}{Action: "create", ID: "id-" + it.Create.Traits["email"].(string), PatchID: it.PatchID})
		}
		_ = json.NewEncoder(w).Encode(out)
	}))
	defer fake.Close()
	c = newClient(t, fake.URL, "")
	res, err := c.ImportBatch(context.Background(), "", []Identity{
		{Traits: map[string]any{"email": "eve@example.com"}, Password: &Password{Hash: "$P$984478476IagS59wHZvyQMArzfx58u."}},
		{Traits: map[string]any{"email": "frank@example.com"}},
		{Traits: map[string]any{"email": "trap@example.com"}, Password: &Password{Hash: "$pbkdf2-sha256$1000$5DwHIMTYW2ttzbnXOqc0Rg$zLxR/4J0C5yaJZjhyUKzuIC6zEtVlGT7C0h9c3uT3eE"}},
	})
	if err != nil {
		t.Fatalf("ImportBatch: %v", err)
	}
	if res[0].Outcome != strategies.OutcomeInvalid || res[2].Outcome != strategies.OutcomeInvalid || res[1].Outcome != strategies.OutcomeInserted {
		t.Errorf("results %+v; want invalid (phpass), inserted, invalid (passlib pbkdf2)", res)
	}
	if len(sent.Identities) != 1 || calls.Load() != 1 {
		t.Errorf("sent %d identities in %d requests; want only frank, once", len(sent.Identities), calls.Load())
	}
	for _, r := range res {
		if strings.Contains(r.Reason, "$P$") || strings.Contains(r.Reason, "5DwHIMTY") {
			t.Errorf("a reason repeats the hash: %q", r.Reason)
		}
	}
}

// TestImportLostAnswer: the first PATCH is applied but its answer is lost (the
// connection drops); the resent batch gets 409s, and the client claims the identities
// that carry this run's marker as its own inserts, not skips.
func TestImportLostAnswer(t *testing.T) {
	var mu sync.Mutex
	store := map[string]Found{} // email -> identity
	attempts := 0
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.Method {
		case http.MethodPatch:
			attempts++
			var body batchBody
			_ = json.NewDecoder(r.Body).Decode(&body)
			var out batchAnswer
			for _, it := range body.Identities {
				email := it.Create.Traits["email"].(string)
				item := struct {
					Action  string    `json:"action"`
					ID      string    `json:"identity"`
					PatchID string    `json:"patch_id"`
					Error   *APIError `json:"error"`
				}{PatchID: it.PatchID}
				if _, dup := store[email]; dup {
					item.Action, item.Error = "error", &APIError{Code: 409, Status: "Conflict", Message: "an identity with the same identifier already exists"}
				} else {
					store[email] = Found{ID: "id-" + email, MetadataAdmin: it.Create.MetadataAdmin}
					item.Action, item.ID = "create", "id-"+email
				}
				out.Identities = append(out.Identities, item)
			}
			if attempts == 1 { // applied, then the answer is lost
				hj, _ := w.(http.Hijacker)
				conn, _, _ := hj.Hijack()
				conn.Close()
				return
			}
			_ = json.NewEncoder(w).Encode(out)
		case http.MethodGet:
			f, ok := store[r.URL.Query().Get("credentials_identifier")]
			if !ok {
				_, _ = io.WriteString(w, "[]")
				return
			}
			_ = json.NewEncoder(w).Encode([]Found{f})
		}
	}))
	defer fake.Close()
	store["old@example.com"] = Found{ID: "id-old", MetadataAdmin: map[string]any{RunMarkerKey: "an earlier run"}}
	c := newClient(t, fake.URL, "")
	res, err := c.ImportBatch(context.Background(), "run7", []Identity{
		{Traits: map[string]any{"email": "new@example.com"}},
		{Traits: map[string]any{"email": "old@example.com"}},
	})
	if err != nil {
		t.Fatalf("ImportBatch: %v", err)
	}
	if res[0].Outcome != strategies.OutcomeInserted || !res[0].ByLostAttempt || res[0].ID != "id-new@example.com" {
		t.Errorf("new: %+v; want inserted by the lost attempt, with its id", res[0])
	}
	if res[1].Outcome != strategies.OutcomeSkipped {
		t.Errorf("old: %+v; want skipped (there before this run)", res[1])
	}
	if c.Retries() != 1 {
		t.Errorf("retries %d, want 1", c.Retries())
	}
}

// TestRetryAfter: a 429 with Retry-After is waited out and retried; a 400 is not.
func TestRetryAfter(t *testing.T) {
	var calls atomic.Int32
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		case 2:
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			_, _ = io.WriteString(w, "[]")
		}
	}))
	defer fake.Close()
	c := newClient(t, fake.URL, "")
	start := time.Now()
	f, err := c.FindByIdentifier(context.Background(), "x@example.com")
	if err != nil || f != nil {
		t.Fatalf("FindByIdentifier = %+v, %v; want nil, nil after retries", f, err)
	}
	if calls.Load() != 3 || time.Since(start) < time.Second {
		t.Errorf("%d calls in %v; want 3, the first wait at least the 1 s Retry-After", calls.Load(), time.Since(start))
	}

	calls.Store(0)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":{"code":400,"status":"Bad Request","reason":"The imported password does not match any known hash format.","message":"The request was malformed or contained invalid parameters"}}`)
	}))
	defer bad.Close()
	c = newClient(t, bad.URL, "")
	_, err = c.ImportBatch(context.Background(), "", []Identity{{Traits: map[string]any{"email": "x@example.com"}}})
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTP != 400 || calls.Load() != 1 {
		t.Errorf("ImportBatch against a 400 = %v after %d calls; want the APIError, once", err, calls.Load())
	}
}

// TestContextCancel: a cancelled context ends a retry wait at once.
func TestContextCancel(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "60")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer fake.Close()
	c := newClient(t, fake.URL, "")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := c.FindByIdentifier(ctx, "x@example.com")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("FindByIdentifier = %v; want the context's deadline", err)
	}
}

func TestBatchLimits(t *testing.T) {
	c := newClient(t, "http://127.0.0.1:1", "")
	if _, err := c.ImportBatch(context.Background(), "", make([]Identity, MaxBatch+1)); err == nil {
		t.Errorf("a batch over %d was accepted", MaxBatch)
	}
	res, err := c.ImportBatch(context.Background(), "", []Identity{{Traits: map[string]any{"email": "a@b.c"}, Password: &Password{Hash: aliceHash, MigrationHook: true}}})
	if err != nil || res[0].Outcome != strategies.OutcomeInvalid {
		t.Errorf("hash and hook together: %+v, %v; want invalid, nothing sent", res, err)
	}
}

func TestLookupReplay(t *testing.T) {
	srv := replay(t, "lookup", nil)
	c := newClient(t, srv.URL, "")
	f, err := c.FindByIdentifier(context.Background(), "alice@example.com")
	if err != nil || f == nil || f.ID == "" || f.MetadataAdmin[RunMarkerKey] == nil || f.Traits["email"] == nil {
		t.Fatalf("FindByIdentifier(alice) = %+v, %v; want her, with traits and the run marker", f, err)
	}
	if f, err := c.FindByIdentifier(context.Background(), "nobody@example.com"); err != nil || f != nil {
		t.Errorf("FindByIdentifier(nobody) = %+v, %v; want nil, nil", f, err)
	}
}

func TestDeleteReplay(t *testing.T) {
	srv := replay(t, "delete", nil)
	c := newClient(t, srv.URL, "")
	if ok, err := c.Delete(context.Background(), "x"); err != nil || !ok {
		t.Errorf("Delete = %v, %v; want true", ok, err)
	}
	if ok, err := c.Delete(context.Background(), "x"); err != nil || ok {
		t.Errorf("Delete again = %v, %v; want false, nil", ok, err)
	}
}
