package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/mockidp"
)

// mockIDPFlags are the options of `cutover mockidp`.
type mockIDPFlags struct {
	addr, db, profile, keyDir, issuer, project string
	hookURL, hookSecretEnv                     string
	hookTimeout                                time.Duration
	faults                                     mockidp.Faults
}

func newMockIDPCmd(a *app) *cobra.Command {
	var f mockIDPFlags
	cmd := &cobra.Command{
		Use:   "mockidp",
		Short: "Run the bundled mock identity provider",
		Long: `Run the bundled mock identity provider: a local IdP that answers as a default Authgear
project does, checked in CI against answers recorded from the real server (its deliberate
differences, such as speed, are listed in the mockidp package's documentation).

  Admin side   Authgear's User Import API (POST /_api/admin/users/import, GET .../{id})
               with an RS256 Admin API JWT (kid, aud = project id).
  Sign-in      OIDC discovery, JWKS, authorization code + PKCE on an HTML page, refresh
               tokens, userinfo, and a password grant for rehearsals. The public client
               "cutover" (no secret) is always registered and accepts loopback redirects.
  Lazy hook    with --lazy-hook, an unknown user's sign-in is POSTed (form email and
               password) to that URL; {"success": true, "user_info": {...}} creates them.
  Mock-only    GET/DELETE /_mock/users, POST /_mock/users/delete, POST /_mock/users/{id}/otp.

--admin-key-out DIR writes admin-key.pem (0600) and admin-key.json ({project, key_id,
issuer, client_id}) for plans (target.key_file, target.project, target.key_id) and
scripts; an existing key there is reused. Without it the key lives in memory only.

Profiles: authgear (default) imports bcrypt hashes only, as Authgear does in production;
permissive imports any format cutover can verify. Pick the one your real target matches.

Fault flags make the admin API misbehave (sign-in stays healthy) so you can rehearse a
bad day. The server runs until Ctrl+C or SIGTERM and then shuts down gracefully.

Exit codes: 0 stopped by Ctrl+C or SIGTERM, 1 it could not serve, 2 bad flags.`,
		Example: `  # An IdP for a rehearsal, key files in ./idp
  cutover mockidp --addr 127.0.0.1:8787 --admin-key-out ./idp

  # Keep users across restarts, accept any verifiable hash
  cutover mockidp --db idp.sqlite --profile permissive --admin-key-out ./idp

  # Lazy migration against a running 'cutover bridge'
  export BRIDGE_SECRET=...
  cutover mockidp --lazy-hook http://127.0.0.1:8788/verify --lazy-secret-env BRIDGE_SECRET

  # A bad day: 10% 5xx, 20 requests/s, 50ms latency, 1% dropped connections
  cutover mockidp --fault-error-rate 0.1 --fault-rate-limit 20 --fault-latency 50ms --fault-drop-rate 0.01`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMockIDP(cmd, a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.addr, "addr", "127.0.0.1:8787", "address to listen on (HOST:PORT; port 0 picks a free one)")
	fl.StringVar(&f.db, "db", "", "SQLite file to keep users in (default: in memory, lost on exit)")
	fl.StringVar(&f.profile, "profile", mockidp.ProfileAuthgear, "import profile: authgear (bcrypt only) or permissive")
	fl.StringVar(&f.keyDir, "admin-key-out", "", "directory for admin-key.pem and admin-key.json (created; reused if present)")
	fl.StringVar(&f.issuer, "issuer", "", "issuer URL, when clients reach the IdP by another address (e.g. http://idp:8787 in Docker)")
	fl.StringVar(&f.project, "project", "", "project id, the Admin API JWT audience (default cutover-mock, or the one in admin-key.json)")
	fl.StringVar(&f.hookURL, "lazy-hook", "", "lazy-migration verification endpoint URL")
	fl.StringVar(&f.hookSecretEnv, "lazy-secret-env", "", "name of the environment variable holding the hook's shared secret (sent as a Bearer token)")
	fl.DurationVar(&f.hookTimeout, "lazy-timeout", 5*time.Second, "how long to wait for the lazy hook")
	fl.Float64Var(&f.faults.ErrorRate, "fault-error-rate", 0, "fraction (0..1) of import calls answering 500/502/503")
	fl.Float64Var(&f.faults.RateLimit, "fault-rate-limit", 0, "admin API requests per second above which it answers 429 with Retry-After (0: no limit)")
	fl.DurationVar(&f.faults.Latency, "fault-latency", 0, "latency added to every admin API request")
	fl.Float64Var(&f.faults.DropRate, "fault-drop-rate", 0, "fraction (0..1) of admin API connections closed without a response")
	fl.Float64Var(&f.faults.LostRate, "fault-lost-rate", 0, "fraction (0..1) of import jobs created whose answer is lost (the connection closes after)")
	return cmd
}

func runMockIDP(cmd *cobra.Command, a *app, f mockIDPFlags) error {
	if f.profile != mockidp.ProfileAuthgear && f.profile != mockidp.ProfilePermissive {
		return usagef("--profile %q: use authgear or permissive", f.profile)
	}
	hook := mockidp.LazyHook{URL: f.hookURL, Timeout: f.hookTimeout}
	if f.hookSecretEnv != "" {
		if f.hookURL == "" {
			return usagef("--lazy-secret-env needs --lazy-hook URL")
		}
		secret, ok := os.LookupEnv(f.hookSecretEnv)
		if !ok || secret == "" {
			return usagef("--lazy-secret-env %s: the environment variable is not set or empty; export it first", f.hookSecretEnv)
		}
		hook.Secret = secret
	}
	srv, ln, err := mockidp.Listen(mockidp.Config{Profile: f.profile, DBPath: f.db, Issuer: f.issuer, AdminKeyDir: f.keyDir,
		Project: f.project, LazyHook: hook, Faults: f.faults, Logger: a.log}, f.addr)
	if le := (*mockidp.ListenError)(nil); errors.As(err, &le) {
		return exitError{exitFailure, err}
	} else if err != nil {
		return usageError{err: err, showHelp: true}
	}
	fmt.Fprint(a.stderr, srv.Config().Banner(ln.Addr().String(), f.hookURL))

	<-cmd.Context().Done()
	fmt.Fprintln(a.stderr, "shutting down the mock IdP...")
	if err := srv.Close(); err != nil {
		return exitError{exitFailure, err}
	}
	// A signal is how this server is meant to stop: exit 0, not "cancelled".
	if err := cmd.Context().Err(); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
