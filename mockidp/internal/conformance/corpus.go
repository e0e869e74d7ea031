package conformance

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/cutover/cutover/strategies/idp"
)

// Corpus is a recorded conformance corpus: requests and the answers a real Authgear
// gave them, normalised so that ids and times do not matter.
type Corpus struct {
	// Authgear is the authgear-server commit the answers came from.
	Authgear string `json:"authgear"`
	// Recorded is when (UTC, to the day) and Note how they were recorded.
	Recorded string `json:"recorded"`
	Note     string `json:"note,omitempty"`
	Cases    []Case `json:"cases"`
}

// Case is a named sequence of steps that run in order against one server.
type Case struct {
	Name  string `json:"name"`
	About string `json:"about,omitempty"`
	Steps []Step `json:"steps"`
	// Err says why the case stopped early (no answer, no job id, a job that never
	// completed); a recording never has one.
	Err string `json:"err,omitempty"`
}

// Step is one request and what came back; Job is the completed import job when the
// request started one and asked to wait for it.
type Step struct {
	Request  Request   `json:"request"`
	Response *Response `json:"response,omitempty"`
	Job      *Response `json:"job,omitempty"`
}

// Request is one HTTP request of the corpus. Strings in Path and Body may hold
// {{var}}: {{run}} (a per-recording nonce that keeps emails unique), {{job}} (the last
// job id) and any captured value, with {{NAME_node}} its GraphQL node id.
type Request struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Auth is how the Admin API token is made: "" a good token as strategies/idp mints it,
	// or one of the odd kinds in authHeader.
	Auth string `json:"auth,omitempty"`
	// ContentType defaults to application/json when there is a body.
	ContentType string          `json:"content_type,omitempty"`
	Body        json.RawMessage `json:"body,omitempty"`
	// Text is a body that is not JSON (malformed on purpose).
	Text string `json:"text,omitempty"`
	// Oversize, when set, sends a valid import body padded to this many bytes.
	Oversize int `json:"oversize,omitempty"`
	// Wait polls the import job the request started until it completes.
	Wait bool `json:"wait,omitempty"`
	// Capture saves values of the answer (Job when waited) by dotted path, e.g.
	// {"alice": "result.details.0.user_id"}.
	Capture map[string]string `json:"capture,omitempty"`
}

// Response is one answer: the status, the media type and the body, decoded and
// normalised when it is JSON.
type Response struct {
	Status      int    `json:"status"`
	ContentType string `json:"content_type,omitempty"`
	JSON        any    `json:"json,omitempty"`
	Text        string `json:"text,omitempty"`
}

// UnmarshalJSON keeps the key order of the JSON body.
func (r *Response) UnmarshalJSON(data []byte) error {
	var raw struct {
		Status      int             `json:"status"`
		ContentType string          `json:"content_type"`
		JSON        json.RawMessage `json:"json"`
		Text        string          `json:"text"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	r.Status, r.ContentType, r.Text = raw.Status, raw.ContentType, raw.Text
	if len(raw.JSON) > 0 {
		v, err := Decode(raw.JSON)
		if err != nil {
			return err
		}
		r.JSON = v
	}
	return nil
}

// Load reads a corpus file.
func Load(path string) (*Corpus, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Corpus
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &c, nil
}

// Save writes a corpus file, indented so a diff of a re-recording reads well.
func (c *Corpus) Save(path string) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

// Target is a server to send the corpus to: the real Authgear or the mock.
type Target struct {
	BaseURL string
	Project string // the Admin API JWT audience (Authgear's app id)
	KeyID   string
	Key     *rsa.PrivateKey
	// OtherKey signs the "wrong-key" token: any RSA key the target does not know.
	OtherKey *rsa.PrivateKey
	HTTP     *http.Client
	// JobTimeout bounds the wait for one import job; default two minutes.
	JobTimeout time.Duration
	// PollEvery is the wait between polls of a job; default 100ms.
	PollEvery time.Duration
}

// Run sends every case's requests to t and returns the cases with the answers
// filled in and normalised. run is the nonce substituted for {{run}}. A case that
// cannot go on (no answer, a job that never completes) stops there with Err set; the
// others still run. Only a cancelled ctx stops them all.
func Run(ctx context.Context, t *Target, cases []Case, run string) ([]Case, error) {
	out := make([]Case, len(cases))
	for i, c := range cases {
		vars := map[string]string{"run": run}
		rc := Case{Name: c.Name, About: c.About}
		for j, s := range c.Steps {
			res, job, err := t.step(ctx, s.Request, vars)
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if err != nil {
				rc.Err = fmt.Sprintf("step %d: %v", j, err)
				break
			}
			rc.Steps = append(rc.Steps, Step{Request: s.Request, Response: normalise(res, vars), Job: normalise(job, vars)})
		}
		out[i] = rc
	}
	return out, nil
}

// step sends one request; when it waits, it polls the job and captures from the job.
func (t *Target) step(ctx context.Context, r Request, vars map[string]string) (*Response, *Response, error) {
	res, err := t.send(ctx, r, vars)
	if err != nil {
		return nil, nil, err
	}
	var job *Response
	if r.Wait && res.Status == http.StatusOK {
		id, _ := lookup(res.JSON, "result.id")
		ids, _ := id.(string)
		if ids == "" {
			return nil, nil, fmt.Errorf("no job id in the answer")
		}
		vars["job"] = ids
		if job, err = t.wait(ctx, ids); err != nil {
			return nil, nil, err
		}
	}
	from := res
	if job != nil {
		from = job
	}
	for name, path := range r.Capture {
		v, ok := lookup(from.JSON, path)
		s, _ := v.(string)
		if !ok || s == "" {
			return nil, nil, fmt.Errorf("capture %s: nothing at %s", name, path)
		}
		vars[name] = s
		vars[name+"_node"] = base64.RawURLEncoding.EncodeToString([]byte("User:" + s))
	}
	return res, job, nil
}

// wait polls an import job until it says completed.
func (t *Target) wait(ctx context.Context, id string) (*Response, error) {
	d := t.JobTimeout
	if d == 0 {
		d = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	every := t.PollEvery
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		res, err := t.send(ctx, Request{Method: http.MethodGet, Path: idp.PathImport + "/" + id}, nil)
		if err != nil {
			return nil, err
		}
		if st, _ := lookup(res.JSON, "result.status"); st == "completed" || res.Status != http.StatusOK {
			return res, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("job %s did not complete: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}

func expand(s string, vars map[string]string) string {
	if !strings.Contains(s, "{{") {
		return s
	}
	for k, v := range vars {
		s = strings.ReplaceAll(s, "{{"+k+"}}", v)
	}
	return s
}

// OversizeBody is a valid import body of exactly n bytes (n over a few dozen).
func OversizeBody(n int) []byte {
	head := `{"identifier":"email","records":[{"email":"oversize@example.com","name":"`
	tail := `"}]}`
	pad := max(n-len(head)-len(tail), 0)
	return []byte(head + strings.Repeat("a", pad) + tail)
}

func (t *Target) send(ctx context.Context, r Request, vars map[string]string) (*Response, error) {
	var body []byte
	switch {
	case r.Oversize > 0:
		body = OversizeBody(r.Oversize)
	case r.Text != "":
		body = []byte(expand(r.Text, vars))
	case len(r.Body) > 0:
		body = []byte(expand(string(r.Body), vars))
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, strings.TrimRight(t.BaseURL, "/")+expand(r.Path, vars), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	h, err := t.authHeader(r.Auth)
	if err != nil {
		return nil, err
	}
	if h != "" {
		req.Header.Set("Authorization", h)
	}
	hc := t.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	out := &Response{Status: resp.StatusCode}
	out.ContentType, _, _ = mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if v, err := Decode(data); err == nil && out.ContentType == "application/json" {
		out.JSON = v
	} else {
		out.Text = string(data)
	}
	return out, nil
}

// Auth kinds: how the Admin API token of a request is made.
const (
	AuthGood        = ""                 // RS256, kid, aud [project], iat, exp: strategies/idp's token
	AuthNone        = "none"             // no Authorization header
	AuthLowerBearer = "lowercase-bearer" // "bearer <good token>"
	AuthUpperBearer = "uppercase-bearer" // "BEARER <good token>"
	AuthEmpty       = "empty-bearer"     // "Bearer "
	AuthBasic       = "basic"            // HTTP basic credentials
	AuthGarbage     = "garbage"          // "Bearer not-a-jwt"
	AuthAudString   = "aud-string"       // aud as a string, not a list
	AuthNoExp       = "no-exp"           // neither exp nor iat
	AuthWrongAud    = "wrong-aud"        // aud another project
	AuthExpired     = "expired"          // exp an hour ago
	AuthWrongKey    = "wrong-key"        // signed with a key the target does not know, same kid
	AuthNoKid       = "no-kid"           // no kid header
)

func (t *Target) authHeader(kind string) (string, error) {
	now := time.Now()
	claims := map[string]any{"aud": []string{t.Project}, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	key, kid := t.Key, t.KeyID
	switch kind {
	case AuthGood, AuthLowerBearer, AuthUpperBearer:
		tok, err := idp.MintAdminJWT(t.Key, t.KeyID, t.Project, now, 5*time.Minute)
		if err != nil {
			return "", err
		}
		switch kind {
		case AuthLowerBearer:
			return "bearer " + tok, nil
		case AuthUpperBearer:
			return "BEARER " + tok, nil
		}
		return "Bearer " + tok, nil
	case AuthNone:
		return "", nil
	case AuthEmpty:
		return "Bearer ", nil
	case AuthBasic:
		return "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:admin")), nil
	case AuthGarbage:
		return "Bearer not-a-jwt", nil
	case AuthAudString:
		claims["aud"] = t.Project
	case AuthNoExp:
		delete(claims, "exp")
		delete(claims, "iat")
	case AuthWrongAud:
		claims["aud"] = []string{"some-other-project"}
	case AuthExpired:
		claims["iat"] = now.Add(-2 * time.Hour).Unix()
		claims["exp"] = now.Add(-time.Hour).Unix()
	case AuthWrongKey:
		key = t.OtherKey
	case AuthNoKid:
		kid = ""
	default:
		return "", fmt.Errorf("unknown auth kind %q", kind)
	}
	if key == nil {
		return "", fmt.Errorf("auth kind %q needs Target.OtherKey", kind)
	}
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key}, opts)
	if err != nil {
		return "", err
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		return "", err
	}
	return "Bearer " + tok, nil
}

var (
	uuidRe   = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	nodeRe   = regexp.MustCompile(`VXNlcjo[A-Za-z0-9_-]{20,}`)
	jobIDRe  = regexp.MustCompile(`userimport_[A-Za-z0-9]+`)
	timeKeys = map[string]bool{"created_at": true, "completed_at": true, "createdAt": true, "updatedAt": true, "lastLoginAt": true, "updated_at": true}
)

// Placeholders that replace values that differ between runs and servers.
const (
	PlaceholderTime       = "<time>"
	PlaceholderTrackingID = "<tracking_id>"
	PlaceholderUUID       = "<uuid>"
	PlaceholderNode       = "<node>"
	PlaceholderJob        = "<job>"
)

// normalise replaces ids, times and this run's values with placeholders, so a
// recording and a replay compare equal when the servers behave alike.
func normalise(r *Response, vars map[string]string) *Response {
	if r == nil {
		return nil
	}
	// Longest values first, so "alice" does not eat into "alice_node".
	type kv struct{ k, v string }
	var subs []kv
	for k, v := range vars {
		if len(v) >= 4 {
			subs = append(subs, kv{k, v})
		}
	}
	sort.Slice(subs, func(i, j int) bool {
		if len(subs[i].v) != len(subs[j].v) {
			return len(subs[i].v) > len(subs[j].v)
		}
		return subs[i].k < subs[j].k
	})
	str := func(s string) string {
		for _, p := range subs {
			if p.k == "job" {
				continue // job ids become <job> below, whichever job they name
			}
			s = strings.ReplaceAll(s, p.v, "{{"+p.k+"}}")
		}
		s = jobIDRe.ReplaceAllString(s, PlaceholderJob)
		s = uuidRe.ReplaceAllString(s, PlaceholderUUID)
		return nodeRe.ReplaceAllString(s, PlaceholderNode)
	}
	var walk func(key string, v any) any
	walk = func(key string, v any) any {
		switch x := v.(type) {
		case Object:
			o := make(Object, len(x))
			for i, m := range x {
				o[i] = Member{Key: m.Key, Val: walk(m.Key, m.Val)}
			}
			return o
		case []any:
			a := make([]any, len(x))
			for i, e := range x {
				a[i] = walk(key, e)
			}
			return a
		case json.Number:
			if timeKeys[key] {
				return PlaceholderTime // standardAttributes.updated_at is Unix seconds
			}
		case string:
			if key == "tracking_id" {
				return PlaceholderTrackingID
			}
			if timeKeys[key] {
				if _, err := time.Parse(time.RFC3339Nano, x); err == nil {
					return PlaceholderTime
				}
			}
			return str(x)
		}
		return v
	}
	out := *r
	out.JSON = walk("", r.JSON)
	out.Text = str(r.Text)
	return &out
}
