// Package mockidptest starts the bundled mock IdP on a loopback port for a test, the way
// net/http/httptest starts HTTP servers: real HTTP, closed when the test ends.
package mockidptest

import (
	"net"
	"testing"

	"github.com/cutover/cutover/mockidp"
)

// Start builds a mock IdP from cfg, serves it on a free 127.0.0.1 port and closes it in
// t.Cleanup. Tests that start many usually set cfg.AdminKey and cfg.SigningKey to keys
// made once (RSA generation is slow under -race) and a low cfg.BcryptCost.
func Start(t testing.TB, cfg mockidp.Config) *mockidp.Server {
	t.Helper()
	s, err := mockidp.New(cfg)
	if err != nil {
		t.Fatalf("mock IdP: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mock IdP: listen: %v", err)
	}
	if err := s.Start(ln); err != nil {
		t.Fatalf("mock IdP: start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}
