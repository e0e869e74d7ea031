package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The smoke scenarios prove the ground every strategy scenario stands on: the database
// images start and hold the legacy tables the scenarios load, and the cutover image runs
// on the scenario network with its exit code and output collected.

func TestSmokePostgresDjango(t *testing.T) {
	t.Parallel()
	sc := newScenario(t)
	db := sc.Postgres("db")
	users := djangoUsers(t)
	loadDjango(sc, db, users)

	if got, want := db.Count(sc, "auth_user", ""), len(users); got != want {
		t.Errorf("auth_user rows: got %d, want %d", got, want)
	}
	if got, want := db.Count(sc, "auth_user", "is_active"), 5; got != want {
		t.Errorf("active auth_user rows: got %d, want %d", got, want)
	}
	// The hashes come back byte for byte: what cutover will read is what the fixture made.
	rows, err := db.DB.QueryContext(t.Context(), "SELECT username, password FROM auth_user ORDER BY id")
	if err != nil {
		t.Fatalf("select auth_user: %v", err)
	}
	defer rows.Close()
	i := 0
	for rows.Next() {
		var login, hash string
		if err := rows.Scan(&login, &hash); err != nil {
			t.Fatalf("scan auth_user: %v", err)
		}
		if login != users[i].Login || hash != users[i].Hash {
			t.Errorf("row %d: got %s %q, want %s %q", i+1, login, hash, users[i].Login, users[i].Hash)
		}
		i++
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read auth_user: %v", err)
	}
}

func TestSmokeMariaDBWordPress(t *testing.T) {
	t.Parallel()
	sc := newScenario(t)
	db := sc.MariaDB("db")
	users := wordpressUsers(t)
	loadWordPress(sc, db, users)

	if got, want := db.Count(sc, "wp_users", ""), len(users); got != want {
		t.Errorf("wp_users rows: got %d, want %d", got, want)
	}
	for _, u := range users {
		var hash, email string
		err := db.DB.QueryRowContext(t.Context(), "SELECT user_pass, user_email FROM wp_users WHERE user_login = ?", u.Login).Scan(&hash, &email)
		if err != nil {
			t.Fatalf("select wp_users %s: %v", u.Login, err)
		}
		if hash != u.Hash || email != u.Email {
			t.Errorf("%s: got %q %s, want %q %s", u.Login, hash, email, u.Hash, u.Email)
		}
	}
}

func TestSmokeCutoverImage(t *testing.T) {
	t.Parallel()
	sc := newScenario(t)
	tests := []struct {
		name       string
		args       []string
		needs      []string // subcommand that must have landed
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{name: "version", args: []string{"--version"}, wantCode: 0, wantStdout: "cutover version"},
		{name: "unknown command is a usage error", args: []string{"no-such-command"}, wantCode: 2, wantStderr: "unknown command"},
		{
			name:  "hash detect names bcrypt",
			args:  []string{"hash", "detect", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
			needs: []string{"hash"}, wantCode: 0, wantStdout: "bcrypt",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needs != nil {
				requireCommand(t, sc.s, tc.needs...)
			}
			res := sc.RunCutover(time.Minute, cutoverSpec{Args: tc.args})
			if res.ExitCode != tc.wantCode {
				t.Fatalf("cutover %s: got exit code %d, want %d\n%s", strings.Join(tc.args, " "), res.ExitCode, tc.wantCode, res)
			}
			if !strings.Contains(strings.ToLower(res.Stdout), tc.wantStdout) {
				t.Errorf("cutover %s: got stdout %q, want it to contain %q", strings.Join(tc.args, " "), res.Stdout, tc.wantStdout)
			}
			if !strings.Contains(res.Stderr, tc.wantStderr) {
				t.Errorf("cutover %s: got stderr %q, want it to contain %q", strings.Join(tc.args, " "), res.Stderr, tc.wantStderr)
			}
		})
	}
}

// TestSmokeCutoverSeesDatabases checks the scenario network from inside: a cutover
// container reaches the databases by alias, with files copied in and a volume that
// survives the container, as the strategy scenarios need for plans and resume state.
func TestSmokeCutoverSeesDatabases(t *testing.T) {
	t.Parallel()
	sc := newScenario(t)
	requireCommand(t, sc.s, "plan", "check")
	pg := sc.Postgres("db")
	loadDjango(sc, pg, djangoUsers(t))
	plan := `version: 1
strategy: bulk
source:
  kind: postgres
  dsn: ${LEGACY_DSN}
  table: auth_user
mapping:
  legacy_id: id
  email: email
  password_hash: password
target:
  kind: mockidp
  profile: permissive
`
	res := sc.RunCutover(time.Minute, cutoverSpec{
		Args:  []string{"plan", "check", "plan.yaml"},
		Env:   []string{"LEGACY_DSN=" + pg.NetURL()},
		Files: map[string]string{"plan.yaml": plan},
	})
	if res.ExitCode != 0 {
		t.Fatalf("cutover plan check against postgres on the scenario network: got exit code %d, want 0\n%s", res.ExitCode, res)
	}
	if strings.Contains(res.Stdout+res.Stderr, pg.Password) {
		t.Errorf("cutover plan check printed the database password")
	}
}

// TestSmokeMockIDPService runs the mock IdP as a long-running container with the network
// alias idp, waits for it over HTTP, and signs in from another container through the
// alias. Only failures are provable before an import: an unknown user is refused.
func TestSmokeMockIDPService(t *testing.T) {
	t.Parallel()
	sc := newScenario(t)
	requireCommand(t, sc.s, "mockidp")
	requireCommand(t, sc.s, "login")
	idp := sc.ServeCutover(8080, "/.well-known/openid-configuration", cutoverSpec{
		Args:    []string{"mockidp", "--addr", "0.0.0.0:8080", "--issuer", "http://idp:8080", "--profile", "permissive"},
		Aliases: []string{"idp"},
	})

	resp, err := http.Get(idp.HostURL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("GET discovery from the host: %v", err)
	}
	defer resp.Body.Close()
	var disco struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&disco); err != nil {
		t.Fatalf("decode discovery: %v", err)
	}
	if disco.Issuer != idp.NetURL {
		t.Errorf("issuer: got %q, want %q", disco.Issuer, idp.NetURL)
	}

	res := sc.RunCutover(time.Minute, cutoverSpec{
		Args:  []string{"login", "--idp", idp.NetURL, "--email", "nobody@example.com"},
		Stdin: "not-a-password\n",
	})
	if res.ExitCode != 1 {
		t.Fatalf("login of an unknown user through the idp alias: got exit code %d, want 1\n%s", res.ExitCode, res)
	}
	if !strings.Contains(res.Stderr, "was refused") {
		t.Errorf("login stderr: got %q, want the refusal (exit 2 and no refusal means stdin never arrived)", res.Stderr)
	}
	if strings.Contains(res.Stdout+res.Stderr, "not-a-password") {
		t.Errorf("cutover login printed the password")
	}
}
