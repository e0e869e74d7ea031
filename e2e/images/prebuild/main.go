// Command prebuild makes sure the e2e suite's database images are in the Docker engine
// (and the Ory Kratos image, built from the module proxy) before the tests run, so CI can
// build them in a step of its own (the suite builds them
// itself when they are missing). It prints one line per image: ref, flavour, built or
// cached, and the time taken.
//
//	go run ./e2e/images/prebuild            # official images if present, else packed
//	go run ./e2e/images/prebuild -packed    # always the packed images
//	go run ./e2e/images/prebuild -rebuild   # ignore the cache
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/ory/dockertest/v3"
	docker "github.com/ory/dockertest/v3/docker"

	"github.com/cutover/cutover/e2e/images"
)

func main() {
	packed := flag.Bool("packed", false, "use the images packed from Debian packages even when official images are present")
	rebuild := flag.Bool("rebuild", false, "build the packed images even when a cached tag exists")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, images.Options{
		Log:         slog.New(slog.NewTextHandler(os.Stderr, nil)),
		ForcePacked: *packed,
		Rebuild:     *rebuild,
	})
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "prebuild:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts images.Options) error {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return fmt.Errorf("connect to docker: %w", err)
	}
	if err := pool.Client.Ping(); err != nil {
		return fmt.Errorf("ping the docker engine: %w (is dockerd running, and DOCKER_HOST right?)", err)
	}
	kratos := func(ctx context.Context, c *docker.Client, opts images.Options) (images.Image, error) {
		return images.Kratos(ctx, c, images.KratosOptions{Options: opts})
	}
	for _, ensure := range []func(context.Context, *docker.Client, images.Options) (images.Image, error){images.Postgres, images.MariaDB, kratos} {
		img, err := ensure(ctx, pool.Client, opts)
		if err != nil {
			return err
		}
		state := "cached"
		if img.Built {
			state = "built"
		}
		fmt.Printf("%s\t%s\t%s\t%s\n", img.Ref, img.Flavour, state, img.Took.Round(time.Millisecond))
	}
	return nil
}
