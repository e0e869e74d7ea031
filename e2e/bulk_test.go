package e2e

import (
	"strings"
	"testing"
	"time"
)

// djangoPlan is a bulk plan for Django's auth_user, the way the wizard saves one: the DSN
// is an environment reference, is_active inverted into disabled, hashes detected per row.
func djangoPlan(target, unsupportedHash string) string {
	return `version: 1
strategy: bulk
source:
  kind: postgres
  dsn: ${LEGACY_DSN}
  table: auth_user
mapping:
  legacy_id: id
  email: email
  preferred_username: username
  given_name: first_name
  family_name: last_name
  disabled: {column: is_active, transform: not}
  password_hash: password
` + target + `bulk:
  unsupported_hash: ` + unsupportedHash + "\n"
}

// TestBulkDjango moves a Django site's auth_user (PBKDF2, bcrypt, bcrypt_sha256 and
// argon2 hashes, an inactive user, an unusable password) from PostgreSQL into the mock
// IdP with `cutover run`, then proves it worked the way users will: they sign in with
// their old passwords. With the permissive profile every format travels; with the
// authgear profile (bcrypt only, as Authgear in production) the other users are handled
// as bulk.unsupported_hash says.
func TestBulkDjango(t *testing.T) {
	t.Parallel()
	start := time.Now()
	sc := newScenario(t)
	requireCommand(t, sc.s, "run")
	requireCommand(t, sc.s, "mockidp")
	requireCommand(t, sc.s, "login")
	db := sc.Postgres("db")
	users := djangoUsers(t)
	loadDjango(sc, db, users)
	t.Cleanup(func() { t.Logf("scenario bulk took %s", time.Since(start).Round(time.Millisecond)) })

	t.Run("permissive: every known user signs in with the old password", func(t *testing.T) {
		t.Parallel()
		sc := sc.in(t)
		idp := sc.MockIDP("idp", "permissive")
		rep, _ := sc.RunBulk(3*time.Minute, bulkRun{
			Plan: djangoPlan(idp.Target("mockidp"), "without_password"),
			DSN:  db.NetURL(), IDP: idp,
		}, 0)
		// Every format travels. frank's Django password is unusable ("!...", a social-login
		// user): he moves with no password, as he had none to sign in with before. He still
		// reaches the target without one, and the count says so whatever the cause.
		if rep.Rows != int64(len(users)) || rep.Inserted != int64(len(users)) || rep.Failed != 0 || rep.Invalid != 0 || rep.WithoutPassword != 1 {
			t.Errorf("report: got %s; want %d rows, all inserted, 1 (frank) without password", rep, len(users))
		}
		if got, want := idp.Count(t), len(users); got != want {
			t.Errorf("users at the IdP: got %d, want %d", got, want)
		}
		for _, u := range users {
			got, ok := idp.User(t, u.Email)
			if !ok {
				t.Errorf("%s (%s): not at the IdP, want imported", u.Login, u.Format)
				continue
			}
			if want := !isUnusable(u); got.HasPassword != want {
				t.Errorf("%s (%s): got has_password %v, want %v", u.Login, u.Format, got.HasPassword, want)
			}
		}
		checkSignIns(t, sc, idp, users, func(u legacyUser) bool { return u.CanSignIn })
	})

	t.Run("authgear: non-bcrypt users per unsupported_hash", func(t *testing.T) {
		t.Parallel()
		sc := sc.in(t)
		idp := sc.MockIDP("idp-authgear", "authgear")
		// Authgear takes bcrypt only: Django's "bcrypt$" wraps a plain bcrypt hash and
		// travels; PBKDF2, bcrypt_sha256 and argon2 cannot. The user with an unusable
		// password has no hash to refuse and moves whatever the policy.
		bcryptOnly := func(u legacyUser) bool { return u.Format == "django bcrypt" }
		var movable, unsupported int64
		for _, u := range users {
			if bcryptOnly(u) || isUnusable(u) {
				movable++
			} else {
				unsupported++
			}
		}

		// unsupported_hash: fail. The run says which rows failed and why, exit 3.
		rep, _ := sc.RunBulk(3*time.Minute, bulkRun{Plan: djangoPlan(idp.Target("authgear"), "fail"), DSN: db.NetURL(), IDP: idp}, 3)
		if rep.Inserted != movable || rep.Failed != unsupported || rep.Skipped != 0 || rep.Invalid != 0 {
			t.Errorf("fail policy: got %s; want %d inserted, %d failed", rep, movable, unsupported)
		}
		if got := rep.reasonCount("unsupported_hash"); got != unsupported {
			t.Errorf("fail policy: rows failed with reason unsupported_hash: got %d, want %d (reasons %v)", got, unsupported, rep.Reasons)
		}
		if got := idp.Count(t); got != int(movable) {
			t.Errorf("fail policy: users at the IdP: got %d, want %d (failed rows must not be imported)", got, movable)
		}

		// unsupported_hash: without_password, on the same IdP. The users the first run
		// moved are there already (skipped, not duplicated); the others arrive without a
		// password.
		rep, _ = sc.RunBulk(3*time.Minute, bulkRun{Plan: djangoPlan(idp.Target("authgear"), "without_password"), DSN: db.NetURL(), IDP: idp}, 0)
		if rep.Skipped != movable || rep.Inserted != unsupported || rep.WithoutPassword != unsupported || rep.Failed != 0 || rep.Invalid != 0 {
			t.Errorf("without_password policy: got %s; want %d skipped, %d inserted without password", rep, movable, unsupported)
		}
		if got, want := idp.Count(t), len(users); got != want {
			t.Errorf("without_password policy: users at the IdP: got %d, want %d", got, want)
		}
		for _, u := range users {
			got, ok := idp.User(t, u.Email)
			if !ok {
				t.Errorf("%s (%s): not at the IdP, want imported", u.Login, u.Format)
				continue
			}
			if want := bcryptOnly(u); got.HasPassword != want {
				t.Errorf("%s (%s): got has_password %v, want %v", u.Login, u.Format, got.HasPassword, want)
			}
			if want := !u.Active; got.Disabled != want {
				t.Errorf("%s: got disabled %v, want %v", u.Login, got.Disabled, want)
			}
		}
		checkSignIns(t, sc, idp, users, bcryptOnly)
	})
}

// isUnusable reports a Django unusable password ("!" and random characters).
func isUnusable(u legacyUser) bool { return strings.HasPrefix(u.Hash, "!") }

// checkSignIns signs every user in with their old password, and with a wrong one, in
// parallel containers: users for whom canSignIn holds must get in as themselves (the
// ID token's email), everyone else and every wrong password must be refused (exit 1).
func checkSignIns(t *testing.T, sc *scenario, idp *mockIDP, users []legacyUser, canSignIn func(legacyUser) bool) {
	t.Helper()
	t.Run("sign-ins", func(t *testing.T) {
		for _, u := range users {
			password := u.Password
			if password == "" {
				password = "no password works"
			}
			for _, tc := range []struct {
				name     string
				password string
				want     bool
			}{
				{"old password", password, canSignIn(u)},
				{"wrong password", password + "!", false},
			} {
				t.Run(u.Login+" "+tc.name, func(t *testing.T) {
					t.Parallel()
					res, claims := sc.in(t).SignIn(idp, u.Email, tc.password)
					if !tc.want {
						if res.ExitCode != 1 || !strings.Contains(res.Stderr, "refused") {
							t.Errorf("%s (%s, active %v): got exit code %d, want 1 and a refusal\n%s", u.Login, u.Format, u.Active, res.ExitCode, res)
						}
						return
					}
					if res.ExitCode != 0 {
						t.Fatalf("%s (%s): got exit code %d, want 0 (signed in)\n%s", u.Login, u.Format, res.ExitCode, res)
					}
					if got, _ := claims["email"].(string); got != u.Email {
						t.Errorf("%s: ID token email: got %q, want %q", u.Login, got, u.Email)
					}
				})
			}
		}
	})
}
