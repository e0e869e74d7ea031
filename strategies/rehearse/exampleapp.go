package rehearse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/authonly/middleware"
)

// The example app is what an app does once sign-in has moved to the IdP under the
// authonly strategy: the middleware verifies the IdP's token and maps it to the local
// user. `cutover example-app` serves it; the authonly rehearsal calls it to prove each
// token resolves to the right legacy row.

// ExampleStore is the middleware's view of the plan's users table.
func ExampleStore(tbl *authonly.Table, p *strategies.Plan) *middleware.SQLStore {
	email := p.Mapping.Email.Column
	if email == "" {
		email = "email"
	}
	return &middleware.SQLStore{DB: tbl.DB, Dialect: tbl.Dialect, Table: tbl.Name, Key: tbl.Key, IDColumn: tbl.Column, EmailColumn: email}
}

// ExampleApp is the example app: GET / public, GET /protected behind the middleware,
// answering the local user without the secret columns.
func ExampleApp(ctx context.Context, store *middleware.SQLStore, issuer, discovery, clientID string, secret []string, log *slog.Logger) (http.Handler, error) {
	m, err := middleware.New(ctx, middleware.Config[middleware.Row]{
		Issuer: issuer, DiscoveryURL: discovery, ClientID: clientID, Store: store, Log: log,
		GetOrCreate: func(ctx context.Context, id middleware.Identity) (middleware.Row, error) {
			return createLocalUser(ctx, store, id)
		},
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"public": true, "message": "anyone can see this; GET /protected needs a bearer token"})
	})
	mux.Handle("GET /protected", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom[middleware.Row](r.Context())
		id, _ := middleware.IdentityFrom(r.Context())
		writeJSON(w, ExampleAnswer{Subject: id.Subject, User: withoutSecrets(u, secret)})
	})))
	return mux, nil
}

// SecretColumns lists the columns the plan maps to password hashes and salts.
func SecretColumns(p *strategies.Plan) []string {
	return []string{p.Mapping.PasswordHash.Column, p.Mapping.PasswordSalt.Column}
}

// withoutSecrets returns the row without the plan's password columns and any column whose
// name says it holds a secret: an app answers with its user, never their password hash.
func withoutSecrets(u middleware.Row, secret []string) middleware.Row {
	out := make(middleware.Row, len(u))
	for k, v := range u {
		lk := strings.ToLower(k)
		if slices.Contains(secret, k) || strings.Contains(lk, "password") || strings.Contains(lk, "secret") ||
			strings.Contains(lk, "salt") || strings.Contains(lk, "hash") || strings.Contains(lk, "digest") || strings.Contains(lk, "token") {
			continue
		}
		out[k] = v
	}
	return out
}

// ExampleAnswer is what GET /protected returns.
type ExampleAnswer struct {
	Subject string         `json:"subject"`
	User    middleware.Row `json:"user"`
}

// createLocalUser inserts a row holding only the verified email and the IdP id; tables
// that need more (NOT NULL columns, keys without defaults) refuse, and the user gets 403.
func createLocalUser(ctx context.Context, s *middleware.SQLStore, id middleware.Identity) (middleware.Row, error) {
	if id.Email == "" || !id.EmailVerified {
		return nil, fmt.Errorf("%w: no verified email to create one with", middleware.ErrNoAccount)
	}
	if err := s.Insert(ctx, []string{s.EmailColumn, s.IDColumn}, []any{id.Email, id.Subject}); err != nil {
		return nil, fmt.Errorf("%w: the users table refused a new row (%v)", middleware.ErrNoAccount, err)
	}
	u, err := s.FindBySubject(ctx, id.Subject)
	if errors.Is(err, middleware.ErrNotFound) {
		return nil, fmt.Errorf("%w: the new row cannot be read back", middleware.ErrNoAccount)
	}
	return u, err
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// ExampleAppConfig is where `cutover example-app` serves the example app and which IdP
// it trusts.
type ExampleAppConfig struct {
	Issuer    string // the IdP's issuer URL
	Discovery string // fetch the discovery document here instead; "" is Issuer
	ClientID  string // the audience access tokens must be for
	Listen    string // host:port to serve on
	// Ready is called with the address once the app listens; may be nil.
	Ready func(addr string)
	Log   *slog.Logger
}

// ServeExampleApp serves the example app over the users table of the authonly plan p
// until ctx is done. The table must already have the IdP id column (the plan has run).
func ServeExampleApp(ctx context.Context, p *strategies.Plan, cfg ExampleAppConfig) error {
	tbl, err := authonly.OpenTable(ctx, p)
	if err != nil {
		return err
	}
	defer tbl.Close()
	if !tbl.HasColumn() {
		return fmt.Errorf("%s has no column %s yet; run the plan first (cutover run --plan %s)", tbl.Name, tbl.Column, p.File)
	}
	h, err := ExampleApp(ctx, ExampleStore(tbl, p), cfg.Issuer, cfg.Discovery, cfg.ClientID, SecretColumns(p), cfg.Log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if cfg.Ready != nil {
		cfg.Ready(ln.Addr().String())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
		// Stopping on a signal is how this server ends: not an error.
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	}
}
