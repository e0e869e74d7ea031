// Package mockidp is cutover's bundled identity provider: it speaks Authgear's User Import
// API and Admin API JWT, an OIDC sign-in side (code + PKCE, refresh, password grant,
// userinfo) and the lazy-migration verification hook, so a cutover can be rehearsed locally.
// It is a library first (New, Handler, Start, Close, Config) and the `cutover mockidp`
// subcommand second.
//
// # Fidelity to the real Authgear
//
// In the authgear profile the import API answers as the real Authgear server does
// (observed at authgear-server fa7a7d55; shared/reference/real-idps.md): error envelopes
// with tracking_id, "invalid value" and "invalid request body" with JSON-schema causes,
// 415 in plain text for a wrong Content-Type, a 500 for a body that is not JSON, a whole
// request refused for one record that is not an object, bcrypt hashes checked as Authgear
// checks them when it stores them, an email with upper-case letters failing as a duplicate
// of its existing user, upserts that ignore passwords silently, echoes re-encoded with
// sorted keys and secrets redacted in place, "Bearer" in exact case, admin tokens without
// exp or iat accepted (so no cap on their lifetime: production sets none).
//
// The authgear profile models the project `authgear init` makes, on which the corpus was
// recorded: email is the only login id (a record's phone_number or preferred_username is
// ignored with Authgear's warning and getUserByLoginID refuses those keys), and no roles
// or groups are defined (a record naming one fails with RoleUnknownKeys or
// GroupUnknownKeys). Config.LoginIDKeys, Config.Roles and Config.Groups model another
// project. Phone numbers are checked with libphonenumber as Authgear checks them, so
// the UK's drama range +447700900xxx is an invalid number; a record whose identifier is
// null fails its whole job with an unexpected error and no details, as Authgear's
// importer does.
//
// The conformance test (internal/conformance) replays the recorded corpus and compares
// every answer; it makes one exception, named there as ExceptionRacedPost: Authgear
// answers an import POST by reading the job back after enqueuing it, so a fast worker
// can make that answer "completed" (seen for two one-record jobs), while the mock always
// answers "pending". That POST answer is compared on all else (id, created_at, status
// code, type) and the completed job is compared in full when polled.
//
// Differences kept on purpose:
//   - Speed: jobs complete in milliseconds; the real import takes minutes for thousands
//     of records (77 s for 3,000 on a loaded 2-core machine). Clients must still poll,
//     and the POST answer is always "pending" (Authgear's is sometimes "completed").
//   - A null identifier fails the whole job, not only its task of 100 records.
//   - Upserts do not give Authgear's per-field warnings; a phone number or username the
//     project does not allow is left unchanged by an upsert, silently.
//   - Jobs run in one pass, not in tasks of 100 records, and are kept 10 minutes
//     (Config.JobRetention), not 24 hours; no user_import usage limit refuses a POST.
//   - A record reports one violation per top-level key, except inside mfa (Authgear may
//     report several inside password or address).
//   - Format errors carry kind "format" and details {"format": name} without Authgear's
//     "error" text (phone numbers carry it), and the format checks (email, username,
//     URLs, birthdate, time zone) approximate Authgear's checkers; locale and gender are
//     not checked.
//   - A $bcrypt-sha512$ hash is imported but cannot be signed in with at the mock.
//   - Per-record errors carry no tracking_id.
//   - The OIDC side is a simplified browser sign-in, not Authgear's Authentication Flow
//     API; the /_mock/ endpoints exist only here.
//
// The permissive profile stays lenient where the authgear profile follows Authgear:
// it imports other hash formats, keeps helpful messages per record and finds an existing
// user's email in any case.
package mockidp
