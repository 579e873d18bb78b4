// Package ephemeral starts an application's container image (and the
// dependency containers its app definition declares) as a verification
// target: `piv run APP --image REF`. It uses testcontainers-go with no image
// registry: local images only (a missing one is ErrImageMissing, never a
// pull), no reaper (piv removes what it started itself), and a clear
// ErrNoDocker when no engine answers.
//
// Everything started carries the label piv.run=<run id>: Env.Close removes
// what it knows of and then sweeps by that label, and Sweep finds leftovers
// of a run that was killed outright.
package ephemeral

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/piv-gate/piv/pkg/timeouts"
	"io"
	"net"
	"net/netip"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	mobynet "github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"
	tc "github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"

	"github.com/piv-gate/piv/pkg/config"
)

// Labels on everything piv starts.
const (
	LabelRun  = "piv.run"  // the run id: what Close and Sweep remove by
	LabelApp  = "piv.app"  // the app definition's name
	LabelRole = "piv.role" // "app" or "dependency"
	LabelName = "piv.name" // the app's name, or the dependency's name (its network alias)
	LabelRef  = "piv.image"
)

// Bounds named in one place (pkg/timeouts holds the values).
var (
	// EngineTimeout bounds each single Docker API call piv makes itself
	// (ping, image inspect, logs, remove).
	EngineTimeout = timeouts.Default.EngineCall
	// StepTimeout bounds one testcontainers step (network create, container
	// create + copy + start). Steps run to completion even when the run is
	// cancelled, so piv always knows what exists and can remove it.
	StepTimeout = timeouts.Default.ContainerStep
	// CloseTimeout bounds Close: it runs on its own context, never the
	// (possibly cancelled) run context.
	CloseTimeout = timeouts.Default.ContainerClose
	// MaxLogBytes is how much of each container's log is kept (the end).
	MaxLogBytes = 256 << 10
	// ErrorLogLines is how many log lines a startup error quotes.
	ErrorLogLines = 20
)

// Options for Start.
type Options struct {
	// RunID labels everything started (piv.run); a fresh one is made when empty.
	RunID string
	// Progress receives one line per step; nil discards.
	Progress io.Writer
}

// Env is a started application and its dependencies.
type Env struct {
	// Address is 127.0.0.1:PORT, the host port published for ephemeral.port.
	Address string
	// Ports maps each published container port (ephemeral.port and
	// ephemeral.ports) to its host address, for technical.ports.
	Ports map[int]string
	// Image is the image reference the app was started from.
	Image string
	// RunID is the piv.run label value on everything started.
	RunID string

	eng        *engine
	progress   io.Writer
	mu         sync.Mutex
	network    *tc.DockerNetwork
	containers []started

	closeOnce sync.Once
	closeErr  error
	logs      map[string][]byte // snapshot taken by Close
}

type started struct {
	name string // Docker container name, the key of Logs
	ctr  *tc.DockerContainer
}

// Start starts app's dependencies and then image on a private network, and
// returns once the app answers 2xx on ephemeral.wait.path (HTTPS verified
// against the app's CA under the service host name) within
// ephemeral.wait.timeout. On any error everything already started has been
// removed; a startup failure is a *StartError carrying the containers' logs.
// The caller must Close the returned Env (on every path: pass, fail,
// timeout, interrupt).
func Start(ctx context.Context, app *config.App, image string, opt Options) (env *Env, err error) {
	if app == nil || app.Ephemeral == nil {
		name := "<nil>"
		if app != nil {
			name = app.App
		}
		return nil, fmt.Errorf("app %s has no ephemeral section: piv cannot start it from an image", name)
	}
	if image == "" {
		return nil, errors.New("ephemeral: no image given")
	}
	eph := app.Ephemeral
	if eph.Port == 0 {
		return nil, fmt.Errorf("app %s: ephemeral.port is not set", app.App)
	}
	if opt.RunID == "" {
		opt.RunID = NewRunID(app.App)
	}
	progress := opt.Progress
	if progress == nil {
		progress = io.Discard
	}
	began := time.Now()
	step := func(format string, a ...any) {
		fmt.Fprintf(progress, "ephemeral: %-52s [%5.2fs]\n", fmt.Sprintf(format, a...), time.Since(began).Seconds())
	}

	step("checking Docker engine")
	eng, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	env = &Env{Image: image, RunID: opt.RunID, eng: eng, progress: progress, Ports: map[int]string{}}
	defer func() {
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			err = fmt.Errorf("ephemeral start interrupted (%w): %w", context.Cause(ctx), err)
		}
		var se *StartError
		if errors.As(err, &se) && se.Logs == nil {
			se.Logs, _ = env.Logs(context.WithoutCancel(ctx))
		}
		step("cleaning up after failed start")
		if cerr := env.Close(context.WithoutCancel(ctx)); cerr != nil {
			err = fmt.Errorf("%w (and cleanup: %v)", err, cerr)
		}
		env = nil
	}()

	// Local images only, checked before anything is created.
	appID, err := eng.imageID(ctx, image, "app "+app.App)
	if err != nil {
		return env, err
	}
	depIDs := make([]string, len(eph.Dependencies))
	for i, d := range eph.Dependencies {
		if depIDs[i], err = eng.imageID(ctx, d.Image, "dependency "+d.Name); err != nil {
			return env, err
		}
	}

	labels := func(role, name, ref string) map[string]string {
		return map[string]string{LabelRun: opt.RunID, LabelApp: app.App, LabelRole: role, LabelName: name, LabelRef: ref}
	}

	step("starting network")
	if err := env.do(ctx, func(sctx context.Context) error {
		nw, err := network.New(sctx, network.WithLabels(labels("network", app.App, "")))
		if nw != nil {
			env.mu.Lock()
			env.network = nw
			env.mu.Unlock()
		}
		return err
	}); err != nil {
		return env, fmt.Errorf("create network: %w", err)
	}

	prefix := "piv-" + sanitize(opt.RunID) + "-"
	for i, d := range eph.Dependencies {
		name := prefix + sanitize(d.Name)
		step("starting %s (%s)", d.Name, d.Image)
		req := tc.ContainerRequest{
			Image:          depIDs[i],
			Name:           name,
			Env:            d.Env,
			Cmd:            d.Cmd,
			Labels:         labels("dependency", d.Name, d.Image),
			Networks:       []string{env.network.Name},
			NetworkAliases: map[string][]string{env.network.Name: {d.Name}},
		}
		if d.Wait.Port != 0 {
			env.publish(&req, []int{d.Wait.Port})
		}
		c, err := env.run(ctx, req)
		if err != nil {
			return env, &StartError{Container: name, What: "start dependency " + d.Name, Err: err}
		}
		if err := env.waitDependency(ctx, d, name, c, step); err != nil {
			return env, &StartError{Container: name, What: "dependency " + d.Name + " not ready", Err: err}
		}
	}

	name := prefix + sanitize(app.App)
	step("starting %s (%s)", app.App, image)
	ports := append([]int{eph.Port}, eph.Ports...)
	req := tc.ContainerRequest{
		Image:    appID,
		Name:     name,
		Env:      eph.Env,
		Cmd:      eph.Cmd,
		Labels:   labels("app", app.App, image),
		Networks: []string{env.network.Name},
		// The service host name too, so a dependency calling back finds it.
		NetworkAliases: map[string][]string{env.network.Name: aliases(app)},
	}
	for _, f := range eph.Files {
		req.Files = append(req.Files, tc.ContainerFile{HostFilePath: f.Source, ContainerFilePath: f.Target, FileMode: f.Mode})
	}
	env.publish(&req, ports)
	c, err := env.run(ctx, req)
	if err != nil {
		return env, &StartError{Container: name, What: "start " + app.App, Err: err}
	}
	published, err := env.published(ctx, c, ports)
	if err != nil {
		if xerr := exited(ctx, c); xerr != nil {
			err = fmt.Errorf("%w before its ports were published", xerr)
		}
		return env, &StartError{Container: name, What: app.App + " not healthy", Err: err}
	}
	env.Ports = published
	env.Address = published[eph.Port]

	step("waiting for health %s via %s", app.ServiceURL.Scheme+"://"+app.ServiceURL.Host+eph.Wait.Path, env.Address)
	if err := env.waitHealthy(ctx, app, c); err != nil {
		return env, &StartError{Container: name, What: app.App + " not healthy", Err: err}
	}
	step("ready: %s at %s", app.App, env.Address)
	return env, nil
}

// NewRunID makes a unique run id: 20261125T190102Z-quote-image-1a2b3c.
func NewRunID(app string) string {
	var b [3]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405Z") + "-" + app + "-image-" + hex.EncodeToString(b[:])
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9_.-]+`)

// sanitize makes s usable in a Docker container name.
func sanitize(s string) string { return strings.Trim(unsafeName.ReplaceAllString(s, "-"), "-.") }

func aliases(app *config.App) []string {
	a := []string{app.App}
	if app.ServiceURL != nil && app.ServiceURL.Hostname() != app.App && net.ParseIP(app.ServiceURL.Hostname()) == nil {
		a = append(a, app.ServiceURL.Hostname())
	}
	return a
}

// do runs one Docker step to completion on a context that the run's
// cancellation does not interrupt (bounded by StepTimeout): a create cut off
// half-way could leave a container piv does not know about. The run's
// cancellation is honoured right after the step.
func (e *Env) do(ctx context.Context, f func(context.Context) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), StepTimeout)
	defer cancel()
	if err := f(sctx); err != nil {
		return err
	}
	return ctx.Err()
}

// run creates, fills (files) and starts one container, recording it for
// Close before anything can fail.
func (e *Env) run(ctx context.Context, req tc.ContainerRequest) (*tc.DockerContainer, error) {
	var dc *tc.DockerContainer
	err := e.do(ctx, func(sctx context.Context) error {
		c, err := tc.GenericContainer(sctx, tc.GenericContainerRequest{
			ContainerRequest: req,
			Started:          true,
			Logger:           tclog.NewNoopLogger(),
		})
		if c != nil {
			dc, _ = c.(*tc.DockerContainer)
			if dc != nil {
				e.mu.Lock()
				e.containers = append(e.containers, started{name: req.Name, ctr: dc})
				e.mu.Unlock()
			}
		}
		return err
	})
	return dc, err
}

// publish exposes ports on random host ports, bound to 127.0.0.1 when the
// engine is on this machine (nothing else can reach a test target).
func (e *Env) publish(req *tc.ContainerRequest, ports []int) {
	bind := netip.Addr{}
	if e.eng.local {
		bind = netip.MustParseAddr("127.0.0.1")
	}
	pm := mobynet.PortMap{}
	for _, p := range ports {
		spec := strconv.Itoa(p) + "/tcp"
		req.ExposedPorts = append(req.ExposedPorts, spec)
		port, err := mobynet.ParsePort(spec)
		if err == nil {
			pm[port] = []mobynet.PortBinding{{HostIP: bind, HostPort: ""}}
		}
	}
	req.HostConfigModifier = func(hc *container.HostConfig) { hc.PortBindings = pm }
}

// published reads the host address of each container port.
func (e *Env) published(ctx context.Context, c *tc.DockerContainer, ports []int) (map[int]string, error) {
	host := "127.0.0.1"
	if !e.eng.local {
		h, err := c.Host(ctx)
		if err != nil {
			return nil, err
		}
		host = h
	}
	out := map[int]string{}
	for _, p := range ports {
		mp, err := c.MappedPort(ctx, strconv.Itoa(p)+"/tcp")
		if err != nil {
			return nil, fmt.Errorf("port %d: %w", p, err)
		}
		out[p] = net.JoinHostPort(host, mp.Port())
	}
	return out, nil
}

// StartError is a startup failure (a container would not start, exited, or
// did not become ready in time). Logs holds every started container's log
// (the end, MaxLogBytes each), keyed by container name; Error() quotes the
// last lines of the failing one.
type StartError struct {
	Container string
	What      string
	Err       error
	Logs      map[string][]byte
}

func (e *StartError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %v", e.What, e.Err)
	if tail := lastLines(e.Logs[e.Container], ErrorLogLines); tail != "" {
		fmt.Fprintf(&b, "\n--- last log lines of %s ---\n%s", e.Container, tail)
	} else if e.Logs != nil {
		fmt.Fprintf(&b, "\n(container %s logged nothing)", e.Container)
	}
	return b.String()
}

func (e *StartError) Unwrap() error { return e.Err }

func lastLines(b []byte, n int) string {
	s := strings.TrimRight(string(b), "\n")
	if s == "" {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Logs returns each container's log (stdout and stderr interleaved, the
// last MaxLogBytes), keyed by Docker container name. After Close it returns
// what Close captured just before removing the containers.
func (e *Env) Logs(ctx context.Context) (map[string][]byte, error) {
	e.mu.Lock()
	if e.logs != nil {
		defer e.mu.Unlock()
		return e.logs, nil
	}
	cs := append([]started(nil), e.containers...)
	e.mu.Unlock()
	return e.eng.logs(ctx, cs)
}

func (eng *engine) logs(ctx context.Context, cs []started) (map[string][]byte, error) {
	out := make(map[string][]byte, len(cs))
	var mu sync.Mutex
	var wg sync.WaitGroup
	var errs []error
	for _, s := range cs {
		wg.Go(func() {
			b, err := eng.containerLogs(ctx, s.ctr.GetContainerID())
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("logs of %s: %s", s.name, oneLine(err)))
			}
			out[s.name] = b
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// Close removes every container and the network piv started for this run,
// then sweeps anything else labelled with the run id (a container whose
// create was cut off). It captures the logs first, for Logs after Close.
// It runs on its own context bounded by CloseTimeout (the values of ctx are
// kept, its cancellation is not), so a cancelled run still cleans up.
// Idempotent: later calls return the first call's result.
func (e *Env) Close(ctx context.Context) error {
	if e == nil {
		return nil
	}
	e.closeOnce.Do(func() {
		if ctx == nil {
			ctx = context.Background()
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CloseTimeout)
		defer cancel()
		began := time.Now()

		e.mu.Lock()
		cs := append([]started(nil), e.containers...)
		nw := e.network
		e.mu.Unlock()

		logs, _ := e.eng.logs(cctx, cs)
		var errs []error
		var wg sync.WaitGroup
		var mu sync.Mutex
		for _, s := range cs {
			wg.Go(func() {
				if err := e.eng.removeContainer(cctx, s.ctr.GetContainerID()); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("remove container %s: %s", s.name, oneLine(err)))
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if nw != nil {
			if err := e.eng.removeNetwork(cctx, nw.ID); err != nil {
				errs = append(errs, fmt.Errorf("remove network %s: %s", nw.Name, oneLine(err)))
			}
		}
		if _, err := e.eng.sweep(cctx, e.RunID); err != nil {
			errs = append(errs, err)
		}
		e.closeErr = errors.Join(errs...)
		e.mu.Lock()
		e.logs = logs
		if e.logs == nil {
			e.logs = map[string][]byte{}
		}
		e.mu.Unlock()
		fmt.Fprintf(e.progress, "ephemeral: removed %d container(s) and the network in %.2fs\n", len(cs), time.Since(began).Seconds())
		e.eng.cli.Close()
	})
	return e.closeErr
}

// Sweep removes every container and network labelled piv.run=runID, and
// returns what it removed ("container NAME", "network NAME"). For leftovers
// of a run that was killed before it could Close.
func Sweep(ctx context.Context, runID string) ([]string, error) {
	if runID == "" {
		return nil, errors.New("ephemeral.Sweep: empty run id")
	}
	eng, err := connect(ctx)
	if err != nil {
		return nil, err
	}
	defer eng.cli.Close()
	return eng.sweep(ctx, runID)
}

func (eng *engine) sweep(ctx context.Context, runID string) ([]string, error) {
	filter := make(client.Filters).Add("label", LabelRun+"="+runID)
	var removed []string
	var errs []error
	cl, err := eng.cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: filter})
	if err != nil {
		return nil, fmt.Errorf("sweep: list containers: %s", oneLine(err))
	}
	for _, c := range cl.Items {
		name := c.ID[:12]
		if len(c.Names) > 0 {
			name = strings.TrimPrefix(c.Names[0], "/")
		}
		if err := eng.removeContainer(ctx, c.ID); err != nil {
			errs = append(errs, fmt.Errorf("sweep: remove container %s: %s", name, oneLine(err)))
			continue
		}
		removed = append(removed, "container "+name)
	}
	nl, err := eng.cli.NetworkList(ctx, client.NetworkListOptions{Filters: filter})
	if err != nil {
		return removed, errors.Join(append(errs, fmt.Errorf("sweep: list networks: %s", oneLine(err)))...)
	}
	for _, n := range nl.Items {
		if err := eng.removeNetwork(ctx, n.ID); err != nil {
			errs = append(errs, fmt.Errorf("sweep: remove network %s: %s", n.Name, oneLine(err)))
			continue
		}
		removed = append(removed, "network "+n.Name)
	}
	sort.Strings(removed)
	return removed, errors.Join(errs...)
}

func (eng *engine) removeContainer(ctx context.Context, id string) error {
	rctx, cancel := context.WithTimeout(ctx, EngineTimeout)
	defer cancel()
	// Force: kill and remove in one call. A verification target has nothing
	// to drain; its logs were captured before.
	_, err := eng.cli.ContainerRemove(rctx, id, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && cerrdefsNotFound(err) {
		return nil
	}
	return err
}

func (eng *engine) removeNetwork(ctx context.Context, id string) error {
	rctx, cancel := context.WithTimeout(ctx, EngineTimeout)
	defer cancel()
	_, err := eng.cli.NetworkRemove(rctx, id, client.NetworkRemoveOptions{})
	if err != nil && cerrdefsNotFound(err) {
		return nil
	}
	return err
}
