package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	docker "github.com/ory/dockertest/v3/docker"
)

// KratosVersion is the Ory Kratos release the e2e suite runs, built from the Go module
// proxy (no registry): the version the kratos target was written and recorded against.
const KratosVersion = "v1.3.1"

// Kratos's ports inside the container.
const (
	KratosPublicPort = "4433/tcp"
	KratosAdminPort  = "4434/tcp"
)

// kratosRecipeVersion is part of the Kratos image tag: bump it when the build or the
// files packed change.
const kratosRecipeVersion = "1"

// KratosOptions say what the Kratos image carries.
type KratosOptions struct {
	Options
	// Schema is the identity schema (id "user", the default); nil means a schema with an
	// email password identifier and a name.
	Schema []byte
}

// Kratos returns an image running Ory Kratos KratosVersion FROM scratch: a static
// (CGO_ENABLED=0) binary built from the Go module proxy, a shell for the entrypoint,
// the configuration and identity schema. It is cached by a tag derived from the
// version, the Go toolchain, the recipe, the configuration and the schema.
//
// The container reads DSN (a postgres:// URL; the static build has no SQLite) and
// runs the SQL migrations before serving. Every Kratos setting can be overridden by
// environment, e.g. SERVE_PUBLIC_BASE_URL, or the password-migration hook with
// SELFSERVICE_METHODS_PASSWORD_CONFIG_MIGRATE_HOOK_ENABLED=true and
// SELFSERVICE_METHODS_PASSWORD_CONFIG_MIGRATE_HOOK_CONFIG_URL.
func Kratos(ctx context.Context, c *docker.Client, opts KratosOptions) (Image, error) {
	start := time.Now()
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	schema := opts.Schema
	if schema == nil {
		schema = []byte(defaultKratosSchema)
	}
	if !json.Valid(schema) {
		return Image{}, errors.New("kratos image: the identity schema is not valid JSON")
	}
	sum := sha256.Sum256([]byte(KratosVersion + "\n" + runtime.Version() + "\n" + kratosRecipeVersion + "\n" + kratosConfig + kratosEntrypoint + string(schema)))
	ref := "cutover-e2e/kratos:" + KratosVersion + "-r" + kratosRecipeVersion + "-" + hex.EncodeToString(sum[:4])
	img := Image{Ref: ref, Flavour: Packed, User: "65534:65534", Entrypoint: []string{"/usr/local/bin/cutover-e2e-kratos"}, Port: KratosPublicPort}
	if !opts.Rebuild {
		if _, err := c.InspectImage(ref); err == nil {
			img.Took = time.Since(start)
			log.Info("using the cached kratos image", "image", ref)
			return img, nil
		} else if !errors.Is(err, docker.ErrNoSuchImage) {
			return Image{}, fmt.Errorf("inspect image %s: %w", ref, err)
		}
	}
	work, err := os.MkdirTemp("", "cutover-kratos-build-")
	if err != nil {
		return Image{}, err
	}
	defer os.RemoveAll(work)
	log.Info("building kratos from the Go module proxy (a few minutes)", "version", KratosVersion)
	bin, err := buildKratos(ctx, work)
	if err != nil {
		return Image{}, err
	}
	r := recipe{
		name:  "kratos",
		elves: []string{dash},
		files: []genFile{
			{path: "/usr/local/bin/kratos", mode: 0o755, content: func() ([]byte, error) { return os.ReadFile(bin) }},
			{path: "/etc/kratos/kratos.yml", mode: 0o644, content: text(kratosConfig)},
			{path: "/etc/kratos/identity.schema.json", mode: 0o644, content: func() ([]byte, error) { return schema, nil }},
			{path: "/usr/local/bin/cutover-e2e-kratos", mode: 0o755, content: text(kratosEntrypoint)},
			{path: "/etc/passwd", mode: 0o644, content: text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/sh\n")},
			{path: "/etc/group", mode: 0o644, content: text("root:x:0:\nnogroup:x:65534:\n")},
		},
		dirs: []genDir{{path: "/tmp", mode: 0o1777}},
	}
	if err := importImage(ctx, c, r, ref); err != nil {
		return Image{}, err
	}
	img.Built = true
	img.Took = time.Since(start)
	log.Info("kratos image imported", "image", ref, "took", img.Took.Round(time.Millisecond))
	return img, nil
}

// buildKratos builds a static Kratos from the module proxy in work and returns the
// binary's path. The module is copied out of the read-only module cache first; its
// replace of ./internal/client-go (absent from the module zip) only matters to
// Kratos's own tests.
func buildKratos(ctx context.Context, work string) (string, error) {
	var out bytes.Buffer
	dl := exec.CommandContext(ctx, "go", "mod", "download", "-json", "github.com/ory/kratos@"+KratosVersion)
	dl.Dir = work
	dl.Stdout, dl.Stderr = &out, &out
	if err := dl.Run(); err != nil {
		return "", fmt.Errorf("download kratos %s from the module proxy: %v: %s", KratosVersion, err, lastLines(out.String()))
	}
	var mod struct{ Dir, Error string }
	if err := json.Unmarshal(out.Bytes(), &mod); err != nil || mod.Dir == "" {
		return "", fmt.Errorf("download kratos %s: no module directory in the answer (%s)", KratosVersion, mod.Error)
	}
	src := filepath.Join(work, "src")
	if err := os.CopyFS(src, os.DirFS(mod.Dir)); err != nil {
		return "", fmt.Errorf("copy the kratos module: %w", err)
	}
	bin := filepath.Join(work, "kratos")
	build := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w -X github.com/ory/kratos/driver/config.Version="+KratosVersion, "-o", bin, ".")
	build.Dir = src
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-buildvcs=false")
	out.Reset()
	build.Stdout, build.Stderr = &out, &out
	if err := build.Run(); err != nil {
		return "", fmt.Errorf("build kratos %s: %v: %s", KratosVersion, err, lastLines(out.String()))
	}
	return bin, nil
}

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}

// kratosEntrypoint migrates the database, then serves. --dev allows the plain-http
// base URLs a test uses; --watch-courier=false because no mail is ever sent.
const kratosEntrypoint = `#!/bin/sh
set -e
if [ -z "$DSN" ]; then
  echo "cutover-e2e-kratos: set DSN (postgres://...)" >&2
  exit 2
fi
/usr/local/bin/kratos migrate sql -e --yes -c /etc/kratos/kratos.yml
exec /usr/local/bin/kratos serve -c /etc/kratos/kratos.yml --dev --watch-courier=false "$@"
`

// kratosConfig mirrors strategies/idp/kratos/testdata/kratos.yml with both APIs on all
// interfaces of the container (the test publishes them on loopback ports).
const kratosConfig = `version: v1.3.1
serve:
  public:
    base_url: http://127.0.0.1:4433/
    host: 0.0.0.0
    port: 4433
  admin:
    base_url: http://127.0.0.1:4434/
    host: 0.0.0.0
    port: 4434
selfservice:
  default_browser_return_url: http://127.0.0.1:4455/
  methods:
    password:
      enabled: true
  flows:
    error:
      ui_url: http://127.0.0.1:4455/error
    login:
      ui_url: http://127.0.0.1:4455/login
    registration:
      ui_url: http://127.0.0.1:4455/registration
    settings:
      ui_url: http://127.0.0.1:4455/settings
    recovery:
      ui_url: http://127.0.0.1:4455/recovery
    verification:
      ui_url: http://127.0.0.1:4455/verification
log:
  level: info
  format: json
  leak_sensitive_values: false
secrets:
  cookie:
    - cutover-e2e-cookie-secret-0123456789
  cipher:
    - 32-LONG-SECRET-NOT-SECURE-AT-ALL
identity:
  default_schema_id: user
  schemas:
    - id: user
      url: file:///etc/kratos/identity.schema.json
courier:
  smtp:
    connection_uri: smtps://test:test@127.0.0.1:1025/?skip_ssl_verify=true
`

const defaultKratosSchema = `{
  "$id": "https://cutover.dev/schemas/user.schema.json",
  "$schema": "http://json-schema.org/draft-07/schema#",
  "type": "object",
  "properties": {
    "traits": {
      "type": "object",
      "properties": {
        "email": {"type": "string", "format": "email", "ory.sh/kratos": {"credentials": {"password": {"identifier": true}}}},
        "name": {"type": "string"}
      },
      "required": ["email"],
      "additionalProperties": false
    }
  }
}
`
