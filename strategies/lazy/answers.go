package lazy

import (
	"net/http"

	"github.com/cutover/cutover/strategies"
)

// refusal is a request the bridge answers without a verdict on the password.
type refusal int

const (
	refuseNoSecret    refusal = iota // no credentials presented
	refuseWrongSecret                // credentials that are not the shared secret
	refuseAnonymous                  // too many refused requests from this address
	refuseClient                     // too many requests from this (authenticated) address
	refuseUser                       // too many failed attempts for this user
	refuseBusy                       // the verification could not start before the caller gives up
	refuseUnavailable                // the legacy system cannot be asked
)

// answer is how one dialect answers one refusal: the status, the Retry-After header
// ("" = none) and the JSON body.
type answer struct {
	status     int
	retryAfter string
	body       map[string]string
}

// Each dialect's refusals, chosen for what its real caller does with them:
//
//	refusal          authproject (Authgear, custom)  keycloak plugin      kratos                      fusionauth
//	no secret        401                             401                  401                         401
//	wrong secret     403                             403                  401                         403
//	anonymous flood  429                             429                  401                         429
//	client limit     429 Retry-After: 1              429 Retry-After: 1   429 Retry-After: 1          429 Retry-After: 1
//	user limit       429 Retry-After: 60             429 Retry-After: 60  403 {"status":"rate_limited"} 429
//	busy             503 Retry-After: 1              503                  503 Retry-After: 1          503
//	legacy down      503                             503                  503                         503
//
// Why: Kratos' password-migration hook reads 403 (and 200 without password_match) as
// wrong credentials, retries any other status honouring Retry-After (after 1 s and
// 2 s, then answers 502), and does not retry a 401 ("responded improperly", a 502).
// So for Kratos a wrong or missing secret is a 401, which surfaces as the operator's
// error rather than the user's wrong password; a rate-limited user is a 403, which ends
// that attempt at once (a 429 with Retry-After: 60 held the user's login a minute and
// then retried it as a new attempt); a busy bridge is a 503 with Retry-After: 1, which
// Kratos retries a second later. The Keycloak plugin and FusionAuth's Generic Connector
// read every status but 200 as "no such user / wrong password" and do not retry, so
// their refusals only need to be truthful in logs. Authgear-style and custom callers
// get the conventional codes. The IdP's own address over the per-client limit, or a
// full queue, is told to retry in a second, not a minute: the next call is another
// user's sign-in.
var dialectAnswers = map[string]map[refusal]answer{
	strategies.DialectAuthproject: conventional("60", "1"),
	strategies.DialectKeycloak:    conventional("60", ""),
	strategies.DialectKratos: {
		refuseNoSecret:    {http.StatusUnauthorized, "", msgNoSecret},
		refuseWrongSecret: {http.StatusUnauthorized, "", msgWrongSecret},
		refuseAnonymous:   {http.StatusUnauthorized, "", msgAnonymous},
		refuseClient:      {http.StatusTooManyRequests, "1", msgClient},
		refuseUser:        {http.StatusForbidden, "", map[string]string{"status": "rate_limited", "error": msgUser["error"]}},
		refuseBusy:        {http.StatusServiceUnavailable, "1", msgBusy},
		refuseUnavailable: {http.StatusServiceUnavailable, "", msgUnavailable},
	},
	strategies.DialectFusionAuth: conventional("", ""),
}

// conventional is the answers of every dialect but Kratos: the usual statuses, which
// all their callers read the same way, differing only in the Retry-After given to a
// rate-limited user and to a busy bridge (see the table above).
func conventional(userRetry, busyRetry string) map[refusal]answer {
	return map[refusal]answer{
		refuseNoSecret:    {http.StatusUnauthorized, "", msgNoSecret},
		refuseWrongSecret: {http.StatusForbidden, "", msgWrongSecret},
		refuseAnonymous:   {http.StatusTooManyRequests, "", msgAnonymous},
		refuseClient:      {http.StatusTooManyRequests, "1", msgClient},
		refuseUser:        {http.StatusTooManyRequests, userRetry, msgUser},
		refuseBusy:        {http.StatusServiceUnavailable, busyRetry, msgBusy},
		refuseUnavailable: {http.StatusServiceUnavailable, "", msgUnavailable},
	}
}

var (
	msgNoSecret    = map[string]string{"error": "present the shared secret as Authorization: Bearer <secret>"}
	msgWrongSecret = map[string]string{"error": "the secret is not the bridge's; check the IdP's hook configuration"}
	msgAnonymous   = map[string]string{"error": "too many requests without the shared secret from this address"}
	msgClient      = map[string]string{"error": "too many requests from this client; retry in a second"}
	msgUser        = map[string]string{"error": "too many failed attempts for this user; retry in a minute"}
	msgBusy        = map[string]string{"error": "the bridge is busy and could not verify in time; retry"}
	msgUnavailable = map[string]string{"error": "the legacy system cannot be asked now; see the bridge's log"}
)

// refuse writes the dialect's answer to a refusal.
func (b *Bridge) refuse(w http.ResponseWriter, why refusal) {
	a, ok := dialectAnswers[b.dialect][why]
	if !ok {
		a = dialectAnswers[strategies.DialectAuthproject][why]
	}
	if a.retryAfter != "" {
		w.Header().Set("Retry-After", a.retryAfter)
	}
	if why == refuseNoSecret || (a.status == http.StatusUnauthorized && why == refuseWrongSecret) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cutover bridge"`)
	}
	writeJSON(w, a.status, a.body)
}
