package conformance

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"os"
	"testing"
	"time"
)

// corpusFile is the recorded corpus, relative to this package.
const corpusFile = "testdata/authgear.json"

// TestRecord sends the corpus to a real Authgear and writes the answers to
// testdata/authgear.json. It runs only when CONFORMANCE_AUTHGEAR is set (see the
// package doc for the command).
func TestRecord(t *testing.T) {
	base := os.Getenv("CONFORMANCE_AUTHGEAR")
	if base == "" {
		t.Skip("set CONFORMANCE_AUTHGEAR (and CONFORMANCE_SECRETS, CONFORMANCE_APP_ID, CONFORMANCE_COMMIT) to record against a real Authgear")
	}
	for _, v := range []string{"CONFORMANCE_SECRETS", "CONFORMANCE_APP_ID", "CONFORMANCE_COMMIT"} {
		if os.Getenv(v) == "" {
			t.Fatalf("%s is not set", v)
		}
	}
	kid, key, err := KeyFromSecrets(os.Getenv("CONFORMANCE_SECRETS"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	target := &Target{BaseURL: base, Project: os.Getenv("CONFORMANCE_APP_ID"), KeyID: kid, Key: key, OtherKey: other,
		JobTimeout: 5 * time.Minute}
	nonce := make([]byte, 4)
	_, _ = rand.Read(nonce)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	got, err := Run(ctx, target, Cases(), "r"+hex.EncodeToString(nonce))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range got {
		if c.Err != "" {
			t.Errorf("%s: %s", c.Name, c.Err)
		}
	}
	corpus := &Corpus{
		Authgear: os.Getenv("CONFORMANCE_COMMIT"),
		Recorded: time.Now().UTC().Format("2006-01-02"),
		Note:     "Admin API with JWT auth (ADMIN_API_AUTH unset); authgear init --purpose project, search none",
		Cases:    got,
	}
	if err := corpus.Save(corpusFile); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d cases into %s", len(got), corpusFile)
}
