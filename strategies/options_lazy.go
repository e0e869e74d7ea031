package strategies

import (
	"strings"
	"time"
)

// Lazy bridge dialects.
const (
	DialectAuthproject = "authproject"
	DialectKeycloak    = "keycloak"
	DialectKratos      = "kratos"
	DialectFusionAuth  = "fusionauth"
)

// LazyOptions are the plan's `lazy:` options for `cutover bridge`, `status` and `sweep`.
type LazyOptions struct {
	Listen   string   `yaml:"listen,omitempty"`    // host:port (default 127.0.0.1:8788)
	Dialect  string   `yaml:"dialect,omitempty"`   // authproject (default) | keycloak | kratos | fusionauth
	Secret   string   `yaml:"secret,omitempty"`    // ${ENV} reference to the shared secret
	NoAuth   bool     `yaml:"no_auth,omitempty"`   // explicitly accept unauthenticated callers
	UserInfo []string `yaml:"user_info,omitempty"` // canonical fields returned as user_info (default: all mapped profile fields)
	TLSCert  string   `yaml:"tls_cert,omitempty"`
	TLSKey   string   `yaml:"tls_key,omitempty"`
	// RateLimit bounds failed attempts per identifier and requests per client per minute.
	RateLimit RateLimit `yaml:"rate_limit,omitempty"`
	// Store is where successful verifications are recorded (default .cutover/lazy.db, SQLite).
	Store string `yaml:"store,omitempty"`
	// StoreTable, when set, keeps the tracking store and the per-user failure counters in
	// the legacy database (Postgres or MySQL/MariaDB source) in tables named STORE_TABLE
	// and STORE_TABLE_attempts, so several bridge replicas share them; empty keeps them in
	// the SQLite file lazy.store.
	StoreTable string `yaml:"store_table,omitempty"`
	// Login names the identifier fields a sign-in is looked up in: email and/or
	// preferred_username (default: whichever the mapping maps). The legacy id is never one.
	Login []string `yaml:"login,omitempty"`
	// CallerTimeout is how long the IdP waits for the bridge's answer (a Go duration,
	// default 5s): a verification that cannot start in time is answered "retry" at once.
	CallerTimeout string `yaml:"caller_timeout,omitempty"`
	// Delegate forwards credentials to the legacy app's login endpoint instead of verifying hashes.
	Delegate *Delegate `yaml:"delegate,omitempty"`
	// Bind verifies passwords by an LDAP bind as the user (options_ldap.go).
	Bind *LDAPBind `yaml:"bind,omitempty"`
}

// RateLimit holds per-minute limits; zero means the default.
type RateLimit struct {
	PerIdentifier int `yaml:"per_identifier,omitempty"` // failed attempts per email per minute (default 10)
	PerClient     int `yaml:"per_client,omitempty"`     // requests per client address per minute (default 600)
}

// Delegate describes the legacy app's own login endpoint.
type Delegate struct {
	URL           string `yaml:"url"`
	Encoding      string `yaml:"encoding,omitempty"`       // form (default) | json
	EmailField    string `yaml:"email_field,omitempty"`    // default "email"
	PasswordField string `yaml:"password_field,omitempty"` // default "password"
	SuccessStatus int    `yaml:"success_status,omitempty"` // default 200
	SuccessField  string `yaml:"success_field,omitempty"`  // optional JSON field that must be true
}

func (o *LazyOptions) validate(bad badFunc) error {
	if o.Dialect != "" {
		if err := oneOf(bad, "lazy.dialect", o.Dialect, DialectAuthproject, DialectKeycloak, DialectKratos, DialectFusionAuth); err != nil {
			return err
		}
	}
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return bad("lazy.tls_cert", "give both tls_cert and tls_key, or neither")
	}
	for _, l := range o.Login {
		if err := oneOf(bad, "lazy.login", l, "email", "preferred_username"); err != nil {
			return err
		}
	}
	if o.CallerTimeout != "" {
		if d, err := time.ParseDuration(o.CallerTimeout); err != nil || d <= 0 {
			return bad("lazy.caller_timeout", "%q is not a positive duration; write e.g. 5s", o.CallerTimeout)
		}
	}
	if o.StoreTable != "" && strings.ContainsAny(o.StoreTable, "\x00") {
		return bad("lazy.store_table", "holds a NUL byte; give a table name")
	}
	if o.Delegate != nil && o.Delegate.URL == "" {
		return bad("lazy.delegate.url", "missing; give the legacy app's login endpoint")
	}
	if o.Delegate != nil && o.Delegate.Encoding != "" && o.Delegate.Encoding != "form" && o.Delegate.Encoding != "json" {
		return bad("lazy.delegate.encoding", "%q is not one of form, json", o.Delegate.Encoding)
	}
	return nil
}
