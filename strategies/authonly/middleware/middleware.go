// Package middleware turns an identity provider's session into an app's own user, for
// apps that moved sign-in to an IdP but keep their user model (cutover's authonly
// strategy). It verifies the bearer access token through the IdP's discovery document
// and JWKS (issuer, audience, expiry, signature), finds the local user by the IdP id
// column, links a legacy user by verified email on first sign-in, and otherwise asks
// the app to get or create one. For an IdP whose sign-ins end in sessions rather than
// access tokens (Ory Kratos), Config.Sessions verifies the session instead
// (KratosSessions asks Kratos's /sessions/whoami). It needs only the standard library and coreos/go-oidc,
// and works with any router that takes http.Handler (chi, gin via gin.WrapH, echo via
// echo.WrapMiddleware).
//
// Example, with the users table that `cutover run` wrote IdP ids into:
//
//	store := &middleware.SQLStore{DB: db, Dialect: "postgres", Table: "users", Key: "id"}
//	auth, err := middleware.New(ctx, middleware.Config[middleware.Row]{
//		Issuer:   "https://myapp.authgear.cloud",
//		ClientID: "my-client-id",
//		Store:    store,
//		GetOrCreate: func(ctx context.Context, id middleware.Identity) (middleware.Row, error) {
//			return createUser(ctx, db, id.Email, id.Subject) // store id.Subject in idp_user_id
//		},
//	})
//	if err != nil {
//		return err
//	}
//	r := chi.NewRouter()
//	r.With(auth.Handler).Get("/account", func(w http.ResponseWriter, r *http.Request) {
//		user, _ := middleware.UserFrom[middleware.Row](r.Context())
//		json.NewEncoder(w).Encode(user)
//	})
package middleware

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// ErrNotFound is returned by a Store when no local user matches.
var ErrNotFound = errors.New("no local user")

// ErrNoAccount is returned by GetOrCreate when the app will not give this IdP user a
// local account; the request is answered 403.
var ErrNoAccount = errors.New("no local account for this user")

// ErrAmbiguous is returned by Store.LinkByEmail when several unlinked local users share
// the email: linking one of them would be a guess, so the request is answered 403.
var ErrAmbiguous = errors.New("several local users have this email")

// Identity is who the verified access token says the caller is.
type Identity struct {
	Subject       string         // the IdP user id (the token's sub)
	Email         string         // from the token, or from userinfo on first sign-in; may be empty
	EmailVerified bool           // whether the IdP vouches for Email
	Claims        map[string]any // every claim of the access token
}

// Store finds and links local users. SQLStore is one over database/sql.
type Store[U any] interface {
	// FindBySubject returns the user whose IdP id column holds subject, or ErrNotFound.
	FindBySubject(ctx context.Context, subject string) (U, error)
	// LinkByEmail writes subject into the IdP id column of the one local user with this
	// email (ignoring case) whose IdP id is still empty, and returns that user;
	// ErrNotFound when there is none, ErrAmbiguous when there are several.
	LinkByEmail(ctx context.Context, email, subject string) (U, error)
}

// Config configures a Middleware.
type Config[U any] struct {
	// Issuer is the IdP's issuer URL; tokens must carry exactly this iss.
	Issuer string
	// ClientID is the client_id claim access tokens must carry. Authgear's JWT access
	// tokens have the project endpoint (the issuer) as aud and the application in
	// client_id; an ID token has the client as aud and no client_id, so it is refused.
	ClientID string
	// DiscoveryURL, when set, is where the discovery document is fetched instead of
	// Issuer (e.g. http://idp:8080 inside a container network while tokens say
	// http://127.0.0.1:8080). Tokens are still checked against Issuer.
	DiscoveryURL string
	// Store finds users by IdP id and links them by email.
	Store Store[U]
	// GetOrCreate is called for a verified IdP user with no local user and no unlinked
	// legacy user with their verified email. It should store id.Subject with the user so
	// the next request finds it. nil, or ErrNoAccount, answers 403.
	GetOrCreate func(ctx context.Context, id Identity) (U, error)
	// HTTPClient fetches discovery, keys and userinfo; nil uses a client with a
	// DefaultTimeout (http.DefaultClient has none: a stalled IdP would hold requests,
	// and their goroutines, forever).
	HTTPClient *http.Client
	// UserinfoTimeout bounds the userinfo call of a first sign-in, whatever the client;
	// 0 means DefaultTimeout. Past it the request is answered 500 and may be retried.
	UserinfoTimeout time.Duration
	// IgnoreUserinfoEmail keeps userinfo out of linking and creating: set it for an IdP
	// whose userinfo a user can rewrite wholesale (Authproject serves a user-replaceable
	// blob and sub only). Then only an email in the access token links a legacy user.
	IgnoreUserinfoEmail bool
	// Log receives one line per refused or failed request (never a token); nil discards.
	Log *slog.Logger
	// Sessions, when set, verifies the IdP's sessions instead of OIDC access tokens
	// (KratosSessions for Ory Kratos); Issuer, ClientID and DiscoveryURL are then unused,
	// and emails come from the session's identity only.
	Sessions SessionVerifier
}

// DefaultTimeout bounds each call to the IdP when the Config does not say otherwise:
// long enough for a slow IdP on a bad day, short enough that a hung one frees requests.
const DefaultTimeout = 10 * time.Second

// Middleware verifies bearer tokens and puts the local user on the request context.
type Middleware[U any] struct {
	cfg      Config[U]
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
	log      *slog.Logger
	client   *http.Client
	// locks serialise first sign-ins of one subject, so GetOrCreate and linking run once.
	locks subjectLocks
}

// New fetches the IdP's discovery document and returns the middleware.
func New[U any](ctx context.Context, cfg Config[U]) (*Middleware[U], error) {
	if cfg.Store == nil {
		return nil, errors.New("middleware: Store is required")
	}
	if cfg.Sessions != nil {
		cfg.IgnoreUserinfoEmail = true
		m := &Middleware[U]{cfg: cfg, log: cfg.Log}
		if m.log == nil {
			m.log = slog.New(slog.DiscardHandler)
		}
		return m, nil
	}
	if cfg.Issuer == "" || cfg.ClientID == "" {
		return nil, errors.New("middleware: Issuer and ClientID are required")
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: DefaultTimeout}
	}
	if cfg.UserinfoTimeout <= 0 {
		cfg.UserinfoTimeout = DefaultTimeout
	}
	// go-oidc keeps this context for the key set's later fetches: the client goes with it.
	ctx = oidc.ClientContext(ctx, client)
	discovery := cfg.Issuer
	if cfg.DiscoveryURL != "" {
		discovery = cfg.DiscoveryURL
		ctx = oidc.InsecureIssuerURLContext(ctx, cfg.Issuer)
	}
	provider, err := oidc.NewProvider(ctx, discovery)
	if err != nil {
		return nil, fmt.Errorf("middleware: discover the IdP at %s: %w", discovery, err)
	}
	m := &Middleware[U]{cfg: cfg, provider: provider, log: cfg.Log, client: client}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	// The verifier checks the signature against the JWKS (RS256 and the other algorithms
	// the IdP announces; never "none"), iss and exp; Verify checks aud and client_id,
	// which go-oidc would check the ID token way (aud = client).
	m.verifier = provider.Verifier(&oidc.Config{SkipClientIDCheck: true})
	return m, nil
}

type ctxKey int

const (
	userKey ctxKey = iota
	identityKey
)

// UserFrom returns the local user the middleware put on the context.
func UserFrom[U any](ctx context.Context) (U, bool) {
	u, ok := ctx.Value(userKey).(U)
	return u, ok
}

// IdentityFrom returns the verified identity the middleware put on the context.
func IdentityFrom(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(identityKey).(Identity)
	return id, ok
}

// WithUser returns ctx carrying user and id, as the middleware does (for tests of handlers).
func WithUser[U any](ctx context.Context, user U, id Identity) context.Context {
	return context.WithValue(context.WithValue(ctx, userKey, user), identityKey, id)
}

// Handler wraps next: requests without a valid bearer token get 401 with
// WWW-Authenticate; the others reach next with the local user on their context.
func (m *Middleware[U]) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, id, ok := m.identify(w, r)
		if !ok {
			return
		}
		user, err := m.Resolve(r.Context(), raw, &id)
		switch {
		case errors.Is(err, ErrNoAccount), errors.Is(err, ErrAmbiguous), errors.Is(err, ErrNotFound), errors.Is(err, ErrUntrustedClaims):
			m.log.Info("no local user", "subject", id.Subject, "err", err)
			http.Error(w, "forbidden: "+err.Error(), http.StatusForbidden)
			return
		case err != nil:
			if r.Context().Err() == nil {
				m.log.Error("resolve local user", "subject", id.Subject, "err", err)
			}
			http.Error(w, "the local user could not be loaded; try again", http.StatusInternalServerError)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithUser(r.Context(), user, id)))
	})
}

// identify verifies the request's access token (or session) and says who it is; on
// failure it has answered 401 (or 502 when the IdP could not answer).
func (m *Middleware[U]) identify(w http.ResponseWriter, r *http.Request) (raw string, id Identity, ok bool) {
	if m.cfg.Sessions != nil {
		id, err := m.cfg.Sessions.VerifySession(r.Context(), r)
		switch {
		case errors.Is(err, ErrNoSession):
			m.unauthorized(w, "a session is required (X-Session-Token, or the session cookie)")
		case errors.Is(err, errSessionRefused):
			m.log.Info("session refused", "path", r.URL.Path)
			m.unauthorized(w, "the session is invalid or expired")
		case err != nil:
			m.log.Error("verify session", "path", r.URL.Path, "err", err)
			http.Error(w, "the session could not be checked; try again", http.StatusBadGateway)
		default:
			return "", id, true
		}
		return "", Identity{}, false
	}
	raw, ok = bearer(r)
	if !ok {
		m.unauthorized(w, "an access token is required (Authorization: Bearer ...)")
		return "", Identity{}, false
	}
	id, err := m.Verify(r.Context(), raw)
	if err != nil {
		m.log.Info("access token refused", "path", r.URL.Path, "err", err)
		m.unauthorized(w, "the access token is invalid or expired")
		return "", Identity{}, false
	}
	return raw, id, true
}

// bearer extracts the token of an "Authorization: Bearer" header.
func bearer(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	return tok, ok && strings.EqualFold(scheme, "Bearer") && tok != ""
}

func (m *Middleware[U]) unauthorized(w http.ResponseWriter, desc string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+desc+`"`)
	http.Error(w, "unauthorized: "+desc, http.StatusUnauthorized)
}

// Verify checks a raw access token (signature, iss, aud, client_id, exp) and returns
// its identity. A token that names a claim twice or spells an identity claim in another
// case is refused (ErrUntrustedClaims), as userinfo answers are.
func (m *Middleware[U]) Verify(ctx context.Context, raw string) (Identity, error) {
	ctx = oidc.ClientContext(ctx, m.client)
	tok, err := m.verifier.Verify(ctx, raw)
	if err != nil {
		return Identity{}, fmt.Errorf("verify access token: %w", err)
	}
	var payload json.RawMessage
	if err := tok.Claims(&payload); err != nil {
		return Identity{}, fmt.Errorf("read access token claims: %w", err)
	}
	claims, err := parseClaims(payload)
	if err != nil {
		return Identity{}, fmt.Errorf("verify access token: %w", err)
	}
	id := Identity{Subject: tok.Subject}
	if err := tok.Claims(&id.Claims); err != nil {
		return Identity{}, fmt.Errorf("read access token claims: %w", err)
	}
	if !slices.Contains(tok.Audience, tok.Issuer) { // tok.Issuer is the one expected by now
		return Identity{}, fmt.Errorf("verify access token: aud %q is not the IdP %s (is this an ID token?)", tok.Audience, tok.Issuer)
	}
	if cid, _ := id.Claims["client_id"].(string); cid != m.cfg.ClientID {
		return Identity{}, fmt.Errorf("verify access token: client_id %q, want %q", cid, m.cfg.ClientID)
	}
	if id.Subject == "" {
		return Identity{}, errors.New("verify access token: no sub claim")
	}
	// Some IdPs (Keycloak, Auth0 with a rule) put the email in the access token: signed
	// by the IdP, so as good as userinfo's, and one call fewer.
	id.Email, id.EmailVerified = claims.str("email"), claims.verified("email_verified")
	return id, nil
}

func isTrue(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}

// Resolve returns the local user of a verified identity: by IdP id; else, on first
// sign-in, the legacy user with the same verified email (linked now, once); else
// GetOrCreate. raw is the access token, used to ask userinfo for the email when the
// token carries none.
//
// Only an email the IdP vouches for, in the standard email and email_verified claims
// spelled exactly so, links a legacy user: a claims object that names either in another
// case, or any claim twice, is refused with ErrUntrustedClaims. An IdP whose userinfo is
// wholly a user-written blob (the lazy-migration protocol's own IdP, Authproject, serves
// the blob and sub only) gives nothing the user cannot change: link there only through
// emails in the access token (Config.IgnoreUserinfoEmail), or not at all.
func (m *Middleware[U]) Resolve(ctx context.Context, raw string, id *Identity) (U, error) {
	var zero U
	u, err := m.cfg.Store.FindBySubject(ctx, id.Subject)
	if !errors.Is(err, ErrNotFound) {
		return u, err
	}
	// First sign-in. Ask userinfo before taking the subject's lock: the call may take
	// as long as the IdP likes (up to UserinfoTimeout), and a second request of the same
	// subject meanwhile only asks again, which is harmless.
	if id.Email == "" && !m.cfg.IgnoreUserinfoEmail {
		if err := m.userinfo(ctx, raw, id); err != nil {
			return zero, err
		}
	}
	// One at a time per subject from here, then look again: a concurrent first request
	// may have linked or created the user while this one waited.
	unlock, err := m.locks.lock(ctx, id.Subject)
	if err != nil {
		return zero, fmt.Errorf("wait for another first sign-in of this user: %w", err)
	}
	defer unlock()
	if u, err = m.cfg.Store.FindBySubject(ctx, id.Subject); !errors.Is(err, ErrNotFound) {
		return u, err
	}
	if id.Email != "" && id.EmailVerified {
		u, err = m.cfg.Store.LinkByEmail(ctx, id.Email, id.Subject)
		if err == nil {
			m.log.Info("linked a legacy user by verified email", "subject", id.Subject)
		}
		if !errors.Is(err, ErrNotFound) {
			return u, err
		}
	}
	if m.cfg.GetOrCreate == nil {
		return zero, ErrNoAccount
	}
	return m.cfg.GetOrCreate(ctx, *id)
}

// userinfo fills the identity's email from the IdP's userinfo endpoint, within
// UserinfoTimeout. It reads the exact standard claims from the raw answer rather than
// go-oidc's UserInfo fields, which encoding/json fills from "Email" as readily as from
// "email".
func (m *Middleware[U]) userinfo(ctx context.Context, raw string, id *Identity) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.UserinfoTimeout)
	defer cancel()
	ctx = oidc.ClientContext(ctx, m.client)
	info, err := m.provider.UserInfo(ctx, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: raw, TokenType: "Bearer"}))
	if err != nil {
		return fmt.Errorf("ask the IdP's userinfo for the email: %w", err)
	}
	var body json.RawMessage
	if err := info.Claims(&body); err != nil {
		return fmt.Errorf("read the IdP's userinfo: %w", err)
	}
	claims, err := parseClaims(body)
	if err != nil {
		return fmt.Errorf("read the IdP's userinfo: %w", err)
	}
	if sub := claims.str("sub"); sub != id.Subject {
		return fmt.Errorf("userinfo is for subject %q, the token for %q", sub, id.Subject)
	}
	id.Email, id.EmailVerified = claims.str("email"), claims.verified("email_verified")
	return nil
}
