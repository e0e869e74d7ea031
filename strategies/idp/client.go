// Package idp talks to identity providers: the Authgear User Import API (which the
// bundled mock IdP also speaks), with Admin API JWTs, retries that tell a 429 from a
// 400, and the small optional capabilities (Finder, Deleter) some targets add.
package idp

import (
	"bytes"
	"context"
	"crypto/rsa"
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
)

// Endpoint paths of the Authgear User Import API.
const (
	PathImport = "/_api/admin/users/import"
	// BodyMaxSize is Authgear's request body limit (500 KB, decimal).
	BodyMaxSize = 500_000
)

// Job statuses and record outcomes as the import API reports them.
const (
	StatusPending   = "pending"
	StatusCompleted = "completed"
)

// Config describes how to reach an Authgear-compatible import API.
type Config struct {
	BaseURL string          // e.g. https://myapp.authgear.cloud
	Project string          // the Admin API JWT audience (project id)
	KeyID   string          // the Admin API key id (JWT header kid)
	Key     *rsa.PrivateKey // the Admin API private key
	// HTTP is the client to use; nil means one tuned for a few concurrent batches.
	HTTP  *http.Client
	Retry Retry        // zero means DefaultRetry()
	Log   *slog.Logger // nil means discard
	// PollInterval is the first wait between job polls (growing to 250ms); 0 means 10ms.
	PollInterval time.Duration
}

var (
	_ Importer = (*Client)(nil)
	_ Importer = (*MockClient)(nil)
)

// Client is a User Import API client. It is safe for concurrent use.
type Client struct {
	base    *url.URL
	http    *http.Client
	retry   Retry
	log     *slog.Logger
	tokens  *tokenSource
	poll    time.Duration
	retries atomic.Int64
}

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("idp: %q is not an absolute URL", cfg.BaseURL)
	}
	if cfg.Key == nil {
		return nil, errors.New("idp: no Admin API private key")
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{
			Timeout: 2 * time.Minute,
			Transport: &http.Transport{
				Proxy:               http.ProxyFromEnvironment,
				MaxIdleConns:        128,
				MaxIdleConnsPerHost: 64,
				IdleConnTimeout:     90 * time.Second,
			},
		}
	}
	r := cfg.Retry
	if r.Attempts == 0 {
		r = DefaultRetry()
	}
	l := cfg.Log
	if l == nil {
		l = slog.New(slog.DiscardHandler)
	}
	poll := cfg.PollInterval
	if poll <= 0 {
		poll = 10 * time.Millisecond
	}
	return &Client{
		base:   u,
		http:   hc,
		retry:  r,
		log:    l,
		tokens: &tokenSource{project: cfg.Project, kid: cfg.KeyID, key: cfg.Key},
		poll:   poll,
	}, nil
}

// Retries returns how many requests were retried so far.
func (c *Client) Retries() int64 { return c.retries.Load() }

// BaseURL returns the target's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// Job is an import job as the API reports it. Summary and Details are nil while pending.
type Job struct {
	ID          string     `json:"id"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	Status      string     `json:"status"`
	Summary     *Summary   `json:"summary,omitempty"`
	Details     []Detail   `json:"details,omitempty"`
	Error       *APIError  `json:"error,omitempty"`

	// Resent says the request that started the job was sent more than once: if an
	// earlier attempt's answer was lost after the target accepted it, an earlier job
	// with the same records may have run, and rows this job reports as skipped may
	// have been created by it.
	Resent bool `json:"-"`
}

// Summary counts a completed job's records by outcome.
type Summary struct {
	Total    int `json:"total"`
	Inserted int `json:"inserted"`
	Updated  int `json:"updated"`
	Skipped  int `json:"skipped"`
	Failed   int `json:"failed"`
}

// Detail is the outcome of one record; Index is its position in the request's records.
// The echoed record is not decoded: it holds nothing the caller does not already have.
type Detail struct {
	Index    int         `json:"index"`
	Outcome  string      `json:"outcome"`
	UserID   string      `json:"user_id,omitempty"`
	Warnings []Warning   `json:"warnings,omitempty"`
	Errors   []*APIError `json:"errors,omitempty"`
}

// Warning is a note on a record, e.g. why it was skipped.
type Warning struct {
	Message string `json:"message"`
}

// Reason summarises why a record was not inserted: the first error's reason and message,
// or the first warning.
func (d *Detail) Reason() string {
	if len(d.Errors) > 0 && d.Errors[0] != nil {
		e := d.Errors[0]
		switch {
		case e.Reason != "" && e.Message != "":
			return e.Reason + ": " + e.Message
		case e.Reason != "":
			return e.Reason
		default:
			return e.Message
		}
	}
	if len(d.Warnings) > 0 {
		return d.Warnings[0].Message
	}
	return ""
}

// APIError is an error the target returned: the Authgear error object, or for a
// non-JSON answer (a 403 for a bad token) the status and the body's first line.
type APIError struct {
	Name    string         `json:"name"`
	Reason  string         `json:"reason"`
	Message string         `json:"message"`
	Code    int            `json:"code"`
	Info    map[string]any `json:"info,omitempty"`
	// Status is the HTTP status of the response that carried the error.
	Status int `json:"-"`
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP %d", e.Status)
	if e.Name != "" {
		b.WriteString(" " + e.Name)
	}
	if e.Reason != "" && e.Reason != e.Name {
		b.WriteString(" (" + e.Reason + ")")
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	switch e.Status {
	case http.StatusForbidden, http.StatusUnauthorized:
		b.WriteString("; the target refused the Admin API token: check target.project, target.key_id and target.key_file")
	case http.StatusRequestEntityTooLarge:
		b.WriteString("; the request body is over the target's limit: lower bulk.batch_bytes")
	case http.StatusTooManyRequests:
		if e.Reason == "UsageLimitExceeded" {
			fmt.Fprintf(&b, "; the project's %v usage limit (per %v) is used up: raise it for the project, or run again in the next period", e.Info["usage_name"], e.Info["period"])
		}
	}
	return b.String()
}

// IsTooLarge reports whether err is the target's "request body too large" (HTTP 413).
func IsTooLarge(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status == http.StatusRequestEntityTooLarge
}

// StartImport posts a complete request body ({"upsert","identifier","records"}) and
// returns the pending job. Build bodies with a Batch to stay under the byte limit.
func (c *Client) StartImport(ctx context.Context, body []byte) (*Job, error) {
	var j Job
	status, data, attempts, err := c.send(ctx, http.MethodPost, PathImport, body)
	if err == nil {
		err = decodeResult(status, data, &j)
	}
	if err != nil {
		return nil, fmt.Errorf("start import job: %w", err)
	}
	if j.ID == "" {
		return nil, errors.New("start import job: the target answered without a job id")
	}
	j.Resent = attempts > 1
	return &j, nil
}

// GetImport fetches an import job.
func (c *Client) GetImport(ctx context.Context, id string) (*Job, error) {
	var j Job
	if err := c.call(ctx, http.MethodGet, PathImport+"/"+url.PathEscape(id), nil, &j); err != nil {
		return nil, fmt.Errorf("poll import job %s: %w", id, err)
	}
	return &j, nil
}

// maxPollInterval bounds the wait between polls: a job finishing just after a long
// wait would leave a batch slot idle, which costs more than a few extra GETs.
const maxPollInterval = 250 * time.Millisecond

// WaitImport polls a job until it completes, backing off from the poll interval to 250ms.
func (c *Client) WaitImport(ctx context.Context, id string) (*Job, error) {
	wait := c.poll
	for {
		j, err := c.GetImport(ctx, id)
		if err != nil {
			return nil, err
		}
		if j.Status == StatusCompleted {
			return j, nil
		}
		if j.Error != nil {
			return nil, fmt.Errorf("import job %s: %w", id, j.Error)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		wait = min(wait*3/2, maxPollInterval)
	}
}

// Import starts a job and waits for it.
func (c *Client) Import(ctx context.Context, body []byte) (*Job, error) {
	j, err := c.StartImport(ctx, body)
	if err != nil {
		return nil, err
	}
	if j.Status == StatusCompleted && j.Summary != nil {
		return j, nil
	}
	done, err := c.WaitImport(ctx, j.ID)
	if err != nil {
		return nil, err
	}
	done.Resent = j.Resent
	return done, nil
}

// envelope is Authgear's response wrapper; a bare object is accepted too.
type envelope struct {
	Result json.RawMessage `json:"result"`
	Error  *APIError       `json:"error"`
}

// call sends one request with retries and decodes the result into out.
func (c *Client) call(ctx context.Context, method, path string, body []byte, out any) error {
	status, data, err := c.do(ctx, method, path, body)
	if err != nil {
		return err
	}
	return decodeResult(status, data, out)
}

func decodeResult(status int, data []byte, out any) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return &APIError{Status: status, Message: FirstLine(data)}
	}
	var env envelope
	if err := json.Unmarshal(trimmed, &env); err != nil {
		return fmt.Errorf("decode answer (HTTP %d): %w", status, err)
	}
	if env.Error != nil {
		env.Error.Status = status
		return env.Error
	}
	if status >= 300 {
		return &APIError{Status: status, Message: FirstLine(data)}
	}
	raw := env.Result
	if raw == nil {
		raw = trimmed // a bare object, as the docs show
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}

// do sends a request, retrying transient failures; it returns the final status and body.
// Permanent HTTP errors come back as a status with no Go error.
func (c *Client) do(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
	status, data, _, err := c.send(ctx, method, path, body)
	return status, data, err
}

// send is do, also saying how many times the request was sent.
func (c *Client) send(ctx context.Context, method, path string, body []byte) (int, []byte, int, error) {
	p, q, _ := strings.Cut(path, "?")
	full := c.base.JoinPath(p)
	full.RawQuery = q
	u := full.String()
	for attempt := 1; ; attempt++ {
		status, data, retryAfter, err := c.once(ctx, method, u, body)
		if ctx.Err() != nil {
			return 0, nil, attempt, ctx.Err()
		}
		transient := err != nil && IsTransient(err) || err == nil && retryableAnswer(status, data)
		if !transient {
			if err != nil {
				return 0, nil, attempt, fmt.Errorf("%s %s: %w", method, path, err)
			}
			return status, data, attempt, nil
		}
		if attempt >= c.retry.Attempts {
			if err != nil {
				return 0, nil, attempt, fmt.Errorf("%s %s: gave up after %d attempts: %w", method, path, attempt, err)
			}
			return status, data, attempt, nil
		}
		wait := c.retry.Backoff(attempt, retryAfter)
		c.retries.Add(1)
		c.log.DebugContext(ctx, "retrying", "method", method, "path", path, "status", status, "err", err, "wait", wait, "attempt", attempt)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return 0, nil, attempt, ctx.Err()
		case <-t.C:
		}
	}
}

func (c *Client) once(ctx context.Context, method, u string, body []byte) (status int, data []byte, retryAfter time.Duration, err error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, 0, err
	}
	tok, err := c.tokens.token(time.Now())
	if err != nil {
		return 0, nil, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, 0, err
	}
	defer resp.Body.Close()
	data, err = io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, 0, fmt.Errorf("read answer: %w", err)
	}
	return resp.StatusCode, data, ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), nil
}

// FirstLine is the first line of an answer body, cut at 200 bytes: enough for an error
// message, never a whole page.

func FirstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
