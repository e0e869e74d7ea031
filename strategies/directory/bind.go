package directory

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/cutover/cutover/strategies"
)

// LoginPlaceholder is where a bind template puts the login the user typed.
const LoginPlaceholder = "{login}"

// BindVerifier checks a password by binding to the directory as the user: the way to
// verify passwords a directory never lets anyone read (Active Directory's unicodePwd),
// or hashes in a scheme cutover cannot check. The user's bind name is formed from the
// login by a template: a DN ("uid={login},ou=people,dc=example,dc=org", the login
// DN-escaped), a UPN ("{login}@corp.example.com") or a down-level name ("CORP\{login}").
type BindVerifier struct {
	cfg      Config // URL and TLS; BindDN is not used
	template string
	isDN     bool
}

// NewBindVerifier returns a verifier binding at the directory cfg reaches (its BindDN
// and password are ignored) with bind names made from template, which must hold
// LoginPlaceholder once.
func NewBindVerifier(cfg Config, template string) (*BindVerifier, error) {
	if strings.Count(template, LoginPlaceholder) != 1 {
		return nil, &strategies.Error{Code: strategies.CodePlan, Field: "lazy.bind.user",
			Message: fmt.Sprintf("%q must hold %s once, e.g. uid={login},ou=people,dc=example,dc=org or {login}@corp.example.com", template, LoginPlaceholder)}
	}
	// Only the URL is checked: the bridge may start before the directory is reachable.
	if _, err := CheckURL(cfg); err != nil {
		var se *strategies.Error
		if errors.As(err, &se) {
			se.Field = strings.Replace(se.Field, "source.ldap.", "lazy.bind.", 1)
		}
		return nil, err
	}
	cfg.BindDN, cfg.BindPassword = "", ""
	v := &BindVerifier{cfg: cfg, template: template}
	if _, err := ldap.ParseDN(strings.Replace(template, LoginPlaceholder, "x", 1)); err == nil && strings.Contains(template, "=") {
		v.isDN = true
	}
	return v, nil
}

// BindName returns the name the verifier binds as for login: the template filled in,
// the login DN-escaped when the template is a DN (so a login cannot add RDNs).
func (v *BindVerifier) BindName(login string) string {
	if v.isDN {
		login = ldap.EscapeDN(login)
	}
	return strings.Replace(v.template, LoginPlaceholder, login, 1)
}

// Verify binds as the user login with password. ok is true when the directory accepts
// the bind. A refused bind, whatever the reason (wrong password, unknown user, account
// locked, disabled or expired: AD's data codes 52e, 525, 530, 531, 532, 533, 701, 773,
// 775), is false with no error, so the IdP does not retry it. err is set only when the
// directory could not answer (unreachable, TLS failure, timeout, a server error).
//
// An empty password is false without asking: LDAP treats a bind with a name and no
// password as anonymous and would accept it.
func (v *BindVerifier) Verify(ctx context.Context, login, password string) (ok bool, err error) {
	ok, _, err = v.VerifyReason(ctx, login, password)
	return ok, err
}

// Refusal reasons VerifyReason reports, for audit logs only: the IdP must get the same
// answer for all of them, or it would learn which accounts exist.
const (
	RefusedCredentials = "invalid_credentials"  // wrong password or unknown user (LDAP cannot tell them apart)
	RefusedLocked      = "locked"               // AD 775
	RefusedDisabled    = "disabled"             // AD 533
	RefusedExpired     = "expired"              // AD 532 (password), 701 (account)
	RefusedMustChange  = "must_change_password" // AD 773
	RefusedRestricted  = "restricted"           // AD 530 (logon hours), 531 (workstation)
	RefusedOther       = "refused"              // any other refusal
)

// VerifyReason is Verify with the reason of a refusal, read from Active Directory's
// diagnostic "data" code where there is one.
func (v *BindVerifier) VerifyReason(ctx context.Context, login, password string) (ok bool, reason string, err error) {
	login = strings.TrimSpace(login)
	if login == "" || password == "" || strings.ContainsAny(login, "\x00") {
		return false, RefusedCredentials, nil
	}
	if !v.isDN && strings.ContainsAny(login, "\\=,*()") {
		// In a UPN or down-level name these would name another account or a search pattern.
		return false, RefusedCredentials, nil
	}
	cfg := v.cfg
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	c, err := dial(ctx, cfg)
	if err != nil {
		return false, "", fmt.Errorf("bind as the user: %w", err)
	}
	defer c.Close()
	err = bindCtx(ctx, c, v.BindName(login), password)
	switch {
	case err == nil:
		return true, "", nil
	case ctx.Err() != nil:
		return false, "", ctx.Err()
	case isRefusal(err):
		return false, refusalReason(err), nil
	}
	// The message may echo the bind name but never the password.
	return false, "", fmt.Errorf("bind as the user at %s: %w", v.cfg.URL, cleanErr(err))
}

// adData finds Active Directory's sub-code in a bind error's diagnostic message:
// "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data 775, v2580".
var adData = regexp.MustCompile(`\bdata ([0-9a-fA-F]{3}),`)

func refusalReason(err error) string {
	var le *ldap.Error
	if !errors.As(err, &le) {
		return RefusedOther
	}
	if le.ResultCode != ldap.LDAPResultInvalidCredentials {
		return RefusedOther
	}
	if le.Err == nil {
		return RefusedCredentials
	}
	m := adData.FindStringSubmatch(le.Err.Error())
	if m == nil {
		return RefusedCredentials
	}
	switch strings.ToLower(m[1]) {
	case "775":
		return RefusedLocked
	case "533":
		return RefusedDisabled
	case "532", "701":
		return RefusedExpired
	case "773":
		return RefusedMustChange
	case "530", "531":
		return RefusedRestricted
	}
	return RefusedCredentials // 52e wrong password, 525 no such user
}

// BindVerifierFor builds the verifier a plan's lazy.bind describes. The directory's URL,
// StartTLS and CA file default to the ldap source's; ${VAR} references are expanded and
// a relative ca_file is resolved against the plan's directory.
func BindVerifierFor(p *strategies.Plan) (*BindVerifier, error) {
	b := p.Lazy.Bind
	if b == nil {
		return nil, &strategies.Error{Code: strategies.CodePlan, File: p.File, Field: "lazy.bind", Message: "missing; say how a login becomes the user's bind name"}
	}
	var cfg Config
	if src := p.Source.LDAP; src != nil {
		cfg = Config{URL: src.URL, StartTLS: src.StartTLS, CAFile: src.CAFile}
	}
	if b.URL != "" {
		cfg = Config{URL: b.URL, StartTLS: b.StartTLS, CAFile: b.CAFile}
	}
	u, err := strategies.Expand("lazy.bind.url", cfg.URL)
	if err != nil {
		return nil, err
	}
	cfg.URL = u
	if cfg.CAFile != "" {
		if cfg.CAFile, err = p.Resolve("lazy.bind.ca_file", cfg.CAFile); err != nil {
			return nil, err
		}
	}
	tmpl, err := strategies.Expand("lazy.bind.user", b.User)
	if err != nil {
		return nil, err
	}
	return NewBindVerifier(cfg, tmpl)
}
