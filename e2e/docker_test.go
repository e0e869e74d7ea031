package e2e

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os/exec"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
	docker "github.com/ory/dockertest/v3/docker"
)

// scenario is one test's private world: a Docker network of its own, so containers can
// use fixed aliases (db, idp, bridge, app) while scenarios run in parallel. Everything it
// creates is removed when the test ends, pass or fail.
type scenario struct {
	t       *testing.T
	s       *suite
	name    string // short unique name, used in container names
	network *docker.Network
	// client is the scenario's own Docker client: go-dockerclient's StartContainer
	// rewrites the client's API version without a lock, so parallel tests must not share one.
	client *docker.Client
}

// newScenario creates the test's network, or skips the test when Docker is not usable.
func newScenario(t *testing.T) *scenario {
	t.Helper()
	s := requireSuite(t)
	name := fmt.Sprintf("cutover-e2e-%s-%s-%s", s.runID, slug(t.Name()), randomHex(2))
	client, err := s.newClient()
	if err != nil {
		t.Fatalf("connect to Docker: %v", err)
	}
	n, err := client.CreateNetwork(docker.CreateNetworkOptions{
		Name:    name,
		Driver:  "bridge",
		Labels:  s.labels,
		Context: t.Context(),
	})
	if err != nil {
		t.Fatalf("create the scenario's Docker network %s: %v", name, err)
	}
	t.Cleanup(func() {
		// Containers are removed by their own cleanups, which run before this one.
		if err := client.RemoveNetwork(n.ID); err != nil {
			t.Logf("remove network %s: %v", name, err)
		}
	})
	return &scenario{t: t, s: s, name: name, network: n, client: client}
}

// in returns the scenario seen from a subtest: containers, volumes and failures started
// through it belong to t (removed when t ends), on the same network. Parallel subtests
// must use it, since a test may only fail from its own goroutine.
func (sc *scenario) in(t *testing.T) *scenario {
	t.Helper()
	client, err := sc.s.newClient() // a client of its own: see scenario.client
	if err != nil {
		t.Fatalf("connect to Docker: %v", err)
	}
	c := *sc
	c.t, c.client = t, client
	return &c
}

// containerSpec describes a container to start on the scenario's network.
type containerSpec struct {
	Image      string
	Aliases    []string          // names other containers reach it by
	Entrypoint []string          // nil: the image's
	Cmd        []string          // arguments
	Env        []string          // KEY=value; may hold secrets, never logged
	User       string            // numeric user; empty: the image's
	Ports      []string          // container ports ("8080/tcp") published on random host ports
	Files      map[string]string // absolute path -> content, copied in before the start (mode 0644)
	Volumes    map[string]string // volume name -> mount path
	Stdin      string            // fed to the process's standard input, then closed (e.g. a password)
}

// container is a started container of the scenario.
type container struct {
	sc    *scenario
	ID    string
	Name  string
	ports map[string]string // container port -> host port
}

// start creates and starts a container; it is force-removed when the test ends.
func (sc *scenario) start(ctx context.Context, spec containerSpec) (*container, error) {
	client := sc.client
	name := fmt.Sprintf("%s-%s", sc.name, randomHex(3))
	exposed := map[docker.Port]struct{}{}
	bindings := map[docker.Port][]docker.PortBinding{}
	bindIP := sc.s.hostIP
	if bindIP != "127.0.0.1" {
		bindIP = "" // a remote engine: publish on all its interfaces
	}
	for _, p := range spec.Ports {
		exposed[docker.Port(p)] = struct{}{}
		bindings[docker.Port(p)] = []docker.PortBinding{{HostIP: bindIP, HostPort: ""}}
	}
	var binds []string
	for vol, dst := range spec.Volumes {
		binds = append(binds, vol+":"+dst)
	}
	c, err := client.CreateContainer(docker.CreateContainerOptions{
		Name: name,
		Config: &docker.Config{
			Image:        spec.Image,
			Entrypoint:   spec.Entrypoint,
			Cmd:          spec.Cmd,
			Env:          spec.Env,
			User:         spec.User,
			ExposedPorts: exposed,
			Labels:       sc.s.labels,
			OpenStdin:    spec.Stdin != "",
			StdinOnce:    spec.Stdin != "",
			AttachStdin:  spec.Stdin != "",
		},
		HostConfig: &docker.HostConfig{
			PortBindings: bindings,
			Binds:        binds,
		},
		NetworkingConfig: &docker.NetworkingConfig{EndpointsConfig: map[string]*docker.EndpointConfig{
			sc.network.Name: {Aliases: spec.Aliases},
		}},
		Context: ctx,
	})
	if err != nil {
		return nil, fmt.Errorf("create container from %s: %w", spec.Image, err)
	}
	sc.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		err := client.RemoveContainer(docker.RemoveContainerOptions{ID: c.ID, Force: true, RemoveVolumes: true, Context: ctx})
		var missing *docker.NoSuchContainer
		if err != nil && !errors.As(err, &missing) {
			sc.t.Logf("remove container %s: %v", name, err)
		}
	})
	if len(spec.Files) > 0 {
		archive, err := tarFiles(spec.Files)
		if err != nil {
			return nil, err
		}
		if err := client.UploadToContainer(c.ID, docker.UploadToContainerOptions{InputStream: archive, Path: "/", Context: ctx}); err != nil {
			return nil, fmt.Errorf("copy files into container %s: %w", name, err)
		}
	}
	if spec.Stdin != "" {
		cw, err := client.AttachToContainerNonBlocking(docker.AttachToContainerOptions{
			Container:   c.ID,
			InputStream: strings.NewReader(spec.Stdin),
			Stdin:       true,
			Stream:      true,
		})
		if err != nil {
			return nil, fmt.Errorf("attach to the standard input of container %s: %w", name, err)
		}
		sc.t.Cleanup(func() { cw.Close() })
	}
	if err := client.StartContainerWithContext(c.ID, nil, ctx); err != nil {
		return nil, fmt.Errorf("start container %s from %s: %w", name, spec.Image, err)
	}
	ctr := &container{sc: sc, ID: c.ID, Name: name, ports: map[string]string{}}
	if len(spec.Ports) > 0 {
		info, err := client.InspectContainerWithContext(c.ID, ctx)
		if err != nil {
			return nil, fmt.Errorf("inspect container %s: %w", name, err)
		}
		for _, p := range spec.Ports {
			if b := info.NetworkSettings.Ports[docker.Port(p)]; len(b) > 0 {
				ctr.ports[p] = b[0].HostPort
			}
		}
	}
	return ctr, nil
}

// HostAddr is host:port where this process reaches the container's port.
func (c *container) HostAddr(port string) string {
	return c.sc.s.hostIP + ":" + c.ports[port]
}

// Wait blocks until the container exits and returns its exit code.
func (c *container) Wait(ctx context.Context) (int, error) {
	code, err := c.sc.client.WaitContainerWithContext(c.ID, ctx)
	if err != nil {
		return -1, fmt.Errorf("wait for container %s: %w", c.Name, err)
	}
	return code, nil
}

// Kill sends SIGKILL, as a crash or an OOM kill would.
func (c *container) Kill(ctx context.Context) error {
	if err := c.sc.client.KillContainer(docker.KillContainerOptions{ID: c.ID, Context: ctx}); err != nil {
		return fmt.Errorf("kill container %s: %w", c.Name, err)
	}
	return nil
}

// Exited reports whether the container has stopped, and its exit code if so.
func (c *container) Exited(ctx context.Context) (bool, int, error) {
	info, err := c.sc.client.InspectContainerWithContext(c.ID, ctx)
	if err != nil {
		return false, 0, fmt.Errorf("inspect container %s: %w", c.Name, err)
	}
	return !info.State.Running, info.State.ExitCode, nil
}

// Logs returns what the container wrote so far, stdout and stderr apart.
func (c *container) Logs(ctx context.Context) (stdout, stderr string, err error) {
	var out, errb bytes.Buffer
	err = c.sc.client.Logs(docker.LogsOptions{
		Context:      ctx,
		Container:    c.ID,
		OutputStream: &out,
		ErrorStream:  &errb,
		Stdout:       true,
		Stderr:       true,
	})
	if err != nil {
		return "", "", fmt.Errorf("read the logs of container %s: %w", c.Name, err)
	}
	return out.String(), errb.String(), nil
}

// cutoverSpec describes one cutover container.
type cutoverSpec struct {
	Args    []string          // after "cutover"
	Env     []string          // KEY=value: DSNs with passwords go here, never into plan files
	Files   map[string]string // e.g. {"/work/plan.yaml": plan}; relative paths land under /work
	Volumes map[string]string // volume name -> mount path, e.g. state that must survive a kill
	Aliases []string          // for services other containers call
	Ports   []string          // published ports, e.g. "8080/tcp"
	Stdin   string            // standard input, e.g. the password for `cutover login`
}

func (sc *scenario) cutoverContainer(spec cutoverSpec) containerSpec {
	files := make(map[string]string, len(spec.Files))
	for p, content := range spec.Files {
		if !path.IsAbs(p) {
			p = path.Join("/work", p)
		}
		files[p] = content
	}
	return containerSpec{
		Image:   sc.s.image,
		Aliases: spec.Aliases,
		Cmd:     spec.Args,
		Env:     append([]string{"NO_COLOR=1"}, spec.Env...),
		Ports:   spec.Ports,
		Files:   files,
		Volumes: spec.Volumes,
		Stdin:   spec.Stdin,
	}
}

// runResult is what a finished cutover run left: its exit code and output.
type runResult struct {
	ExitCode int
	Stdout   string
	Stderr   string
	Took     time.Duration
}

// String is for failure messages.
func (r runResult) String() string {
	return fmt.Sprintf("exit code %d after %s\n--- stdout ---\n%s\n--- stderr ---\n%s", r.ExitCode, r.Took.Round(time.Millisecond), r.Stdout, r.Stderr)
}

// RunCutover runs cutover to completion in a container on the scenario's network and
// returns its exit code and output; a run that takes longer than timeout fails the test.
func (sc *scenario) RunCutover(timeout time.Duration, spec cutoverSpec) runResult {
	sc.t.Helper()
	ctx, cancel := context.WithTimeout(sc.t.Context(), timeout)
	defer cancel()
	start := time.Now()
	c, err := sc.start(ctx, sc.cutoverContainer(spec))
	if err != nil {
		sc.t.Fatalf("run cutover %s: %v", strings.Join(spec.Args, " "), err)
	}
	code, err := c.Wait(ctx)
	res := runResult{ExitCode: code, Took: time.Since(start)}
	logCtx, logCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer logCancel()
	res.Stdout, res.Stderr, _ = c.Logs(logCtx)
	if err != nil {
		sc.t.Fatalf("run cutover %s: did not finish within %s: %v\n%s", strings.Join(spec.Args, " "), timeout, err, res)
	}
	return res
}

// StartCutover starts cutover in a container and returns at once (the crash scenario
// kills it mid-run; services wait for readiness with ServeCutover).
func (sc *scenario) StartCutover(spec cutoverSpec) *container {
	sc.t.Helper()
	c, err := sc.start(sc.t.Context(), sc.cutoverContainer(spec))
	if err != nil {
		sc.t.Fatalf("start cutover %s: %v", strings.Join(spec.Args, " "), err)
	}
	return c
}

// service is a long-running cutover container (mock IdP, bridge, example app).
type service struct {
	*container
	HostURL string // from this process, e.g. http://127.0.0.1:49153
	NetURL  string // from containers on the scenario's network, e.g. http://idp:8080
}

// ServeCutover starts a long-running cutover command listening on port (e.g. 8080), and
// waits until GET readyPath answers below 500. A container that exits early fails the
// test at once with its output rather than after the readiness deadline.
func (sc *scenario) ServeCutover(port int, readyPath string, spec cutoverSpec) *service {
	sc.t.Helper()
	p := fmt.Sprintf("%d/tcp", port)
	spec.Ports = append(spec.Ports, p)
	c := sc.StartCutover(spec)
	svc := &service{container: c, HostURL: "http://" + c.HostAddr(p)}
	if len(spec.Aliases) > 0 {
		svc.NetURL = fmt.Sprintf("http://%s:%d", spec.Aliases[0], port)
	}
	if err := sc.ready(c, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, svc.HostURL+readyPath, nil)
		if err != nil {
			return err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			return fmt.Errorf("GET %s: status %d", readyPath, resp.StatusCode)
		}
		return nil
	}); err != nil {
		sc.t.Fatalf("cutover %s did not become ready: %v", strings.Join(spec.Args, " "), err)
	}
	return svc
}

// ready polls check with pool.Retry until it succeeds, the container exits (a permanent
// failure, reported with the container's output), or the pool's MaxWait passes.
func (sc *scenario) ready(c *container, check func(context.Context) error) error {
	ctx := sc.t.Context()
	var last error
	err := sc.s.pool.Retry(func() error {
		if exited, code, err := c.Exited(ctx); err != nil {
			return backoff.Permanent(err)
		} else if exited {
			stdout, stderr, _ := c.Logs(ctx)
			return backoff.Permanent(fmt.Errorf("container %s exited with code %d before it was ready\n--- stdout ---\n%s\n--- stderr ---\n%s", c.Name, code, stdout, stderr))
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		last = check(cctx)
		return last
	})
	if err != nil && last != nil && !strings.Contains(err.Error(), last.Error()) {
		err = fmt.Errorf("%w (last check: %v)", err, last)
	}
	return err
}

// Volume creates a Docker volume that outlives the containers that mount it within the
// test (state a resumed run must find); it is removed when the test ends.
func (sc *scenario) Volume() string {
	sc.t.Helper()
	name := sc.name + "-" + randomHex(3)
	client := sc.client
	if _, err := client.CreateVolume(docker.CreateVolumeOptions{Name: name, Labels: sc.s.labels, Context: sc.t.Context()}); err != nil {
		sc.t.Fatalf("create volume %s: %v", name, err)
	}
	sc.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := client.RemoveVolumeWithOptions(docker.RemoveVolumeOptions{Name: name, Force: true, Context: ctx}); err != nil {
			sc.t.Logf("remove volume %s: %v", name, err)
		}
	})
	return name
}

// requireCommand skips (or fails under CI=true) a test whose cutover subcommand has not
// landed in this build yet: the command skeleton marks unfinished commands in their help.
func requireCommand(t *testing.T, s *suite, args ...string) {
	t.Helper()
	if s.bin == "" {
		return // cross-built for another platform: let the scenario find out
	}
	out, _ := exec.CommandContext(t.Context(), s.bin, append(args, "--help")...).CombinedOutput()
	if bytes.Contains(out, []byte("not available in this build yet")) {
		skipOrFail(t, fmt.Sprintf("cutover %s has not landed in this build yet", strings.Join(args, " ")))
	}
}

// tarFiles packs files for UploadToContainer, readable by the cutover user.
func tarFiles(files map[string]string) (*bytes.Buffer, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	for _, p := range sortedKeys(files) {
		for d := path.Dir(p); d != "/" && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
		}
	}
	for _, d := range sortedKeys(dirs) {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: strings.TrimPrefix(d, "/") + "/", Mode: 0o755, Uid: 65532, Gid: 65532, ModTime: time.Now()}); err != nil {
			return nil, fmt.Errorf("pack files for the container: %w", err)
		}
	}
	for _, p := range sortedKeys(files) {
		content := files[p]
		if err := tw.WriteHeader(&tar.Header{Name: strings.TrimPrefix(p, "/"), Mode: 0o644, Size: int64(len(content)), Uid: 65532, Gid: 65532, ModTime: time.Now()}); err != nil {
			return nil, fmt.Errorf("pack files for the container: %w", err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			return nil, fmt.Errorf("pack files for the container: %w", err)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("pack files for the container: %w", err)
	}
	return &buf, nil
}

func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// nonSlug is immutable once compiled.
var nonSlug = regexp.MustCompile(`[^a-z0-9]+`)

// slug turns a test name into something Docker accepts in names.
func slug(s string) string {
	s = strings.Trim(nonSlug.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > 30 {
		s = s[:30]
	}
	return s
}
