package e2e

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// The scenarios' view of the bundled mock IdP and of cutover's outputs. The suite drives
// cutover over HTTP and through its binary only, so the few JSON shapes it reads are
// mirrored here rather than imported: a change to them shows up as a failing scenario.

// mockIDP is `cutover mockidp` running in a container with a network alias (idp). The
// test makes the Admin API key itself and hands it to the IdP (which reuses a key it
// finds in --admin-key-out), so the test can mint Admin API JWTs and plans can name the
// key file without copying anything out of a container.
type mockIDP struct {
	*service
	Profile string
	Project string
	KeyID   string
	KeyPEM  string // PKCS#8; a secret of this test only: never logged
	key     *rsa.PrivateKey
}

// idpKeyFile is where plans find the Admin API key in a cutover container (relative to
// the plan in /work), and where the mock IdP keeps it.
const idpKeyFile = "idp/admin-key.pem"

// MockIDP starts the mock IdP reachable as alias (its issuer is http://ALIAS:8080), with
// an import profile ("permissive" or "authgear") and extra flags (fault injection), and
// waits for its discovery document. Parallel subtests sharing a network need their own
// aliases: two containers behind one alias answer in turn.
func (sc *scenario) MockIDP(alias, profile string, extra ...string) *mockIDP {
	sc.t.Helper()
	return sc.MockIDPEnv(alias, profile, nil, extra...)
}

// MockIDPEnv is MockIDP with environment variables for the IdP's container, e.g. the
// lazy hook's shared secret that --lazy-secret-env names (never a flag: flags show up
// in process lists).
func (sc *scenario) MockIDPEnv(alias, profile string, env []string, extra ...string) *mockIDP {
	sc.t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		sc.t.Fatalf("generate the mock IdP's admin key: %v", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		sc.t.Fatalf("encode the mock IdP's admin key: %v", err)
	}
	m := &mockIDP{
		Profile: profile,
		Project: "cutover-e2e",
		KeyID:   "e2e-" + randomHex(4),
		KeyPEM:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		key:     key,
	}
	issuer := "http://" + alias + ":8080"
	info, err := json.Marshal(map[string]string{"project": m.Project, "key_id": m.KeyID, "issuer": issuer, "client_id": "cutover"})
	if err != nil {
		sc.t.Fatalf("encode admin-key.json: %v", err)
	}
	args := append([]string{"mockidp", "--addr", "0.0.0.0:8080", "--issuer", issuer,
		"--profile", profile, "--admin-key-out", "/work/idp"}, extra...)
	m.service = sc.ServeCutover(8080, "/.well-known/openid-configuration", cutoverSpec{
		Args:    args,
		Aliases: []string{alias},
		Env:     env,
		Files:   map[string]string{idpKeyFile: m.KeyPEM, "idp/admin-key.json": string(info)},
	})
	return m
}

// Target is the plan's target block for this IdP: kind mockidp (the profile decides which
// hashes travel), or kind authgear, which is how a plan for production reads.
func (m *mockIDP) Target(kind string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "target:\n  kind: %s\n  url: %s\n", kind, m.NetURL)
	if kind == "mockidp" {
		fmt.Fprintf(&b, "  profile: %s\n", m.Profile)
	}
	fmt.Fprintf(&b, "  project: %s\n  key_file: %s\n  key_id: %s\n", m.Project, idpKeyFile, m.KeyID)
	return b.String()
}

// adminToken mints an Admin API JWT as Authgear expects: RS256, kid, aud = [project].
func (m *mockIDP) adminToken() (string, error) {
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: m.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), m.KeyID))
	if err != nil {
		return "", fmt.Errorf("sign an admin token: %w", err)
	}
	now := time.Now()
	tok, err := jwt.Signed(sig).Claims(map[string]any{
		"aud": []string{m.Project}, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}).Serialize()
	if err != nil {
		return "", fmt.Errorf("sign an admin token: %w", err)
	}
	return tok, nil
}

// idpUser is one user of GET /_mock/users (the mock never shows hashes).
type idpUser struct {
	ID             string `json:"id"`
	Email          string `json:"email"`
	Source         string `json:"source"`
	HasPassword    bool   `json:"has_password"`
	PasswordFormat string `json:"password_format"`
	Disabled       bool   `json:"disabled"`
}

// idpUserList is the result of GET /_mock/users.
type idpUserList struct {
	Total int       `json:"total"`
	Users []idpUser `json:"users"`
}

// list asks the mock IdP who it holds. The admin API may be under fault injection, so
// 429 and 5xx answers are retried for a while, as any admin client would.
func (m *mockIDP) list(ctx context.Context, q url.Values) (*idpUserList, error) {
	u := m.HostURL + "/_mock/users?" + q.Encode()
	var last error
	for attempt := range 40 {
		if attempt > 0 {
			select {
			case <-time.After(250 * time.Millisecond):
			case <-ctx.Done():
				return nil, fmt.Errorf("list users at the mock IdP: %w (last: %v)", ctx.Err(), last)
			}
		}
		tok, err := m.adminToken()
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("list users at the mock IdP: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			last = err
			continue
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			last = fmt.Errorf("status %d", resp.StatusCode)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("list users at the mock IdP: status %d: %s", resp.StatusCode, body)
		}
		var out struct {
			Result idpUserList `json:"result"`
		}
		if err := json.Unmarshal(body, &out); err != nil {
			return nil, fmt.Errorf("list users at the mock IdP: decode %s: %w", body, err)
		}
		return &out.Result, nil
	}
	return nil, fmt.Errorf("list users at the mock IdP: still failing after retries: %v", last)
}

// Count returns how many users the mock IdP holds.
func (m *mockIDP) Count(t *testing.T) int {
	t.Helper()
	l, err := m.list(t.Context(), url.Values{"limit": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	return l.Total
}

// User looks a user up by email; ok is false when the IdP has no such user.
func (m *mockIDP) User(t *testing.T, email string) (u idpUser, ok bool) {
	t.Helper()
	l, err := m.list(t.Context(), url.Values{"email": {email}})
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Users) == 0 {
		return idpUser{}, false
	}
	return l.Users[0], true
}

// All lists every user, page by page.
func (m *mockIDP) All(t *testing.T) []idpUser {
	t.Helper()
	const page = 10_000
	var out []idpUser
	for offset := 0; ; offset += page {
		l, err := m.list(t.Context(), url.Values{"limit": {strconv.Itoa(page)}, "offset": {strconv.Itoa(offset)}})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, l.Users...)
		if len(l.Users) < page {
			return out
		}
	}
}

// SignIn runs `cutover login` against the IdP in a container of the scenario, with the
// password on standard input as a user would pipe it. It returns the run and, on exit 0,
// the ID token's claims (verified by cutover login with a standard OIDC verifier).
func (sc *scenario) SignIn(m *mockIDP, email, password string) (runResult, map[string]any) {
	sc.t.Helper()
	res := sc.RunCutover(time.Minute, cutoverSpec{
		Args:  []string{"login", "--idp", m.NetURL, "--email", email},
		Stdin: password + "\n",
	})
	if password != "" && strings.Contains(res.Stdout+res.Stderr, password) {
		sc.t.Errorf("cutover login for %s printed the password", email)
	}
	if res.ExitCode != 0 {
		return res, nil
	}
	var claims map[string]any
	if err := json.Unmarshal([]byte(res.Stdout), &claims); err != nil {
		sc.t.Fatalf("cutover login for %s: stdout is not the claims JSON: %v\n%s", email, err, res)
	}
	return res, claims
}

// runReport mirrors the JSON report of `cutover run --json`.
type runReport struct {
	Strategy        string           `json:"strategy"`
	Rows            int64            `json:"rows"`
	Inserted        int64            `json:"inserted"`
	Updated         int64            `json:"updated"`
	Skipped         int64            `json:"skipped"`
	Failed          int64            `json:"failed"`
	Invalid         int64            `json:"invalid"`
	Retries         int64            `json:"retries"`
	WithoutPassword int64            `json:"without_password"`
	RunDir          string           `json:"run_dir"`
	Reasons         map[string]int64 `json:"reasons"`
}

// reconciles reports whether every input row is accounted for.
func (r runReport) reconciles() bool {
	return r.Rows == r.Inserted+r.Updated+r.Skipped+r.Failed+r.Invalid
}

// String is for failure messages.
func (r runReport) String() string {
	return fmt.Sprintf("rows %d = inserted %d + updated %d + skipped %d + failed %d + invalid %d (without password %d, retries %d), reasons %v",
		r.Rows, r.Inserted, r.Updated, r.Skipped, r.Failed, r.Invalid, r.WithoutPassword, r.Retries, r.Reasons)
}

// reasonCount sums the report's rows whose reason contains substr.
func (r runReport) reasonCount(substr string) int64 {
	var n int64
	for k, v := range r.Reasons {
		if strings.Contains(k, substr) {
			n += v
		}
	}
	return n
}

// bulkRun is one `cutover run --plan plan.yaml --json` to do in a container.
type bulkRun struct {
	Plan    string
	DSN     string            // the source DSN, passed as LEGACY_DSN (plans say ${LEGACY_DSN})
	IDP     *mockIDP          // its admin key is copied in for the plan's key_file; nil for Kratos
	Env     []string          // more environment, e.g. BRIDGE_SECRET
	Args    []string          // extra flags, e.g. --resume
	Volumes map[string]string // e.g. a run directory that must survive the container
}

func (b bulkRun) spec() cutoverSpec {
	files := map[string]string{"plan.yaml": b.Plan}
	if b.IDP != nil {
		files[idpKeyFile] = b.IDP.KeyPEM
	}
	return cutoverSpec{
		Args:    append([]string{"run", "--plan", "plan.yaml", "--json"}, b.Args...),
		Env:     append([]string{"LEGACY_DSN=" + b.DSN}, b.Env...),
		Files:   files,
		Volumes: b.Volumes,
	}
}

// RunBulk runs a bulk plan to the end, checks its exit code and that it kept its
// secrets, and returns the JSON report.
func (sc *scenario) RunBulk(timeout time.Duration, b bulkRun, wantCode int) (runReport, runResult) {
	sc.t.Helper()
	res := sc.RunCutover(timeout, b.spec())
	if res.ExitCode != wantCode {
		sc.t.Fatalf("cutover run: got exit code %d, want %d\n%s", res.ExitCode, wantCode, res)
	}
	sc.checkNoSecrets(res, b)
	var rep runReport
	if err := json.Unmarshal([]byte(res.Stdout), &rep); err != nil {
		sc.t.Fatalf("cutover run --json: stdout is not the report: %v\n%s", err, res)
	}
	if !rep.reconciles() {
		sc.t.Errorf("report does not reconcile: %s", rep)
	}
	return rep, res
}

// checkNoSecrets fails the test when a run printed the database password or the admin key.
func (sc *scenario) checkNoSecrets(res runResult, b bulkRun) {
	sc.t.Helper()
	out := res.Stdout + res.Stderr
	if u, err := url.Parse(b.DSN); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(out, pw) {
			sc.t.Errorf("cutover run printed the database password")
		}
	}
	if strings.Contains(out, "PRIVATE KEY") {
		sc.t.Errorf("cutover run printed the admin key")
	}
}
