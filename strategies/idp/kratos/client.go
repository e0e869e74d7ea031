// Package kratos is cutover's Ory Kratos target: the admin identities API (batch
// import, lookup, delete), legacy hashes translated into Kratos's own syntax, traits
// through a documented identity schema, and sign-ins through the self-service login API.
// It was written and recorded against Kratos v1.3.1.
package kratos

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/idp"
)

// Admin API paths of Kratos.
const (
	PathIdentities = "/admin/identities"
	PathLoginAPI   = "/self-service/login/api"
	PathLogin      = "/self-service/login"
	PathWhoami     = "/sessions/whoami"
)

// Batch limits. Kratos v1.3.1 refuses a PATCH with more than MaxBatch identities;
// DefaultBatch keeps a request (and the transaction behind it) at half of that.
const (
	MaxBatch     = 2000
	DefaultBatch = 1000
)

// Config says how to reach Kratos.
type Config struct {
	// AdminURL is the admin API's base URL (self-hosted: port 4434); on Ory Network
	// the project URL, with APIKey set.
	AdminURL string
	// PublicURL is the public API's base URL (port 4433), for sign-ins and sessions.
	PublicURL string
	// APIKey is sent as "Authorization: Bearer" to the admin API (Ory Network's
	// project API key); empty for a self-hosted Kratos, whose admin port is private.
	APIKey string
	// SchemaID is the identity schema imported identities use; empty means Kratos's default.
	SchemaID string
	// HTTP is the client to use; nil means one with a two-minute timeout.
	HTTP  *http.Client
	Retry Retry        // zero means DefaultRetry()
	Log   *slog.Logger // nil means discard
}

// Retry is the policy for transient failures, the same as the Authgear client's: 429
// (honouring Retry-After), 5xx, timeouts and dropped connections; other 4xx answers
// are permanent.
type Retry = idp.Retry

// DefaultRetry is about a minute and a half of attempts in the worst case.
func DefaultRetry() Retry { return idp.DefaultRetry() }

// Client talks to one Kratos. It is safe for concurrent use.
type Client struct {
	admin, public *url.URL
	cfg           Config
	http          *http.Client
	retry         Retry
	log           *slog.Logger
	retries       atomic.Int64
}

// New returns a Client for cfg. AdminURL is required; PublicURL only for sign-ins.
func New(cfg Config) (*Client, error) {
	parse := func(field, s string) (*url.URL, error) {
		if s == "" {
			return nil, nil
		}
		u, err := url.Parse(strings.TrimRight(s, "/"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &strategies.Error{Code: strategies.CodePlan, Field: field, Message: fmt.Sprintf("%q is not an http(s) URL; give Kratos's base URL, e.g. http://127.0.0.1:4434", s)}
		}
		return u, nil
	}
	admin, err := parse("target.url", cfg.AdminURL)
	if err != nil {
		return nil, err
	}
	public, err := parse("target.public_url", cfg.PublicURL)
	if err != nil {
		return nil, err
	}
	if admin == nil && public == nil {
		return nil, &strategies.Error{Code: strategies.CodePlan, Field: "target.url", Message: "no Kratos URL; set the admin API's URL (port 4434 when self-hosted)"}
	}
	c := &Client{admin: admin, public: public, cfg: cfg, http: cfg.HTTP, retry: cfg.Retry, log: cfg.Log}
	if c.http == nil {
		c.http = &http.Client{Timeout: 2 * time.Minute}
	}
	if c.retry.Attempts == 0 {
		c.retry = DefaultRetry()
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	return c, nil
}

// Retries returns how many requests were retried so far.
func (c *Client) Retries() int64 { return c.retries.Load() }

// Identity is one identity to create.
type Identity struct {
	// SchemaID overrides Config.SchemaID for this identity.
	SchemaID string
	// Traits are validated by Kratos against the schema (see Schema and Traits).
	Traits map[string]any
	// Password, when set, is a password credential: a hash in Kratos's syntax (see
	// Translator), or the migration hook flag with no hash (the lazy strategy).
	Password *Password
	// Inactive identities cannot sign in (a disabled legacy user).
	Inactive bool
	// VerifiedEmail marks the email trait's address as verified at import.
	VerifiedEmail string
	// MetadataAdmin is visible only through the admin API (legacy id, roles, run marker).
	MetadataAdmin map[string]any
}

// Password is an identity's password credential.
type Password struct {
	Hash string // in Kratos's syntax; checked by CheckHash before a batch is sent
	// MigrationHook asks Kratos to call the password-migration hook at the first
	// sign-in; Hash must be empty (Kratos calls the hook only for identities without one).
	MigrationHook bool
}

// Result is what became of one identity of a batch.
type Result struct {
	ID      string             // Kratos's identity id when inserted
	Outcome strategies.Outcome // inserted, skipped (already there) or failed/invalid
	// Reason is Kratos's reason for a skip or a failure, short and stable where Kratos
	// gives one ("duplicate", "invalid_hash", ...), then its message.
	Reason string
	// ByLostAttempt is true for an identity skipped as a duplicate that this batch
	// itself created in an attempt whose answer was lost (found by its run marker).
	ByLostAttempt bool
}

// RunMarkerKey is the metadata_admin key holding the run id an identity was imported
// by, so a batch retried after a lost answer can tell its own creations from users
// that were there before (both come back as 409 duplicates).
const RunMarkerKey = "cutover_run"

// APIError is an error Kratos answered with (its {"error":{...}} body), or for a
// non-JSON answer the status and the first line of the body.
type APIError struct {
	Code    int            `json:"code"`
	Status  string         `json:"status"`
	Reason  string         `json:"reason"`
	Message string         `json:"message"`
	ID      string         `json:"id"`
	Details map[string]any `json:"details,omitempty"`
	// HTTP is the status of the response that carried the error.
	HTTP int `json:"-"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "kratos: HTTP %d", e.HTTP)
	if e.Message != "" {
		b.WriteString(": " + strings.ToLower(e.Message[:1]) + e.Message[1:])
	}
	if e.Reason != "" {
		b.WriteString(" (" + e.Reason + ")")
	}
	switch e.HTTP {
	case http.StatusUnauthorized, http.StatusForbidden:
		b.WriteString("; the admin API refused the request: check target.api_key")
	case http.StatusNotFound:
		b.WriteString("; check that target.url is Kratos's admin API (port 4434 when self-hosted)")
	}
	return b.String()
}

type errorBody struct {
	Error *APIError `json:"error"`
}

// batchBody is the PATCH /admin/identities request.
type batchBody struct {
	Identities []batchItem `json:"identities"`
}

type batchItem struct {
	Create  *createBody `json:"create"`
	PatchID string      `json:"patch_id"`
}

type createBody struct {
	SchemaID            string          `json:"schema_id"`
	Traits              map[string]any  `json:"traits"`
	Credentials         *credentials    `json:"credentials,omitempty"`
	VerifiableAddresses []address       `json:"verifiable_addresses,omitempty"`
	MetadataAdmin       map[string]any  `json:"metadata_admin,omitempty"`
	State               string          `json:"state"`
	MetadataPublic      json.RawMessage `json:"metadata_public,omitempty"`
}

type credentials struct {
	Password *passwordCred `json:"password,omitempty"`
}

type passwordCred struct {
	Config passwordConfig `json:"config"`
}

type passwordConfig struct {
	HashedPassword           string `json:"hashed_password,omitempty"`
	UsePasswordMigrationHook bool   `json:"use_password_migration_hook,omitempty"`
}

type address struct {
	Value    string `json:"value"`
	Verified bool   `json:"verified"`
	Via      string `json:"via"`
	Status   string `json:"status"`
}

type batchAnswer struct {
	Identities []struct {
		Action  string    `json:"action"`
		ID      string    `json:"identity"`
		PatchID string    `json:"patch_id"`
		Error   *APIError `json:"error"`
	} `json:"identities"`
}

// ImportBatch creates up to MaxBatch identities in one PATCH /admin/identities and
// returns one Result per identity, in order. runID (may be empty) is stored in each
// identity's metadata_admin under RunMarkerKey.
//
// Every hash is checked first (CheckHash), because Kratos fails the whole batch for
// one hash it does not know: such an identity comes back failed and the rest are sent.
// An identity whose identifier already exists comes back skipped (Kratos's 409); when
// the request had to be resent, those are looked up and the ones carrying runID are
// reported as this run's (ByLostAttempt). An error means the batch as a whole did not
// go through; no identity of it should be counted.
func (c *Client) ImportBatch(ctx context.Context, runID string, ids []Identity) ([]Result, error) {
	if len(ids) > MaxBatch {
		return nil, fmt.Errorf("kratos: a batch of %d identities is over Kratos's limit of %d; lower bulk.batch_size", len(ids), MaxBatch)
	}
	if c.admin == nil {
		return nil, errors.New("kratos: no admin URL")
	}
	results := make([]Result, len(ids))
	var body batchBody
	sent := make([]int, 0, len(ids)) // index in ids of each item sent
	for i := range ids {
		item, err := c.createBody(runID, &ids[i])
		if err != nil {
			results[i] = Result{Outcome: strategies.OutcomeInvalid, Reason: reasonOf(err)}
			continue
		}
		body.Identities = append(body.Identities, batchItem{Create: item, PatchID: newUUID()})
		sent = append(sent, i)
	}
	if len(sent) == 0 {
		return results, nil
	}
	buf, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("kratos: encode batch: %w", err)
	}
	status, data, attempts, err := c.send(ctx, c.admin, http.MethodPatch, PathIdentities, buf)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, decodeError(status, data)
	}
	var ans batchAnswer
	if err := json.Unmarshal(data, &ans); err != nil {
		return nil, fmt.Errorf("kratos: decode batch answer: %w", err)
	}
	if len(ans.Identities) != len(sent) {
		return nil, fmt.Errorf("kratos: the batch answer has %d items for %d sent", len(ans.Identities), len(sent))
	}
	for k, a := range ans.Identities {
		i := sent[k]
		if a.PatchID != body.Identities[k].PatchID {
			return nil, fmt.Errorf("kratos: the batch answer's item %d is not the one sent", k)
		}
		switch {
		case a.Action == "create" && a.ID != "":
			results[i] = Result{ID: a.ID, Outcome: strategies.OutcomeInserted}
		case a.Error != nil && a.Error.Code == http.StatusConflict:
			results[i] = Result{Outcome: strategies.OutcomeSkipped, Reason: "duplicate: " + a.Error.Message}
			if attempts > 1 && runID != "" {
				c.claimLost(ctx, runID, &ids[i], &results[i])
			}
		case a.Error != nil:
			a.Error.HTTP = a.Error.Code
			reason := strings.TrimPrefix(a.Error.Error(), "kratos: ")
			if a.Error.Code == http.StatusBadRequest {
				// Kratos v1.3.1 says no more than "malformed" for an item of a batch; the
				// usual cause is traits the identity schema refuses.
				reason += "; Kratos gives no detail in a batch: check the traits against the identity schema (cutover kratos schema)"
			}
			results[i] = Result{Outcome: strategies.OutcomeFailed, Reason: reason}
		default:
			return nil, fmt.Errorf("kratos: the batch answer's item %d has action %q and no identity", k, a.Action)
		}
	}
	return results, nil
}

// claimLost looks up an identity a resent batch found already there: if it carries
// this run's marker, the lost first attempt created it and it is this run's insert.
func (c *Client) claimLost(ctx context.Context, runID string, id *Identity, r *Result) {
	ident := identifierOf(id.Traits)
	if ident == "" {
		return
	}
	found, err := c.FindByIdentifier(ctx, ident)
	if err != nil || found == nil {
		return // stays skipped: the report says duplicate, which is the safe side
	}
	if found.MetadataAdmin[RunMarkerKey] == runID {
		*r = Result{ID: found.ID, Outcome: strategies.OutcomeInserted, ByLostAttempt: true}
	}
}

func (c *Client) createBody(runID string, id *Identity) (*createBody, error) {
	b := &createBody{SchemaID: id.SchemaID, Traits: id.Traits, State: "active", MetadataAdmin: id.MetadataAdmin}
	if b.SchemaID == "" {
		b.SchemaID = c.cfg.SchemaID
	}
	if b.SchemaID == "" {
		b.SchemaID = "default"
	}
	if id.Inactive {
		b.State = "inactive"
	}
	if runID != "" {
		md := make(map[string]any, len(b.MetadataAdmin)+1)
		for k, v := range b.MetadataAdmin {
			md[k] = v
		}
		md[RunMarkerKey] = runID
		b.MetadataAdmin = md
	}
	if p := id.Password; p != nil {
		switch {
		case p.MigrationHook && p.Hash != "":
			return nil, &strategies.Error{Code: strategies.CodeInvalidValue, Field: "password_hash", Message: "an identity for the migration hook must have no hash: Kratos calls the hook only for identities without one"}
		case p.MigrationHook:
			b.Credentials = &credentials{Password: &passwordCred{Config: passwordConfig{UsePasswordMigrationHook: true}}}
		default:
			if err := CheckHash(p.Hash); err != nil {
				return nil, err
			}
			b.Credentials = &credentials{Password: &passwordCred{Config: passwordConfig{HashedPassword: p.Hash}}}
		}
	}
	if id.VerifiedEmail != "" {
		b.VerifiableAddresses = []address{{Value: id.VerifiedEmail, Verified: true, Via: "email", Status: "completed"}}
	}
	return b, nil
}

// reasonOf is a short, hash-free reason for an identity refused before sending.
func reasonOf(err error) string {
	var se *strategies.Error
	if errors.As(err, &se) {
		return string(se.Code) + ": " + se.Message
	}
	return err.Error()
}

// identifierOf returns the trait a lookup by credentials identifier uses: the
// first of email, phone_number, preferred_username that is set.
func identifierOf(traits map[string]any) string {
	for _, k := range []string{"email", "phone_number", "preferred_username"} {
		if s, ok := traits[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}

// Found is an identity as the admin API returns it (no credentials).
type Found struct {
	ID            string         `json:"id"`
	SchemaID      string         `json:"schema_id"`
	State         string         `json:"state"`
	Traits        map[string]any `json:"traits"`
	MetadataAdmin map[string]any `json:"metadata_admin"`
	CreatedAt     time.Time      `json:"created_at"`
}

// FindByIdentifier returns the identity whose credentials identifier (email, phone
// or username, as the schema marks it) is identifier, or nil when none is. Kratos
// v1.3.1 stores email identifiers lower-cased and matches this lookup, the sign-in
// and the import's duplicate check without regard to case (observed): Alice@X.com
// finds, signs in as, and conflicts with alice@x.com.
func (c *Client) FindByIdentifier(ctx context.Context, identifier string) (*Found, error) {
	if c.admin == nil {
		return nil, errors.New("kratos: no admin URL")
	}
	q := url.Values{"credentials_identifier": {identifier}}
	status, data, _, err := c.send(ctx, c.admin, http.MethodGet, PathIdentities+"?"+q.Encode(), nil)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, decodeError(status, data)
	}
	var list []Found
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("kratos: decode identities: %w", err)
	}
	if len(list) == 0 {
		return nil, nil
	}
	return &list[0], nil
}

// Delete deletes an identity by id. deleted is false when there was none (already
// deleted, e.g. by an undo that was interrupted and run again).
func (c *Client) Delete(ctx context.Context, id string) (deleted bool, err error) {
	if c.admin == nil {
		return false, errors.New("kratos: no admin URL")
	}
	status, data, _, err := c.send(ctx, c.admin, http.MethodDelete, PathIdentities+"/"+url.PathEscape(id), nil)
	switch {
	case err != nil:
		return false, err
	case status == http.StatusNoContent:
		return true, nil
	case status == http.StatusNotFound:
		return false, nil
	}
	return false, decodeError(status, data)
}

func decodeError(status int, data []byte) error {
	var eb errorBody
	if json.Unmarshal(data, &eb) == nil && eb.Error != nil {
		eb.Error.HTTP = status
		return eb.Error
	}
	return &APIError{HTTP: status, Message: idp.FirstLine(data)}
}

// send sends one request, retrying transient failures, and returns the final status,
// body and the number of times it was sent (more than one: an earlier attempt may have
// been applied and its answer lost).
func (c *Client) send(ctx context.Context, base *url.URL, method, pathQuery string, body []byte) (int, []byte, int, error) {
	p, q, _ := strings.Cut(pathQuery, "?")
	u := base.JoinPath(p)
	u.RawQuery = q
	for attempt := 1; ; attempt++ {
		status, data, retryAfter, err := c.once(ctx, base == c.admin, method, u.String(), body)
		if ctx.Err() != nil {
			return 0, nil, attempt, ctx.Err()
		}
		transient := err != nil && idp.IsTransient(err) || err == nil && idp.RetryableStatus(status)
		if !transient || attempt >= c.retry.Attempts {
			if err != nil {
				return 0, nil, attempt, fmt.Errorf("kratos: %s %s: %w", method, p, err)
			}
			return status, data, attempt, nil
		}
		wait := c.retry.Backoff(attempt, retryAfter)
		c.retries.Add(1)
		c.log.DebugContext(ctx, "kratos: retrying", "method", method, "path", p, "status", status, "err", err, "wait", wait, "attempt", attempt)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, nil, attempt, ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Client) once(ctx context.Context, admin bool, method, u string, body []byte) (int, []byte, time.Duration, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if admin && c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, nil, 0, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, data, idp.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), nil
}

// newUUID returns a random (version 4) UUID for a batch item's patch_id.
func newUUID() string {
	var b [16]byte
	_, _ = crand.Read(b[:]) // never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// AdminURL returns the admin API's base URL ("" when none was given).
func (c *Client) AdminURL() string {
	if c.admin == nil {
		return ""
	}
	return c.admin.String()
}

// PublicURL returns the public API's base URL ("" when none was given).
func (c *Client) PublicURL() string {
	if c.public == nil {
		return ""
	}
	return c.public.String()
}

// SetRetry replaces the retry policy (a live check tries once).
func (c *Client) SetRetry(r Retry) { c.retry = r }

// Ping lists one identity through the admin API: it answers only to a caller the
// admin API lets in (the API key, on Ory Network).
func (c *Client) Ping(ctx context.Context) error {
	if c.admin == nil {
		return errors.New("kratos: no admin URL")
	}
	status, data, _, err := c.send(ctx, c.admin, http.MethodGet, PathIdentities+"?page_size=1", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return decodeError(status, data)
	}
	return nil
}

// PingPublic asks the public API whether it is ready.
func (c *Client) PingPublic(ctx context.Context) error {
	if c.public == nil {
		return errors.New("kratos: no public URL")
	}
	status, data, _, err := c.send(ctx, c.public, http.MethodGet, "/health/ready", nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return decodeError(status, data)
	}
	return nil
}

// identityWithPassword is an identity as GET /admin/identities/{id}?include_credential=password
// returns it: the password credential's config says whether it waits for the hook.
type identityWithPassword struct {
	Found
	Credentials struct {
		Password *struct {
			Config struct {
				HashedPassword           string `json:"hashed_password"`
				UsePasswordMigrationHook bool   `json:"use_password_migration_hook"`
			} `json:"config"`
		} `json:"password"`
	} `json:"credentials"`
}

// SetHashIfHookPending gives the identity holding identifier the hash, if and only if
// it still waits for the password-migration hook with no hash of its own: an identity
// the lazy strategy pre-imported whose user never signed in. It returns the identity's
// id when it set the hash, "" when the identity is not such (it has a password: the
// hook already ran, or bulk imported one), or is gone. Kratos drops the hook flag with
// the new credential.
//
// A user signing in between the look and the write has their own password stored by
// Kratos and then replaced by the legacy hash of the same password (the legacy system
// is frozen by then): their password still works.
func (c *Client) SetHashIfHookPending(ctx context.Context, identifier, hash string) (string, error) {
	// One request: the lookup by identifier carries the password credential's config.
	q := url.Values{"credentials_identifier": {identifier}, "include_credential": {"password"}}
	status, data, _, err := c.send(ctx, c.admin, http.MethodGet, PathIdentities+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", decodeError(status, data)
	}
	var list []identityWithPassword
	if err := json.Unmarshal(data, &list); err != nil {
		return "", fmt.Errorf("kratos: decode identities: %w", err)
	}
	if len(list) == 0 {
		return "", nil // gone
	}
	id := list[0]
	pw := id.Credentials.Password
	if pw == nil || !pw.Config.UsePasswordMigrationHook || pw.Config.HashedPassword != "" {
		return "", nil
	}
	if err := CheckHash(hash); err != nil {
		return "", err
	}
	body, err := json.Marshal(map[string]any{
		"schema_id": id.SchemaID, "traits": id.Traits, "state": id.State, "metadata_admin": id.MetadataAdmin,
		"credentials": credentials{Password: &passwordCred{Config: passwordConfig{HashedPassword: hash}}},
	})
	if err != nil {
		return "", fmt.Errorf("kratos: encode identity: %w", err)
	}
	status, data, _, err = c.send(ctx, c.admin, http.MethodPut, PathIdentities+"/"+url.PathEscape(id.ID), body)
	if err != nil {
		return "", err
	}
	if status != http.StatusOK {
		return "", decodeError(status, data)
	}
	return id.ID, nil
}
