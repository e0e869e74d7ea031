// Package conformance holds a corpus of requests to Authgear's Admin API (the user
// import API and the GraphQL operations cutover uses) with the answers a real Authgear
// gave them, and replays it against the in-process mock IdP (authgear profile), so that
// "a plan that works against the mock works against production" rests on the real
// server's behaviour rather than on reading its docs.
//
// The corpus is testdata/authgear.json; cases.go says what it sends. Replaying needs
// nothing but `go test ./mockidp/internal/conformance`. Re-recording needs a running
// Authgear (built from a snapshot of authgear-server; see
// ../shared/reference/real-idps.md) with its Admin API on ADMIN_LISTEN_ADDR and the
// project's authgear.secrets.yaml, and is one command:
//
//	CONFORMANCE_AUTHGEAR=http://127.0.0.1:3002 \
//	CONFORMANCE_SECRETS=/path/to/authgear.secrets.yaml \
//	CONFORMANCE_APP_ID=myapp CONFORMANCE_COMMIT=<authgear-server commit> \
//	go test ./mockidp/internal/conformance -run TestRecord -count=1 -v
//
// Tokens are minted as strategies/idp mints them (RS256 with the admin-api.auth key);
// the odd ones (lower-case "bearer", aud as a string, no exp, a wrong key) are made
// from the same key. Every email carries the recording's nonce, so recording twice
// into the same database gives the same answers.
package conformance
