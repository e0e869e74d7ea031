package mockidp

import (
	"context"
	"errors"
	"fmt"
	"net"

	"golang.org/x/oauth2"

	"github.com/cutover/cutover/strategies"
	"github.com/cutover/cutover/strategies/signin"
)

// Local is a mock IdP serving on a loopback port for a run or a rehearsal on this
// machine. It signs users in the way a rehearsal needs: SignIn is the password grant
// with the ID token verified (a strategies.SignIner), SignInWithCode the one-time code
// of a user imported without a password.
type Local struct {
	*Server
	*signin.PasswordGrant
	Info Info // issuer, project, admin key: what a client of the import API needs
}

var _ strategies.SignIner = (*Local)(nil)

// StartLocal builds a mock IdP from cfg and serves it on a free 127.0.0.1 port. Close
// stops it. It is the one place cutover starts the bundled IdP in-process.
func StartLocal(cfg Config) (*Local, error) {
	s, _, err := Listen(cfg, "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start the mock IdP: %w", err)
	}
	info := s.Config()
	return &Local{Server: s, Info: info, PasswordGrant: &signin.PasswordGrant{Issuer: info.Issuer, ClientID: ClientID}}, nil
}

// Listen builds a mock IdP from cfg and serves it on addr ("127.0.0.1:0" picks a free
// port), returning the server and its listener. When the address cannot be listened
// on the error is a *ListenError; other errors come from cfg.
func Listen(cfg Config, addr string) (*Server, net.Listener, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		s.Close()
		return nil, nil, &ListenError{Addr: addr, Err: err}
	}
	if err := s.Start(ln); err != nil {
		s.Close()
		return nil, nil, err
	}
	return s, ln, nil
}

// ListenError is a mock IdP that could not listen on its address.
type ListenError struct {
	Addr string
	Err  error
}

func (e *ListenError) Error() string {
	return fmt.Sprintf("mockidp: listen on %s: %v (is another server using the port? try --addr 127.0.0.1:0)", e.Addr, e.Err)
}

func (e *ListenError) Unwrap() error { return e.Err }

// SignInWithCode signs in a user imported without a password, as they would at the IdP:
// with a one-time code (issued here, in-process, as the mock-only admin endpoint would)
// exchanged through the password grant. It returns the access token; the code is never
// logged or returned.
func (l *Local) SignInWithCode(ctx context.Context, userID, login string) (string, error) {
	if _, err := l.store.byID(ctx, userID); err != nil {
		return "", fmt.Errorf("one-time code: no user %s at the mock IdP", userID)
	}
	tok, _, err := l.Token(ctx, login, l.issueOTP(userID).Code)
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &re):
		return "", fmt.Errorf("sign in with a one-time code: %s", signin.Reason(re))
	case err != nil:
		return "", fmt.Errorf("sign in with a one-time code: %w", err)
	}
	return tok.AccessToken, nil
}
