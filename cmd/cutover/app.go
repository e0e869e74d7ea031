package main

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

	"github.com/spf13/cobra"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/authonly"
	"github.com/cutover/cutover/strategies/authonly/middleware"
)

// exampleAppFlags are the options of `cutover example-app`.
type exampleAppFlags struct {
	plan      string
	idp       string
	discovery string
	clientID  string
	listen    string
}

func newExampleAppCmd(a *app) *cobra.Command {
	var f exampleAppFlags
	cmd := &cobra.Command{
		Use:   "example-app --plan FILE [--idp URL] [--listen ADDR]",
		Short: "Serve a tiny app protected by the authonly middleware",
		Long: `Serve a tiny protected app over the legacy users table of an authonly plan, to
see (and test) the middleware an app uses once sign-in has moved to the IdP.

  GET /           public: no token needed
  GET /protected  needs "Authorization: Bearer <access token>" from the IdP; answers
                  the local user the token resolves to, as JSON

The middleware verifies the token through the IdP's discovery document and keys
(issuer, audience, expiry, signature), finds the local user by the IdP id column
(authonly.id_column, default idp_user_id), links a legacy user by verified email on
first sign-in, and otherwise creates a local user with the email and IdP id (or
answers 403 when the table will not take such a row). A missing or bad token gets
401 with WWW-Authenticate.

The issuer is --idp, else the plan's target.url. Inside a container network, where
the IdP is reached at another address than its issuer, give that address with
--discovery-url. The source must be a database (postgres, mysql, sqlite).`,
		Example: `  cutover example-app --plan cutover.yaml --idp http://127.0.0.1:8080
  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8081/protected`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runExampleApp(cmd.Context(), a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.plan, "plan", "", "the authonly plan whose users table the app uses (required)")
	fl.StringVar(&f.idp, "idp", "", "the IdP's issuer URL (default: the plan's target.url)")
	fl.StringVar(&f.discovery, "discovery-url", "", "fetch the IdP's discovery document here instead of at the issuer")
	fl.StringVar(&f.clientID, "client-id", mockidp.ClientID, "the audience access tokens must be for")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8081", "address to serve on")
	_ = cmd.MarkFlagRequired("plan")
	return cmd
}

func runExampleApp(ctx context.Context, a *app, f exampleAppFlags) error {
	p, err := strategies.LoadPlan(f.plan)
	if err != nil {
		return err
	}
	issuer := f.idp
	if issuer == "" {
		if issuer, err = strategies.Expand("target.url", p.Target.URL); err != nil {
			return err
		}
	}
	if issuer == "" {
		return usagef("give the IdP's issuer with --idp (the plan has no target.url)")
	}
	tbl, err := authonly.OpenTable(ctx, p)
	if err != nil {
		return err
	}
	defer tbl.Close()
	if !tbl.HasColumn() {
		return exitError{exitFailure, fmt.Errorf("%s has no column %s yet; run the plan first (cutover run --plan %s)", tbl.Name, tbl.Column, f.plan)}
	}
	h, err := exampleHandler(ctx, exampleStore(tbl, p), issuer, f.discovery, f.clientID, secretColumns(p), a.log)
	if err != nil {
		return exitError{exitFailure, err}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return exitError{exitFailure, fmt.Errorf("listen on %s: %w", f.listen, err)}
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(a.stderr, "example app on http://%s (GET / public, GET /protected with a bearer token from %s); Ctrl+C stops it\n", ln.Addr(), issuer)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return exitError{exitFailure, fmt.Errorf("serve: %w", err)}
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	}
}

// exampleStore is the middleware's view of the plan's users table.
func exampleStore(tbl *authonly.Table, p *strategies.Plan) *middleware.SQLStore {
	email := p.Mapping.Email.Column
	if email == "" {
		email = "email"
	}
	return &middleware.SQLStore{DB: tbl.DB, Dialect: tbl.Dialect, Table: tbl.Name, Key: tbl.Key, IDColumn: tbl.Column, EmailColumn: email}
}

// exampleHandler is the example app: GET / public, GET /protected behind the middleware.
func exampleHandler(ctx context.Context, store *middleware.SQLStore, issuer, discovery, clientID string, secret []string, log *slog.Logger) (http.Handler, error) {
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
		writeAppJSON(w, map[string]any{"public": true, "message": "anyone can see this; GET /protected needs a bearer token"})
	})
	mux.Handle("GET /protected", m.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := middleware.UserFrom[middleware.Row](r.Context())
		id, _ := middleware.IdentityFrom(r.Context())
		writeAppJSON(w, exampleAnswer{Subject: id.Subject, User: withoutSecrets(u, secret)})
	})))
	return mux, nil
}

// secretColumns lists the columns the plan maps to password hashes and salts.
func secretColumns(p *strategies.Plan) []string {
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

// exampleAnswer is what GET /protected returns.
type exampleAnswer struct {
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

func writeAppJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
