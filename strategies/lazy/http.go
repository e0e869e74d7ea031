package lazy

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
)

// Endpoint paths. Each dialect serves its own; the health endpoint is always there and
// needs no secret.
const (
	PathHealth     = "/healthz"            // GET: {"status":"ok", ...counts}
	PathMetrics    = "/metrics"            // GET: Prometheus text format, no secret
	PathVerify     = "/verify"             // authproject: POST form email, password
	PathKeycloak   = "/users/{login}"      // keycloak: GET the user, POST {"password"}
	PathKratos     = "/password-migration" // kratos: POST {"identifier","password"}
	PathFusionAuth = "/authenticate"       // fusionauth Generic Connector: POST {"loginId","password",...}
)

// MaxBody is the largest request body the bridge reads.
const MaxBody = 16 << 10

// Paths returns the verification paths a dialect serves, for help text and logs.
func Paths(dialect string) []string {
	switch dialect {
	case strategies.DialectKeycloak:
		return []string{"GET " + PathKeycloak, "POST " + PathKeycloak}
	case strategies.DialectKratos:
		return []string{"POST " + PathKratos}
	case strategies.DialectFusionAuth:
		return []string{"POST " + PathFusionAuth}
	}
	return []string{"POST " + PathVerify}
}

// Handler returns the bridge's HTTP handler: the dialect's endpoints behind the
// per-client rate limit, the caller's authentication and the body size limit, plus
// the health endpoint.
func (b *Bridge) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathHealth, b.handleHealth)
	mux.Handle("GET "+PathMetrics, b.metrics.handler())
	switch b.dialect {
	case strategies.DialectKeycloak:
		mux.Handle("GET "+PathKeycloak, b.guard(b.handleKeycloakGet))
		mux.Handle("POST "+PathKeycloak, b.guard(b.handleKeycloakPost))
	case strategies.DialectKratos:
		mux.Handle("POST "+PathKratos, b.guard(b.handleKratos))
	case strategies.DialectFusionAuth:
		mux.Handle("POST "+PathFusionAuth, b.guard(b.handleFusionAuth))
	default:
		mux.Handle("POST "+PathVerify, b.guard(b.handleAuthproject))
	}
	return mux
}

// guard checks the shared secret first and then applies the per-client rate limit and
// the body limit. Requests without the secret count against a limit of their own
// (perAnon), so a flood of them from the IdP's network cannot use up the IdP's
// per-client allowance and lock its real calls out.
func (b *Bridge) guard(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		addr := clientAddr(r)
		if !b.noAuth {
			if res := b.authenticate(r); res != authOK {
				if !b.perAnon.allow(addr) {
					b.limited.Add(1)
					b.metrics.refusals.WithLabelValues(b.dialect, "anonymous").Inc()
					b.refuse(w, refuseAnonymous)
					return
				}
				if res == authMissing {
					b.refuse(w, refuseNoSecret)
					return
				}
				b.log.Warn("request refused: wrong secret; check the IdP's hook configuration", "client", addr)
				b.refuse(w, refuseWrongSecret)
				return
			}
		}
		if !b.perCli.allow(addr) {
			b.limited.Add(1)
			b.metrics.refusals.WithLabelValues(b.dialect, "client").Inc()
			b.log.Warn("request refused: too many requests from this client", "client", addr)
			b.refuse(w, refuseClient)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBody)
		next(w, r)
	})
}

type authResult int

const (
	authOK authResult = iota
	authMissing
	authWrong
)

// authenticate checks "Authorization: Bearer <secret>" or Basic auth whose password is
// the secret (Keycloak's plugin, Kratos and FusionAuth can all send either).
func (b *Bridge) authenticate(r *http.Request) authResult {
	scheme, cred, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	cred = strings.TrimSpace(cred)
	switch {
	case cred == "":
		return authMissing
	case strings.EqualFold(scheme, "Bearer"):
	case strings.EqualFold(scheme, "Basic"):
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return authWrong
		}
		_, pw, _ := strings.Cut(string(raw), ":")
		cred = pw
	default:
		return authMissing
	}
	// Compare digests: constant time whatever the lengths.
	got, want := sha256.Sum256([]byte(cred)), sha256.Sum256([]byte(b.secret))
	if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
		return authWrong
	}
	return authOK
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func (b *Bridge) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "dialect": b.dialect, "counts": b.Stats()})
}

// verifyOrFail runs Verify and answers the cases every dialect answers alike: a bad
// request body, the identifier's rate limit, and a legacy system that cannot be asked.
// It returns false when it has answered.
func (b *Bridge) verifyOrFail(w http.ResponseWriter, r *http.Request, login, password string) (Result, bool) {
	res, err := b.Verify(r.Context(), login, password)
	switch {
	case err != nil:
		b.refuse(w, refuseUnavailable)
		return res, false
	case res.Limited:
		b.refuse(w, refuseUser)
		return res, false
	case res.Busy:
		b.refuse(w, refuseBusy)
		return res, false
	}
	return res, true
}

// badBody answers a body that cannot be read; a body over MaxBody is a 413.
func badBody(w http.ResponseWriter, err error, want string) {
	var mb *http.MaxBytesError
	if errors.As(err, &mb) {
		writeJSON(w, http.StatusRequestEntityTooLarge, map[string]string{"error": fmt.Sprintf("the body is over %d bytes", MaxBody)})
		return
	}
	writeJSON(w, http.StatusBadRequest, map[string]string{"error": "the body must be " + want})
}

// handleAuthproject speaks the form protocol: POST email, password as
// application/x-www-form-urlencoded; reply {"success": true, "user_info": {...}} or
// {"success": false}.
func (b *Bridge) handleAuthproject(w http.ResponseWriter, r *http.Request) {
	const want = "application/x-www-form-urlencoded with email and password"
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		writeJSON(w, http.StatusUnsupportedMediaType, map[string]string{"error": "the body must be " + want})
		return
	}
	if err := r.ParseForm(); err != nil {
		badBody(w, err, want)
		return
	}
	res, ok := b.verifyOrFail(w, r, r.PostForm.Get("email"), r.PostForm.Get("password"))
	if !ok {
		return
	}
	if !res.OK {
		writeJSON(w, http.StatusOK, withRule(map[string]any{"success": false}, res))
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"success": true, "user_info": res.UserInfo})
}

// keycloakUser is the user the keycloak-user-migration plugin expects from GET.
type keycloakUser struct {
	ID              string              `json:"id,omitempty"`
	Username        string              `json:"username"`
	Email           string              `json:"email,omitempty"`
	FirstName       string              `json:"firstName,omitempty"`
	LastName        string              `json:"lastName,omitempty"`
	Enabled         bool                `json:"enabled"`
	EmailVerified   bool                `json:"emailVerified"`
	Attributes      map[string][]string `json:"attributes,omitempty"`
	Roles           []string            `json:"roles"`
	Groups          []string            `json:"groups"`
	RequiredActions []string            `json:"requiredActions"`
}

// handleKeycloakGet answers GET {base}/{username or email}: the user as JSON, or 404.
func (b *Bridge) handleKeycloakGet(w http.ResponseWriter, r *http.Request) {
	u, err := b.Lookup(r.Context(), r.PathValue("login"))
	if err != nil {
		b.errs.Add(1)
		b.log.Error("lookup failed: the legacy system cannot be asked", "dialect", b.dialect, "err", err)
		b.refuse(w, refuseUnavailable)
		return
	}
	if u == nil {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such user"})
		return
	}
	writeJSON(w, http.StatusOK, b.keycloakUserOf(u))
}

func (b *Bridge) keycloakUserOf(u *strategies.User) keycloakUser {
	info := b.userInfoOf(u)
	k := keycloakUser{ID: u.LegacyID, Username: u.PreferredUsername, Email: u.Email, Enabled: true,
		FirstName: str(info["given_name"]), LastName: str(info["family_name"]),
		Roles: strs(info["roles"]), Groups: strs(info["groups"]), RequiredActions: []string{}}
	if k.Username == "" {
		k.Username = u.Email
	}
	if k.Roles == nil {
		k.Roles = []string{}
	}
	if k.Groups == nil {
		k.Groups = []string{}
	}
	if v, ok := info["email_verified"].(bool); ok {
		k.EmailVerified = v
	}
	// Whatever has no place of its own travels as attributes (Keycloak's are lists).
	for key, v := range info {
		switch key {
		case "email", "preferred_username", "given_name", "family_name", "email_verified", "roles", "groups":
			continue
		case "custom_attributes", "address":
			m, _ := v.(map[string]any)
			for sk, sv := range m {
				k.addAttr(sk, sv)
			}
			continue
		}
		k.addAttr(key, v)
	}
	return k
}

func (k *keycloakUser) addAttr(key string, v any) {
	if k.Attributes == nil {
		k.Attributes = map[string][]string{}
	}
	if l := strs(v); l != nil {
		k.Attributes[key] = l
		return
	}
	k.Attributes[key] = []string{fmt.Sprint(v)}
}

// handleKeycloakPost answers POST {base}/{username or email} {"password": "..."}: 200
// when the password is right, 401 otherwise.
func (b *Bridge) handleKeycloakPost(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Password string `json:"password"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		badBody(w, err, `JSON {"password": "..."}`)
		return
	}
	res, ok := b.verifyOrFail(w, r, r.PathValue("login"), body.Password)
	if !ok {
		return
	}
	if !res.OK {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid credentials"})
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleKratos speaks Ory Kratos' password migration webhook: {"identifier",
// "password"} -> 200 {"status": "password_match"}, or 403 on a mismatch.
func (b *Bridge) handleKratos(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Identifier string `json:"identifier"`
		Password   string `json:"password"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		badBody(w, err, `JSON {"identifier": "...", "password": "..."}`)
		return
	}
	res, ok := b.verifyOrFail(w, r, body.Identifier, body.Password)
	if !ok {
		return
	}
	if !res.OK {
		// Kratos reads anything but password_match as wrong credentials; the reason is
		// for its logs and the operator (the user is sent to recovery either way).
		writeJSON(w, http.StatusForbidden, withRule(map[string]any{"status": "password_mismatch"}, res))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "password_match"})
}

// withRule adds to a refusal's body the target rule that refused a right password,
// so the IdP's logs say why the user must reset it.
func withRule(body map[string]any, res Result) map[string]any {
	if res.Reason == ReasonTargetRule {
		body["reason"] = "password_reset_required"
		body["detail"] = res.Why
	}
	return body
}

// handleFusionAuth speaks FusionAuth's Generic Connector: {"loginId", "password", ...}
// -> 200 {"user": {...}} on success, 404 otherwise (FusionAuth's rule, against
// enumeration).
func (b *Bridge) handleFusionAuth(w http.ResponseWriter, r *http.Request) {
	var body struct {
		LoginID  string `json:"loginId"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		badBody(w, err, `JSON {"loginId": "...", "password": "..."}`)
		return
	}
	res, ok := b.verifyOrFail(w, r, body.LoginID, body.Password)
	if !ok {
		return
	}
	if !res.OK {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": b.fusionAuthUserOf(res.User, res.UserInfo)})
}

// fusionAuthUserOf renders a FusionAuth user: a UUID id (the legacy id when it is one,
// else a name-based UUID derived from it, stable across calls), identifiers, names and
// the rest under data.
func (b *Bridge) fusionAuthUserOf(u *strategies.User, info map[string]any) map[string]any {
	out := map[string]any{"id": fusionAuthID(u), "active": true}
	if u.Email != "" {
		out["email"] = u.Email
	}
	if u.PreferredUsername != "" {
		out["username"] = u.PreferredUsername
	}
	data := map[string]any{}
	for k, v := range info {
		switch k {
		case "email", "preferred_username":
		case "email_verified":
			out["verified"] = v
		case "given_name":
			out["firstName"] = v
		case "family_name":
			out["lastName"] = v
		case "middle_name":
			out["middleName"] = v
		case "name":
			out["fullName"] = v
		case "phone_number":
			out["mobilePhone"] = v
		case "picture":
			out["imageUrl"] = v
		case "birthdate":
			out["birthDate"] = v
		case "zoneinfo":
			out["timezone"] = v
		case "locale":
			out["preferredLanguages"] = []any{v}
		default:
			data[k] = v
		}
	}
	if len(data) > 0 {
		out["data"] = data
	}
	return out
}

// fusionAuthID is the legacy id when it is a UUID, else a version-5 style UUID of it
// (or of the email when there is no legacy id).
func fusionAuthID(u *strategies.User) string {
	id := u.LegacyID
	if isUUID(id) {
		return strings.ToLower(id)
	}
	if id == "" {
		id = "email:" + strings.ToLower(u.Email)
	}
	h := sha256.Sum256([]byte("cutover legacy user " + id))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	var s strings.Builder
	for i, c := range h[:16] {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s.WriteByte('-')
		}
		s.WriteByte(hexd[c>>4])
		s.WriteByte(hexd[c&0xf])
	}
	return s.String()
}

func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", c):
			return false
		}
	}
	return true
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	switch l := v.(type) {
	case []string:
		return l
	case []any:
		out := make([]string, 0, len(l))
		for _, e := range l {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// Serve serves the bridge on ln until ctx ends, then shuts down gracefully: it stops
// accepting, lets in-flight verifications finish (up to Config.ShutdownTimeout) and
// returns. With lazy.tls_cert and lazy.tls_key it serves HTTPS (TLS 1.2+).
func (b *Bridge) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           b.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		// In-flight requests must outlive the signal that stops the server.
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:    slog.NewLogLogger(b.log.Handler(), slog.LevelWarn),
	}
	if o := b.plan.Lazy; o.TLSCert != "" {
		certPath, err := b.plan.Resolve("lazy.tls_cert", o.TLSCert)
		if err != nil {
			return err
		}
		keyPath, err := b.plan.Resolve("lazy.tls_key", o.TLSKey)
		if err != nil {
			return err
		}
		cert, err := tls.LoadX509KeyPair(certPath, keyPath)
		if err != nil {
			return &strategies.Error{Code: strategies.CodePlan, File: b.plan.File, Field: "lazy.tls_cert",
				Message: "cannot load the certificate and key; give PEM files that belong together", Err: err}
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve bridge: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), b.shutdown)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	if err != nil {
		return fmt.Errorf("shut the bridge down: %w", err)
	}
	return nil
}
