package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ory/dockertest/v3"
	docker "github.com/ory/dockertest/v3/docker"

	"github.com/cutover/cutover/e2e/images"
)

// Labels put on every container, network, volume and per-run image, so that teardown
// finds them and a later run can reap what a killed run left behind.
const (
	labelSuite = "io.cutover.e2e"         // "1" on everything the suite creates
	labelRun   = "io.cutover.e2e.run"     // the run's id
	labelOwner = "io.cutover.e2e.owner"   // host/pid of the go test process
	labelStart = "io.cutover.e2e.started" // unix seconds
)

// cutoverUID is the numeric user the cutover image runs as (distroless's "nonroot").
const cutoverUID = "65532"

// suite is what TestMain prepares once for every test. It is written before m.Run and only
// read afterwards; tests reach it through requireSuite.
type suite struct {
	skip       string // why Docker tests cannot run here (an absent engine or image); empty when they can
	broken     string // why setting up failed although Docker is here (cutover does not build): a failure
	pool       *dockertest.Pool
	runID      string
	labels     map[string]string
	hostIP     string // where published ports are reached from this process
	apiVersion string // the engine's API version, which every client speaks
	bin        string // the cutover binary built for the host, to ask it about itself
	image      string // the per-run cutover image
	pg         images.Image
	maria      images.Image
	kratos     images.Image // Ory Kratos, built from the module proxy
	log        *slog.Logger
}

// shared is set once by TestMain, before any test runs.
var shared = &suite{skip: "TestMain did not run"}

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})).With("suite", "e2e")
	if testing.Short() {
		fmt.Fprintln(os.Stderr, "e2e: -short: skipping the Docker suite (it starts real databases in containers)")
		shared = &suite{skip: "-short: the Docker suite is skipped"}
		return m.Run()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	s, err := setUp(ctx, log)
	if s == nil {
		// Nothing was created; every Docker test skips (or fails under CI=true) with the reason.
		shared = &suite{skip: err.Error()}
		log.Warn("the Docker suite cannot run here", "reason", err)
		return m.Run()
	}
	defer s.tearDown()
	if err != nil {
		s.skip = err.Error()
		log.Warn("the Docker suite cannot run here", "reason", err)
	}
	if s.broken != "" {
		log.Error("setting up the Docker suite failed", "err", s.broken)
	}
	shared = s

	// Ctrl+C or SIGTERM: purge this run's resources before exiting. A panic or `go test
	// -timeout` ends the process without deferred calls: the watchdog purges a little
	// before the deadline, and the next run reaps anything left (see reap).
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	go func() {
		if _, ok := <-sig; ok {
			log.Warn("interrupted: removing this run's containers")
			s.tearDown()
			os.Exit(130)
		}
	}()
	if d := testTimeout(); d > 30*time.Second {
		wd := time.AfterFunc(d-15*time.Second, func() {
			log.Warn("the test deadline is near: removing this run's containers")
			s.tearDown()
		})
		defer wd.Stop()
	}
	return m.Run()
}

// setUp pings Docker, reaps leftovers, builds cutover and finds or builds the database
// images. A nil suite means Docker is not usable; a suite with an error means resources
// may exist and must be torn down.
func setUp(ctx context.Context, log *slog.Logger) (*suite, error) {
	pool, err := dockertest.NewPool("")
	if err != nil {
		return nil, fmt.Errorf("no Docker engine: %w", err)
	}
	if err := pool.Client.Ping(); err != nil {
		return nil, fmt.Errorf("no Docker engine answers (%w): start dockerd or set DOCKER_HOST", err)
	}
	pool.MaxWait = 90 * time.Second

	host, _ := os.Hostname()
	s := &suite{
		pool:   pool,
		runID:  randomHex(4),
		hostIP: publishedHost(),
		log:    log,
	}
	s.labels = map[string]string{
		labelSuite: "1",
		labelRun:   s.runID,
		labelOwner: host + "/" + strconv.Itoa(os.Getpid()),
		labelStart: strconv.FormatInt(time.Now().Unix(), 10),
	}
	// Speak the engine's own API version: very new engines refuse the client's default.
	if v, err := pool.Client.Version(); err == nil {
		s.apiVersion = v.Get("ApiVersion")
	}
	if pool.Client, err = s.newClient(); err != nil {
		return nil, fmt.Errorf("connect to Docker: %w", err)
	}
	log = log.With("run", s.runID)
	s.log = log
	reap(ctx, pool, s.runID, log)

	start := time.Now()
	if err := s.buildCutover(ctx); err != nil {
		s.broken = err.Error()
		return s, nil
	}
	log.Info("cutover image built", "image", s.image, "took", time.Since(start).Round(time.Millisecond))

	opts := images.Options{Log: log}
	if s.pg, err = images.Postgres(ctx, pool.Client, opts); err != nil {
		return s, err
	}
	log.Info("postgres image ready", "image", s.pg.Ref, "flavour", s.pg.Flavour, "built", s.pg.Built, "took", s.pg.Took.Round(time.Millisecond))
	if s.maria, err = images.MariaDB(ctx, pool.Client, opts); err != nil {
		return s, err
	}
	log.Info("mariadb image ready", "image", s.maria.Ref, "flavour", s.maria.Flavour, "built", s.maria.Built, "took", s.maria.Took.Round(time.Millisecond))
	if s.kratos, err = images.Kratos(ctx, pool.Client, images.KratosOptions{Options: opts}); err != nil {
		return s, err
	}
	log.Info("kratos image ready", "image", s.kratos.Ref, "built", s.kratos.Built, "took", s.kratos.Took.Round(time.Millisecond))
	return s, nil
}

// buildCutover builds a static cutover for the engine's platform and wraps it in a FROM
// scratch image named for this run.
func (s *suite) buildCutover(ctx context.Context) error {
	root, err := filepath.Abs("..")
	if err != nil {
		return fmt.Errorf("find the module root: %w", err)
	}
	dir, err := os.MkdirTemp("", "cutover-e2e-")
	if err != nil {
		return fmt.Errorf("build cutover: %w", err)
	}
	defer os.RemoveAll(dir)

	goos, goarch := "linux", "amd64"
	if v, err := s.pool.Client.Version(); err == nil {
		goos, goarch = v.Get("Os"), v.Get("Arch")
	}
	bin := filepath.Join(dir, "cutover")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, "./cmd/cutover")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build cutover (CGO_ENABLED=0 go build ./cmd/cutover): %w\n%s", err, out)
	}
	// A copy for the host too, when it can run there: tests ask it which commands landed.
	if goos == runtime.GOOS && goarch == runtime.GOARCH {
		hostBin := filepath.Join(os.TempDir(), "cutover-e2e-"+s.runID)
		if err := copyFile(bin, hostBin); err == nil {
			s.bin = hostBin
		}
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("build cutover: %w", err)
	}

	// The build context, written by hand so modes and owners are exact: /tmp is 1777 and
	// /work, where plans and state files live, belongs to the numeric user.
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dockerfile := "FROM scratch\n" +
		"COPY rootfs/ /\n" +
		"USER " + cutoverUID + ":" + cutoverUID + "\n" +
		"WORKDIR /work\n" +
		"ENV HOME=/work TMPDIR=/tmp\n" +
		"ENTRYPOINT [\"/cutover\"]\n"
	entries := []struct {
		hdr  tar.Header
		data []byte
	}{
		{tar.Header{Name: "Dockerfile", Mode: 0o644}, []byte(dockerfile)},
		{tar.Header{Name: "rootfs/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "rootfs/cutover", Mode: 0o755}, binary},
		{tar.Header{Name: "rootfs/tmp/", Typeflag: tar.TypeDir, Mode: 0o1777}, nil},
		{tar.Header{Name: "rootfs/work/", Typeflag: tar.TypeDir, Mode: 0o755, Uid: 65532, Gid: 65532}, nil},
		{tar.Header{Name: "rootfs/etc/", Typeflag: tar.TypeDir, Mode: 0o755}, nil},
		{tar.Header{Name: "rootfs/etc/passwd", Mode: 0o644}, []byte("root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/work:/sbin/nologin\n")},
	}
	for _, e := range entries {
		e.hdr.Size = int64(len(e.data))
		e.hdr.ModTime = time.Now()
		if err := tw.WriteHeader(&e.hdr); err != nil {
			return fmt.Errorf("write the build context: %w", err)
		}
		if _, err := tw.Write(e.data); err != nil {
			return fmt.Errorf("write the build context: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("write the build context: %w", err)
	}
	s.image = "cutover-e2e/cutover:" + s.runID
	var out bytes.Buffer
	err = s.pool.Client.BuildImage(docker.BuildImageOptions{
		Name:                s.image,
		Dockerfile:          "Dockerfile",
		InputStream:         &buf,
		OutputStream:        &out,
		Labels:              s.labels,
		RmTmpContainer:      true,
		ForceRmTmpContainer: true,
		Context:             ctx,
	})
	if err != nil {
		return fmt.Errorf("build the cutover image %s: %w\n%s", s.image, err, out.String())
	}
	return nil
}

// newClient connects to the engine at its own API version (the environment decides where:
// DOCKER_HOST, DOCKER_CERT_PATH, ...).
func (s *suite) newClient() (*docker.Client, error) {
	if s.apiVersion == "" {
		return docker.NewClientFromEnv()
	}
	return docker.NewVersionedClientFromEnv(s.apiVersion)
}

// tearDown removes everything labelled with this run's id. It is safe to call twice.
func (s *suite) tearDown() {
	if s.pool == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n := purge(ctx, s.pool, map[string][]string{"label": {labelRun + "=" + s.runID}}, s.log)
	if s.bin != "" {
		_ = os.Remove(s.bin)
	}
	s.log.Info("removed this run's Docker resources", "count", n)
}

// reap removes what earlier runs left behind: resources whose owning go test process on
// this host is gone, or that are older than two hours (another host, a CI runner).
func reap(ctx context.Context, pool *dockertest.Pool, runID string, log *slog.Logger) {
	containers, err := pool.Client.ListContainers(docker.ListContainersOptions{All: true, Filters: map[string][]string{"label": {labelSuite}}, Context: ctx})
	if err != nil {
		return
	}
	stale := map[string]bool{}
	for _, c := range containers {
		if run := c.Labels[labelRun]; run != runID && abandoned(c.Labels) {
			stale[run] = true
		}
	}
	networks, _ := pool.Client.FilteredListNetworks(docker.NetworkFilterOpts{"label": {labelSuite: true}})
	for _, n := range networks {
		if run := n.Labels[labelRun]; run != runID && abandoned(n.Labels) {
			stale[run] = true
		}
	}
	for run := range stale {
		n := purge(ctx, pool, map[string][]string{"label": {labelRun + "=" + run}}, log)
		log.Info("reaped resources left by an earlier run", "earlier_run", run, "count", n)
	}
}

// abandoned reports whether the run that created a resource is certainly over.
func abandoned(labels map[string]string) bool {
	if started, err := strconv.ParseInt(labels[labelStart], 10, 64); err == nil && time.Since(time.Unix(started, 0)) > 2*time.Hour {
		return true
	}
	host, pid, ok := strings.Cut(labels[labelOwner], "/")
	me, _ := os.Hostname()
	if !ok || host != me {
		return false
	}
	n, err := strconv.Atoi(pid)
	if err != nil {
		return false
	}
	p, err := os.FindProcess(n)
	if err != nil {
		return true
	}
	err = p.Signal(syscall.Signal(0))
	return err != nil && !errors.Is(err, syscall.EPERM)
}

// purge removes containers, then networks, volumes and images that match filters, and
// returns how many it removed.
func purge(ctx context.Context, pool *dockertest.Pool, filters map[string][]string, log *slog.Logger) int {
	n := 0
	c := pool.Client
	if cs, err := c.ListContainers(docker.ListContainersOptions{All: true, Filters: filters, Context: ctx}); err == nil {
		for _, x := range cs {
			if err := c.RemoveContainer(docker.RemoveContainerOptions{ID: x.ID, Force: true, RemoveVolumes: true, Context: ctx}); err == nil {
				n++
			} else {
				log.Warn("could not remove a container", "id", x.ID, "err", err)
			}
		}
	}
	nf := docker.NetworkFilterOpts{}
	for k, vs := range filters {
		nf[k] = map[string]bool{}
		for _, v := range vs {
			nf[k][v] = true
		}
	}
	if ns, err := c.FilteredListNetworks(nf); err == nil {
		for _, x := range ns {
			if err := c.RemoveNetwork(x.ID); err == nil {
				n++
			} else {
				log.Warn("could not remove a network", "name", x.Name, "err", err)
			}
		}
	}
	if vs, err := c.ListVolumes(docker.ListVolumesOptions{Filters: filters, Context: ctx}); err == nil {
		for _, x := range vs {
			if err := c.RemoveVolumeWithOptions(docker.RemoveVolumeOptions{Name: x.Name, Force: true, Context: ctx}); err == nil {
				n++
			}
		}
	}
	if is, err := c.ListImages(docker.ListImagesOptions{Filters: filters, Context: ctx}); err == nil {
		for _, x := range is {
			if err := c.RemoveImageExtended(x.ID, docker.RemoveImageOptions{Force: true, Context: ctx}); err == nil {
				n++
			}
		}
	}
	return n
}

// requireSuite returns the suite, or skips the test with the reason Docker is not usable;
// under CI=true that reason fails the test instead, so CI never passes by skipping.
func requireSuite(t *testing.T) *suite {
	t.Helper()
	if shared.broken != "" {
		t.Fatal("e2e: " + shared.broken)
	}
	if shared.skip != "" {
		skipOrFail(t, "e2e: "+shared.skip)
	}
	return shared
}

// skipOrFail skips locally and fails under CI=true.
func skipOrFail(t *testing.T, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" && !testing.Short() {
		t.Fatalf("%s (CI=true: a skip here would hide that this test never ran)", reason)
	}
	t.Skip(reason)
}

// testTimeout is the -timeout go test was given (0 when none).
func testTimeout() time.Duration {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return 0
	}
	d, _ := time.ParseDuration(f.Value.String())
	return d
}

// publishedHost is the address published ports are reached at: loopback for a local
// engine, the engine's host for DOCKER_HOST=tcp://host:port (e.g. a CI docker:dind service).
func publishedHost() string {
	if u, err := url.Parse(os.Getenv("DOCKER_HOST")); err == nil && u.Scheme == "tcp" && u.Hostname() != "" {
		return u.Hostname()
	}
	return "127.0.0.1"
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o755)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
