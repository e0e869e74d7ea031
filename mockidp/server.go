package mockidp

import (
	"cmp"
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/cutover/cutover/strategies/passwords"
)

// Endpoint paths. The admin side is exactly Authgear's; the /_mock/ endpoints exist only here.
const (
	PathImport          = "/_api/admin/users/import"          // POST: start an import job
	PathImportJob       = "/_api/admin/users/import/{id}"     // GET: poll an import job
	PathDiscovery       = "/.well-known/openid-configuration" // OIDC discovery document
	PathJWKS            = "/oauth2/jwks"                      // signing keys of ID and access tokens
	PathAuthorize       = "/oauth2/authorize"                 // HTML sign-in page (GET shows it, POST submits it)
	PathToken           = "/oauth2/token"                     // authorization_code, refresh_token and password grants
	PathUserinfo        = "/oauth2/userinfo"                  // GET claims + user_info blob; POST replaces the blob
	PathMockUsers       = "/_mock/users"                      // GET list and count; DELETE everyone
	PathMockUsersDelete = "/_mock/users/delete"               // POST {"ids": [...]}
	PathMockUserOTP     = "/_mock/users/{id}/otp"             // POST: a one-time sign-in code
)

// Profiles: which password formats the import API accepts.
const (
	ProfileAuthgear   = "authgear"   // bcrypt only, as Authgear in production
	ProfilePermissive = "permissive" // any format strategies/passwords verifies
)

// ClientID is the public OIDC client that is always registered.
const ClientID = "cutover"

// DefaultProject is the project id used when Config.Project is empty.
const DefaultProject = "cutover-mock"

// Config configures a Server. The zero value is a usable in-memory authgear-profile IdP.
type Config struct {
	Profile string // ProfileAuthgear (default) or ProfilePermissive
	// Firebase is a Firebase project's password hash parameters. With them the
	// permissive profile verifies imported Firebase scrypt hashes at sign-in, so a
	// Firebase export rehearses with sign-ins like any other.
	Firebase    *passwords.FirebaseConfig
	DBPath      string       // SQLite file; "" keeps everything in memory
	Issuer      string       // issuer URL; "" derives it from the listener (or the request's Host)
	AdminKeyDir string       // load admin-key.pem/json from here, or create them here; "" keeps the key in memory
	Project     string       // project id, the Admin JWT audience; default DefaultProject
	LazyHook    LazyHook     // the lazy-migration verification endpoint; empty URL disables it
	Faults      Faults       // fault injection on the admin API
	Logger      *slog.Logger // nil discards logs
	Now         func() time.Time

	// AdminKey and SigningKey may be supplied (tests reuse keys to save RSA generation);
	// otherwise AdminKey is loaded from or created in AdminKeyDir, and SigningKey is kept
	// in the database at DBPath (generated afresh for an in-memory one).
	AdminKey   *rsa.PrivateKey
	SigningKey *rsa.PrivateKey
	// BcryptCost is the cost of native hashes (sign-up, lazy users, upgrades); default 10.
	BcryptCost int
	// JobRetention is how long a completed import job stays readable; default 10 minutes.
	JobRetention time.Duration
	// Seed makes fault injection deterministic when non-zero.
	Seed uint64
	// ReadTimeout bounds reading one request, body included, so a client trickling its
	// body cannot hold a connection open; default 60 seconds (a 500 KB import body on a
	// slow link fits comfortably).
	ReadTimeout time.Duration

	// LoginIDKeys are the login ids the Authgear project allows: LoginIDEmail,
	// LoginIDPhone, LoginIDUsername. In the authgear profile the default is what
	// `authgear init` makes, email only: a record's phone_number or preferred_username is
	// then ignored with Authgear's warning (the user gets no such login id) and
	// getUserByLoginID refuses those keys. The permissive profile allows all three.
	LoginIDKeys []string
	// Roles and Groups are the role and group keys the project defines. In the authgear
	// profile a record naming another fails as at Authgear (RoleUnknownKeys, then
	// GroupUnknownKeys); `authgear init` defines none. The permissive profile takes any.
	Roles, Groups []string
}

// Login id keys of an Authgear project (Config.LoginIDKeys), as getUserByLoginID names them.
const (
	LoginIDEmail    = "email"
	LoginIDPhone    = "phone"
	LoginIDUsername = "username"
)

// LazyHook is the verification endpoint called when an unknown user signs in.
type LazyHook struct {
	URL     string        // POST target; "" disables lazy migration
	Secret  string        // sent as "Authorization: Bearer <Secret>" when not empty
	Timeout time.Duration // default 5s
}

// Faults make the admin API misbehave on purpose so clients can be rehearsed against a bad day.
type Faults struct {
	ErrorRate float64       // fraction of import calls answering 500, 502 or 503
	RateLimit float64       // admin API requests per second above which it answers 429 with Retry-After; 0 = no limit
	Latency   time.Duration // added to every admin API request
	DropRate  float64       // fraction of admin API connections closed without a response
	// LostRate is the fraction of import creations carried out whose answer is lost: the
	// job is created, then the connection is closed, as when a proxy times out.
	LostRate float64
}

// Info is what a client needs to talk to the server.
type Info struct {
	Issuer       string          // issuer URL (empty until Start when derived from the listener)
	ClientID     string          // the public client, "cutover"
	Project      string          // project id, the Admin JWT audience
	KeyID        string          // the Admin JWT kid
	AdminKey     *rsa.PrivateKey // signs Admin JWTs
	AdminKeyPEM  []byte          // AdminKey as PKCS#8 PEM
	AdminKeyFile string          // admin-key.pem, when written or loaded
	Profile      string          // the import profile
}

// Banner is what 'cutover mockidp' says once it listens at addr: where it is, its
// keys and client, and the lazy hook it calls ("" is none).
func (i Info) Banner(addr, hookURL string) string {
	keyFile := cmp.Or(i.AdminKeyFile, "(in memory; use --admin-key-out DIR to write it)")
	return fmt.Sprintf(`cutover mock IdP is running
  URL        http://%s
  issuer     %s
  profile    %s
  project    %s
  key id     %s
  admin key  %s
  client id  %s (public, password grant, loopback redirects)
  lazy hook  %s
Press Ctrl+C to stop.
`, addr, i.Issuer, i.Profile, i.Project, i.KeyID, keyFile, i.ClientID, cmp.Or(hookURL, "off"))
}

// Server is the mock IdP. Create it with New; it is safe for concurrent use.
type Server struct {
	cfg      Config
	log      *slog.Logger
	now      func() time.Time
	store    *store
	verifier *passwords.Verifier
	signer   *tokenSigner
	admin    adminKey
	jobs     *jobQueue
	faults   *faultInjector
	lazy     *http.Client
	auth     *authState
	handler  http.Handler

	mu      sync.Mutex
	issuer  string
	srv     *http.Server
	started bool
	closed  bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

// setDefaults fills the zero fields of c with their defaults and checks the rest.
func (c *Config) setDefaults() error {
	if c.Profile == "" {
		c.Profile = ProfileAuthgear
	}
	if c.Profile != ProfileAuthgear && c.Profile != ProfilePermissive {
		return fmt.Errorf("mockidp: unknown profile %q: use %q or %q", c.Profile, ProfileAuthgear, ProfilePermissive)
	}
	if c.LoginIDKeys == nil {
		c.LoginIDKeys = []string{LoginIDEmail}
		if c.Profile == ProfilePermissive {
			c.LoginIDKeys = []string{LoginIDEmail, LoginIDPhone, LoginIDUsername}
		}
	}
	for _, k := range c.LoginIDKeys {
		if k != LoginIDEmail && k != LoginIDPhone && k != LoginIDUsername {
			return fmt.Errorf("mockidp: unknown login id key %q: use %q, %q or %q", k, LoginIDEmail, LoginIDPhone, LoginIDUsername)
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.BcryptCost == 0 {
		c.BcryptCost = bcrypt.DefaultCost
	}
	if c.BcryptCost < bcrypt.MinCost || c.BcryptCost > bcrypt.MaxCost {
		return fmt.Errorf("mockidp: bcrypt cost %d out of range %d..%d", c.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if c.JobRetention == 0 {
		c.JobRetention = 10 * time.Minute
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = 60 * time.Second
	}
	if c.LazyHook.Timeout == 0 {
		c.LazyHook.Timeout = 5 * time.Second
	}
	if err := c.Faults.validate(); err != nil {
		return fmt.Errorf("mockidp: %w", err)
	}
	c.Issuer = strings.TrimRight(c.Issuer, "/")
	return nil
}

// New returns an unstarted Server: the database is open, keys are loaded or created and
// files written, but nothing listens until Start (or Handler is mounted elsewhere).
func New(cfg Config) (*Server, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}

	ver, err := passwords.New(passwords.Options{Firebase: cfg.Firebase})
	if err != nil {
		return nil, fmt.Errorf("mockidp: password verifier: %w", err)
	}
	ak, err := loadOrCreateAdminKey(cfg)
	if err != nil {
		return nil, fmt.Errorf("mockidp: admin key: %w", err)
	}
	cfg.Project = ak.project
	st, err := openStore(cfg.DBPath)
	if err != nil {
		return nil, fmt.Errorf("mockidp: %w", err)
	}
	sk := cfg.SigningKey
	if sk == nil && cfg.DBPath != "" {
		// Kept beside the users: tokens outlive a restart on the same database.
		if sk, err = st.signingKey(context.Background()); err != nil {
			st.close()
			return nil, fmt.Errorf("mockidp: %s: %w", cfg.DBPath, err)
		}
	}
	signer, err := newTokenSigner(sk)
	if err != nil {
		st.close()
		return nil, fmt.Errorf("mockidp: signing key: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		now:      cfg.Now,
		store:    st,
		verifier: ver,
		signer:   signer,
		admin:    ak,
		faults:   newFaultInjector(cfg.Faults, cfg.Seed, cfg.Now),
		lazy:     &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		auth:     newAuthState(),
		issuer:   cfg.Issuer,
		cancel:   cancel,
	}
	s.jobs = newJobQueue(s)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.jobs.run(ctx)
	}()
	s.handler = s.routes()
	return s, nil
}

// Handler returns the server's HTTP handler, for mounting in httptest or another server.
func (s *Server) Handler() http.Handler { return s.handler }

// Start serves on ln in the background until Close. When Config.Issuer is empty the issuer
// becomes http://<ln address> (an unspecified host such as 0.0.0.0 is replaced by 127.0.0.1).
func (s *Server) Start(ln net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("mockidp: start: server is closed")
	}
	if s.started {
		return errors.New("mockidp: start: already started")
	}
	s.started = true
	if s.issuer == "" {
		s.issuer = issuerFromAddr(ln.Addr())
	}
	if err := s.admin.writeInfo(s.issuer); err != nil {
		return fmt.Errorf("mockidp: start: %w", err)
	}
	s.srv = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       s.cfg.ReadTimeout,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	srv := s.srv
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("mockidp stopped serving", "err", err)
		}
	}()
	s.log.Info("mock IdP listening", "addr", ln.Addr().String(), "issuer", s.issuer)
	return nil
}

// Close stops serving (letting requests in flight finish for up to five seconds), stops the
// import worker and closes the database. It is safe to call more than once.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	srv := s.srv
	s.mu.Unlock()

	// Stop the import worker first: a request waiting to queue a job then returns at once
	// instead of holding Shutdown until its deadline.
	s.cancel()
	var errs []error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("shutdown: %w", err))
			_ = srv.Close()
		}
		cancel()
	}
	s.wg.Wait()
	if err := s.store.close(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mockidp: close: %w", err)
	}
	return nil
}

// Config returns what clients need: issuer, client id, project, admin key.
func (s *Server) Config() Info {
	s.mu.Lock()
	iss := s.issuer
	s.mu.Unlock()
	return Info{
		Issuer:       iss,
		ClientID:     ClientID,
		Project:      s.admin.project,
		KeyID:        s.admin.keyID,
		AdminKey:     s.admin.key,
		AdminKeyPEM:  s.admin.pem,
		AdminKeyFile: s.admin.pemFile,
		Profile:      s.cfg.Profile,
	}
}

// issuerFor returns the issuer for a request: configured, derived from the listener, or
// (when the handler is mounted elsewhere without an issuer) from the request's Host.
func (s *Server) issuerFor(r *http.Request) string {
	s.mu.Lock()
	iss := s.issuer
	s.mu.Unlock()
	if iss != "" {
		return iss
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func issuerFromAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		if ip != nil {
			host = "127.0.0.1"
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	admin := func(h http.HandlerFunc) http.Handler { return s.faults.wrap(s.requireAdmin(h), s) }
	// Authgear's own admin routes check the Content-Type after the token; the mock-only
	// routes below do not.
	authgear := func(h http.HandlerFunc) http.Handler { return admin(requireContentType(h)) }
	mux.Handle("POST "+PathImport, authgear(s.handleImportCreate))
	mux.Handle("GET "+PathImportJob, authgear(s.handleImportGet))
	mux.Handle("GET "+PathMockUsers, admin(s.handleMockList))
	mux.Handle("DELETE "+PathMockUsers, admin(s.handleMockDeleteAll))
	mux.Handle("POST "+PathMockUsersDelete, admin(s.handleMockDelete))
	mux.Handle("POST "+PathAdminGraphQL, authgear(s.handleGraphQL))
	mux.Handle("POST "+PathMockUserOTP, admin(s.handleMockOTP))

	mux.HandleFunc("GET "+PathDiscovery, s.handleDiscovery)
	mux.HandleFunc("GET "+PathJWKS, s.handleJWKS)
	mux.HandleFunc("GET "+PathAuthorize, s.handleAuthorizePage)
	// The form signs a user in: a page on another origin must not post it for them
	// (login CSRF). The check reads Sec-Fetch-Site and Origin, which browsers send.
	mux.Handle("POST "+PathAuthorize, http.NewCrossOriginProtection().Handler(http.HandlerFunc(s.handleAuthorizeSubmit)))
	mux.HandleFunc("POST "+PathToken, s.handleToken)
	mux.HandleFunc("GET "+PathUserinfo, s.handleUserinfoGet)
	mux.HandleFunc("POST "+PathUserinfo, s.handleUserinfoPost)
	return mux
}

// loginID reports whether the project allows the login id the record key k (email,
// phone_number, preferred_username) becomes.
func (c *Config) loginID(k string) bool {
	switch k {
	case IdentifierPhone:
		k = LoginIDPhone
	case IdentifierUsername:
		k = LoginIDUsername
	}
	return slices.Contains(c.LoginIDKeys, k)
}
