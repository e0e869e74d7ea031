// Package images provides the database images the e2e suite runs: the official postgres
// and mariadb images when the Docker engine already has them, and otherwise equivalent
// images packed from the host's own Debian packages and imported with `docker import`,
// so the suite needs no registry. Packed images are cached by a tag derived from the
// package versions and the packing recipe.
package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	docker "github.com/ory/dockertest/v3/docker"
)

// Flavour says where an image came from.
type Flavour string

// The two flavours of database image.
const (
	Official Flavour = "official" // pulled by the user (postgres:15, mariadb:11) or named by an override
	Packed   Flavour = "packed"   // packed from the host's Debian packages by this package
)

// Image is a database image that is present in the engine, with what it takes to start it.
// Both flavours read the same environment as the official images (POSTGRES_PASSWORD,
// MARIADB_ROOT_PASSWORD) and listen on the official port, so callers treat them alike.
type Image struct {
	Ref        string        // name:tag to create containers from
	Flavour    Flavour       // official or packed
	User       string        // numeric user to run as; empty for the image default
	Entrypoint []string      // entrypoint override; nil for the image default
	Port       string        // the server's port inside the container, e.g. "5432/tcp"
	Built      bool          // true when this call built the image (a cache miss)
	Took       time.Duration // time spent finding or building the image
}

// Options tune how images are found or built.
type Options struct {
	// Log receives progress (a build takes a few seconds); nil discards it.
	Log *slog.Logger
	// ForcePacked ignores official images present locally and uses (or builds) the packed
	// image, so the fallback path can be exercised on a machine that has both.
	ForcePacked bool
	// Rebuild builds the packed image even when its tag is cached.
	Rebuild bool
}

// Environment variables that override the image choice.
const (
	// EnvPostgresImage names a postgres image to use instead of postgres:15 (it must
	// behave like the official image: POSTGRES_PASSWORD, port 5432).
	EnvPostgresImage = "CUTOVER_E2E_POSTGRES_IMAGE"
	// EnvMariaDBImage names a mariadb image to use instead of mariadb:11 (it must behave
	// like the official image: MARIADB_ROOT_PASSWORD, port 3306).
	EnvMariaDBImage = "CUTOVER_E2E_MARIADB_IMAGE"
	// EnvForcePacked set to 1 or true behaves as Options.ForcePacked.
	EnvForcePacked = "CUTOVER_E2E_PACKED"
)

// Postgres returns a PostgreSQL 15 image: $CUTOVER_E2E_POSTGRES_IMAGE or postgres:15 when
// present in the engine, otherwise the packed image, built on a cache miss.
func Postgres(ctx context.Context, c *docker.Client, opts Options) (Image, error) {
	return ensure(ctx, c, opts, postgresRecipe(), officialChoice{env: EnvPostgresImage, ref: "postgres:15", port: "5432/tcp"})
}

// MariaDB returns a MariaDB image: $CUTOVER_E2E_MARIADB_IMAGE or mariadb:11 when present in
// the engine, otherwise the packed image, built on a cache miss.
func MariaDB(ctx context.Context, c *docker.Client, opts Options) (Image, error) {
	return ensure(ctx, c, opts, mariadbRecipe(), officialChoice{env: EnvMariaDBImage, ref: "mariadb:11", port: "3306/tcp"})
}

type officialChoice struct {
	env  string // override variable
	ref  string // the official image
	port string
}

func ensure(ctx context.Context, c *docker.Client, opts Options, r recipe, off officialChoice) (Image, error) {
	start := time.Now()
	log := opts.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	forcePacked := opts.ForcePacked || truthy(os.Getenv(EnvForcePacked))
	if ref := os.Getenv(off.env); ref != "" {
		if _, err := c.InspectImage(ref); err != nil {
			return Image{}, fmt.Errorf("find %s image %q named by %s: %w (pull or load it first, or unset %s)", r.name, ref, off.env, err, off.env)
		}
		return Image{Ref: ref, Flavour: Official, Port: off.port, Took: time.Since(start)}, nil
	}
	if !forcePacked {
		if _, err := c.InspectImage(off.ref); err == nil {
			log.Info("using the official image", "image", off.ref)
			return Image{Ref: off.ref, Flavour: Official, Port: off.port, Took: time.Since(start)}, nil
		} else if !errors.Is(err, docker.ErrNoSuchImage) {
			return Image{}, fmt.Errorf("inspect image %s: %w", off.ref, err)
		}
	}
	tag, err := r.tag(ctx)
	if err != nil {
		return Image{}, err
	}
	ref := r.repo + ":" + tag
	img := Image{Ref: ref, Flavour: Packed, User: r.user, Entrypoint: []string{r.entrypoint}, Port: off.port}
	if !opts.Rebuild {
		if _, err := c.InspectImage(ref); err == nil {
			img.Took = time.Since(start)
			log.Info("using the cached packed image", "image", ref)
			return img, nil
		}
	}
	log.Info("packing an image from the host's Debian packages", "image", ref, "packages", strings.Join(r.packages, ","))
	if err := importImage(ctx, c, r, ref); err != nil {
		return Image{}, err
	}
	img.Built = true
	img.Took = time.Since(start)
	log.Info("packed image imported", "image", ref, "took", img.Took.Round(time.Millisecond))
	return img, nil
}

// importImage streams the packed root filesystem straight into `docker import`.
func importImage(ctx context.Context, c *docker.Client, r recipe, ref string) error {
	repo, tag, _ := strings.Cut(ref, ":")
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := r.pack(ctx, pw)
		pw.CloseWithError(err)
		done <- err
	}()
	err := c.ImportImage(docker.ImportImageOptions{
		Repository:   repo,
		Tag:          tag,
		Source:       "-",
		InputStream:  pr,
		OutputStream: io.Discard,
		Context:      ctx,
	})
	pr.CloseWithError(errors.New("import finished"))
	if perr := <-done; perr != nil {
		return fmt.Errorf("pack %s image: %w", r.name, perr)
	}
	if err != nil {
		return fmt.Errorf("import %s image as %s: %w", r.name, ref, err)
	}
	return nil
}

// packageVersion asks dpkg for an installed package's version.
func packageVersion(ctx context.Context, pkg string) (string, error) {
	out, err := exec.CommandContext(ctx, "dpkg-query", "-W", "-f=${Version}", pkg).Output()
	if err != nil || len(out) == 0 {
		return "", fmt.Errorf("find the installed version of Debian package %s: %v (install it with 'apt-get install %s', or pull the official image)", pkg, errText(err), pkg)
	}
	return string(out), nil
}

func errText(err error) string {
	if err == nil {
		return "not installed"
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && len(ee.Stderr) > 0 {
		return strings.TrimSpace(string(ee.Stderr))
	}
	return err.Error()
}

func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}
