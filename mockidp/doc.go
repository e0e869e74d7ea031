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
// Differences kept on purpose:
//   - Speed: jobs complete in milliseconds; the real import takes minutes for thousands
//     of records (77 s for 3,000 on a loaded 2-core machine). Clients must still poll.
//   - Jobs run in one pass, not in tasks of 100 records, and are kept 10 minutes
//     (Config.JobRetention), not 24 hours; no user_import usage limit refuses a POST.
//   - A record reports one violation per top-level key (Authgear may report several
//     inside one nested object).
//   - Format errors carry kind "format" and details {"format": name} without Authgear's
//     "error" text, and the format checks (email, phone, username, URLs, birthdate,
//     time zone) approximate Authgear's checkers; locale and gender are not checked.
//   - A $bcrypt-sha512$ hash is imported but cannot be signed in with at the mock.
//   - Per-record errors carry no tracking_id.
//   - The OIDC side is a simplified browser sign-in, not Authgear's Authentication Flow
//     API; the /_mock/ endpoints exist only here.
//
// The permissive profile stays lenient where the authgear profile follows Authgear:
// it imports other hash formats, keeps helpful messages per record and finds an existing
// user's email in any case.
package mockidp
