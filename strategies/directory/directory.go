// Package directory is cutover's LDAP client: one connection type shared by the live
// LDAP source (paged searches, RFC 2696) and the lazy bridge's bind verifier (a password
// is right when the directory accepts a bind as the user). It wraps go-ldap.
//
// URLs are ldap:// (optionally upgraded with StartTLS) or ldaps://; every dial has a
// deadline and every operation stops when its context ends.
package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/cutover/cutover/strategies"
)

// DefaultPageSize is the number of entries asked per page when a search gives none.
// Directories cap pages themselves (Active Directory at 1,000, OpenLDAP at its sizelimit).
const DefaultPageSize = 500

// Config says how to reach and authenticate to a directory.
type Config struct {
	URL          string // ldap://host[:port] or ldaps://host[:port]
	StartTLS     bool   // upgrade an ldap:// connection with StartTLS before binding
	CAFile       string // PEM file of the CA to trust for TLS; the system roots when empty
	BindDN       string // the DN (or AD UPN) to bind as; anonymous when empty
	BindPassword string
	Timeout      time.Duration // dial and per-operation timeout; 10 s when zero
	// ServerName overrides the TLS server name (tests with a certificate for another name).
	ServerName string
}

// Conn is an open, bound connection to a directory.
type Conn struct {
	c   *ldap.Conn
	cfg Config
}

// Dial connects to the directory cfg names, upgrades it with StartTLS when asked, and
// binds with the configured DN and password. Errors are *strategies.Error with Code
// CodeSource saying what to fix (the URL, the certificate, the bind DN or password).
func Dial(ctx context.Context, cfg Config) (*Conn, error) {
	c, err := dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if cfg.BindDN != "" {
		if cfg.BindPassword == "" {
			c.Close()
			// An empty password is an unauthenticated bind, which directories accept as
			// anonymous: never send it on the user's behalf.
			return nil, &strategies.Error{Code: strategies.CodeSource, Field: "source.ldap.bind_password",
				Message: "is empty; a bind DN needs its password (an empty one would bind anonymously)"}
		}
		if err := bindCtx(ctx, c, cfg.BindDN, cfg.BindPassword); err != nil {
			c.Close()
			if isRefusal(err) {
				return nil, &strategies.Error{Code: strategies.CodeSource, Field: "source.ldap.bind_dn",
					Message: fmt.Sprintf("the directory refused the bind as %q; check bind_dn and the password it refers to", cfg.BindDN), Err: cleanErr(err)}
			}
			return nil, &strategies.Error{Code: strategies.CodeSource, Field: "source.ldap.url",
				Message: "bind failed", Err: cleanErr(err)}
		}
	}
	return &Conn{c: c, cfg: cfg}, nil
}

// dial opens the connection and upgrades it, without binding.
func dial(ctx context.Context, cfg Config) (*ldap.Conn, error) {
	u, err := CheckURL(cfg)
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	host := u.Host
	if u.Port() == "" {
		port := "389"
		if u.Scheme == "ldaps" {
			port = "636"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	var tlsConf *tls.Config
	if u.Scheme == "ldaps" || cfg.StartTLS {
		if tlsConf, err = tlsConfig(cfg, u.Hostname()); err != nil {
			return nil, err
		}
	}
	d := &net.Dialer{Timeout: timeout}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var nc net.Conn
	if u.Scheme == "ldaps" {
		nc, err = (&tls.Dialer{NetDialer: d, Config: tlsConf}).DialContext(dctx, "tcp", host)
	} else {
		nc, err = d.DialContext(dctx, "tcp", host)
	}
	if err != nil {
		return nil, &strategies.Error{Code: strategies.CodeSource, Field: "source.ldap.url",
			Message: fmt.Sprintf("cannot connect to %s; check the URL and that the directory is reachable", host), Err: err}
	}
	c := ldap.NewConn(nc, u.Scheme == "ldaps")
	c.SetTimeout(timeout)
	c.Start()
	if cfg.StartTLS {
		if err := c.StartTLS(tlsConf); err != nil {
			c.Close()
			return nil, &strategies.Error{Code: strategies.CodeSource, Field: "source.ldap.start_tls",
				Message: "StartTLS failed; check that the directory offers it and that its certificate is trusted (ca_file)", Err: cleanErr(err)}
		}
	}
	return c, nil
}

// CheckURL parses cfg.URL and checks it with cfg.StartTLS, without connecting.
func CheckURL(cfg Config) (*url.URL, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return nil, &strategies.Error{Code: strategies.CodePlan, Field: "source.ldap.url",
			Message: fmt.Sprintf("%q is not an ldap:// or ldaps:// URL with a host", cfg.URL)}
	}
	if u.Scheme == "ldaps" && cfg.StartTLS {
		return nil, &strategies.Error{Code: strategies.CodePlan, Field: "source.ldap.start_tls",
			Message: "an ldaps:// URL is already TLS; remove start_tls or use ldap://"}
	}
	return u, nil
}

func tlsConfig(cfg Config, host string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if cfg.ServerName != "" {
		tc.ServerName = cfg.ServerName
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, &strategies.Error{Code: strategies.CodePlan, File: cfg.CAFile, Field: "source.ldap.ca_file", Message: "cannot read the CA file", Err: err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &strategies.Error{Code: strategies.CodePlan, File: cfg.CAFile, Field: "source.ldap.ca_file", Message: "holds no PEM certificate"}
		}
		tc.RootCAs = pool
	}
	return tc, nil
}

// bindCtx binds, giving up (and closing the connection) when ctx ends first.
func bindCtx(ctx context.Context, c *ldap.Conn, dn, password string) error {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	err := c.Bind(dn, password)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

// Close closes the connection.
func (c *Conn) Close() error {
	return c.c.Close()
}

// Closing reports whether the connection is closed or closing (the server went away).
func (c *Conn) Closing() bool { return c.c.IsClosing() }

// Search is one search request.
type Search struct {
	BaseDN     string
	Filter     string   // "(objectClass=*)" when empty
	Attributes []string // all user attributes when empty
	PageSize   int      // DefaultPageSize when zero
	SizeLimit  int      // 0: no limit asked (the server's own applies)
}

// Each runs s with the paged results control (RFC 2696) and calls fn for every entry in
// the order the directory returns them. Only one page is held at a time, so memory stays
// flat however large the directory. It stops at the first error fn returns, and when
// ctx ends (the connection is then closed, as LDAP has no other way to stop a search).
func (c *Conn) Each(ctx context.Context, s Search, fn func(*ldap.Entry) error) error {
	filter := s.Filter
	if filter == "" {
		filter = "(objectClass=*)"
	}
	size := s.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	stop := context.AfterFunc(ctx, func() { c.c.Close() })
	defer stop()
	paging := ldap.NewControlPaging(uint32(size))
	req := ldap.NewSearchRequest(s.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, s.SizeLimit, 0, false,
		filter, s.Attributes, []ldap.Control{paging})
	for {
		res, err := c.c.Search(req)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			return searchErr(s, err)
		}
		for _, e := range res.Entries {
			if err := fn(e); err != nil {
				abandon(c.c, req, paging)
				return err
			}
		}
		next, _ := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if next == nil || len(next.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(next.Cookie)
	}
}

// abandon tells the server a paged search will not be continued (a zero-size page with
// the cookie), so it can free the search's state.
func abandon(c *ldap.Conn, req *ldap.SearchRequest, paging *ldap.ControlPaging) {
	paging.PagingSize = 0
	c.Search(req)
}

func searchErr(s Search, err error) error {
	var le *ldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case ldap.LDAPResultNoSuchObject:
			return &strategies.Error{Code: strategies.CodeSource, Field: "source.ldap.base_dn",
				Message: fmt.Sprintf("the directory has no entry %q; check base_dn", s.BaseDN), Err: cleanErr(err)}
		case ldap.LDAPResultFilterError:
			return &strategies.Error{Code: strategies.CodeSource, Field: "source.ldap.filter",
				Message: fmt.Sprintf("the directory refused the filter %q; write it as (attribute=value), e.g. (objectClass=inetOrgPerson)", s.Filter), Err: cleanErr(err)}
		case ldap.LDAPResultSizeLimitExceeded:
			return &strategies.Error{Code: strategies.CodeSource, Field: "source.ldap.page_size",
				Message: "the directory stopped the search at its size limit; lower page_size below the server's limit", Err: cleanErr(err)}
		case ldap.LDAPResultInsufficientAccessRights:
			return &strategies.Error{Code: strategies.CodeSource, Field: "source.ldap.bind_dn",
				Message: "the bind DN may not search here; bind as an account that can read the users", Err: cleanErr(err)}
		}
	}
	return &strategies.Error{Code: strategies.CodeSource, Field: "source.ldap", Message: "search failed", Err: cleanErr(err)}
}

// cleanErr drops go-ldap's packet dumps and keeps the result code and server message.
func cleanErr(err error) error {
	var le *ldap.Error
	if errors.As(err, &le) {
		msg := ldap.LDAPResultCodeMap[le.ResultCode]
		if le.Err != nil {
			if s := strings.TrimSpace(le.Err.Error()); s != "" {
				msg += ": " + s
			}
		}
		return fmt.Errorf("LDAP result %d, %s", le.ResultCode, strings.ToLower(msg[:1])+msg[1:])
	}
	return err
}

// isRefusal reports whether a bind error is the directory saying no to these
// credentials (or to this account), as opposed to the directory being unreachable or
// broken. Refusals are answers; everything else is an error worth retrying.
func isRefusal(err error) bool {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return false
	}
	switch le.ResultCode {
	case ldap.LDAPResultInvalidCredentials, // wrong password, unknown user; AD's locked/disabled/expired (data 52e, 530-533, 701, 773, 775)
		ldap.LDAPResultInvalidDNSyntax,             // the login made no valid DN
		ldap.LDAPResultNoSuchObject,                // some servers say so for an unknown DN
		ldap.LDAPResultInappropriateAuthentication, // the account has no password
		ldap.LDAPResultUnwillingToPerform,          // disabled accounts (389-DS, AD when policy forbids)
		ldap.LDAPResultConstraintViolation,         // 389-DS: lockout after retries
		ldap.LDAPResultInsufficientAccessRights:    // an ACL forbids this account's auth
		return true
	}
	// Not refusals: strongAuthRequired and confidentialityRequired (the server wants TLS
	// for every simple bind) are configuration to fix, and must not read as wrong passwords.
	return false
}
