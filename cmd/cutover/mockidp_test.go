package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cutover/cutover/mockidp"
	"github.com/cutover/cutover/mockidp/mockidptest"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine and the test to share.
type syncBuffer = mockidptest.SyncBuffer

// startMockIDPCmd runs `cutover mockidp` until the test ends and returns its key info.
// It returns once the banner is printed: the key file is written before the
// banner, so waiting for the file alone races with the banner's write.
func startMockIDPCmd(t *testing.T, extra ...string) (mockidp.AdminKeyInfo, *syncBuffer, func() int) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	args := append([]string{"mockidp", "--addr", "127.0.0.1:0", "--admin-key-out", dir}, extra...)
	go func() { done <- run(ctx, args, strings.NewReader(""), &stdout, &stderr) }()
	stop := func() int {
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(10 * time.Second):
			t.Fatal("mockidp did not stop within 10s of the signal")
			return -1
		}
	}
	t.Cleanup(func() { cancel() })
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		var ki mockidp.AdminKeyInfo
		if data, err := os.ReadFile(filepath.Join(dir, mockidp.AdminKeyJSONFile)); err == nil && json.Unmarshal(data, &ki) == nil && ki.Issuer != "" &&
			strings.Contains(stderr.String(), "Press Ctrl+C to stop.") {
			return ki, &stderr, stop
		}
		select {
		case code := <-done:
			t.Fatalf("mockidp exited with %d: %s", code, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("mockidp did not write admin-key.json with an issuer and print its banner within 30s: %s", stderr.String())
	return mockidp.AdminKeyInfo{}, nil, nil
}

func TestMockIDPCommand(t *testing.T) {
	ki, stderr, stop := startMockIDPCmd(t, "--project", "acme")
	if ki.Project != "acme" || ki.ClientID != "cutover" || ki.KeyID == "" || !strings.HasPrefix(ki.Issuer, "http://127.0.0.1:") {
		t.Fatalf("admin-key.json: got %+v, want project acme, client cutover, a key id and a loopback issuer", ki)
	}
	banner := stderr.String()
	for _, want := range []string{ki.Issuer, "admin-key.pem", "acme", ki.KeyID, "cutover (public"} {
		if !strings.Contains(banner, want) {
			t.Errorf("banner: got %q, want it to mention %q", banner, want)
		}
	}
	if code := stop(); code != exitOK {
		t.Fatalf("exit after the signal: got %d, want 0 (%s)", code, stderr.String())
	}
}

func TestMockIDPCommandUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"bad profile", []string{"mockidp", "--profile", "auth0"}, "--profile"},
		{"secret env unset", []string{"mockidp", "--lazy-hook", "http://127.0.0.1:1/v", "--lazy-secret-env", "CUTOVER_TEST_UNSET_SECRET"}, "CUTOVER_TEST_UNSET_SECRET"},
		{"secret without hook", []string{"mockidp", "--lazy-secret-env", "HOME"}, "--lazy-hook"},
		{"bad fault rate", []string{"mockidp", "--fault-error-rate", "2"}, "error rate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("got exit %d %q, want %d mentioning %q", code, stderr, exitUsage, tc.want)
			}
		})
	}
}
