package ephemeral

import (
	"context"
	"errors"
	"fmt"
	"github.com/piv-gate/piv/pkg/timeouts"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/client"
	tc "github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/target"
)

// Poll pacing for readiness: start fast (a static binary is up in
// milliseconds), back off to PollMax. Each wait is bounded by its
// definition's timeout and by the run's context.
var (
	PollMin        = 10 * time.Millisecond
	PollMax        = 200 * time.Millisecond
	AttemptTimeout = timeouts.Default.EphemeralAttempt
)

// poll calls try until it returns nil, the container stops running, or ctx
// ends; it returns the last failure with why it stopped.
func poll(ctx context.Context, c *tc.DockerContainer, timeout time.Duration, what string, try func(context.Context) error) error {
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	interval := PollMin
	timer := time.NewTimer(0)
	defer timer.Stop()
	var last error
	for attempt := 1; ; attempt++ {
		actx, acancel := context.WithTimeout(wctx, AttemptTimeout)
		err := try(actx)
		acancel()
		if err == nil {
			return nil
		}
		last = err
		// A container that exited will never become ready: say so now
		// rather than at the deadline.
		if xerr := exited(wctx, c); xerr != nil {
			return fmt.Errorf("%w before %s: last attempt: %v", xerr, what, last)
		}
		timer.Reset(interval)
		select {
		case <-wctx.Done():
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted while waiting for %s after %d attempts: last: %v", what, attempt, last)
			}
			return fmt.Errorf("no %s within %s (%d attempts): last: %v", what, timeout, attempt, last)
		case <-timer.C:
		}
		interval = min(interval*2, PollMax)
	}
}

// exited says how the container stopped, or nil while it runs (or when its
// state cannot be read: the caller's own error then stands).
func exited(ctx context.Context, c *tc.DockerContainer) error {
	st, err := c.State(context.WithoutCancel(ctx))
	if err != nil || st.Running {
		return nil
	}
	if st.OOMKilled {
		return fmt.Errorf("container killed for lack of memory (OOMKilled, exit code %d)", st.ExitCode)
	}
	return fmt.Errorf("container %s (exit code %d)", st.Status, st.ExitCode)
}

// waitHealthy polls GET ephemeral.wait.path through the published port
// under the service's identity: Host and SNI are the service host name and
// the certificate is verified against the app's CA, never skipped.
func (e *Env) waitHealthy(ctx context.Context, app *config.App, c *tc.DockerContainer) error {
	w := app.Ephemeral.Wait
	path := w.Path
	if path == "" {
		path = "/"
	}
	timeout := w.Timeout.D()
	if timeout <= 0 {
		timeout = timeouts.Default.EphemeralWait
	}
	t := target.ForAddress(app, target.ScopeImage, e.Image, e.Address)
	tr := t.Transport()
	defer tr.CloseIdleConnections()
	hc := t.HTTPClient(tr)
	url := t.URLFor(path)
	return poll(ctx, c, timeout, "2xx answer on "+url, func(actx context.Context) error {
		req, err := http.NewRequestWithContext(actx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return nil
	})
}

// waitDependency applies a dependency's own wait: a log line
// (testcontainers' wait.ForLog), a TCP port, or both; none means "running".
func (e *Env) waitDependency(ctx context.Context, d config.Dependency, name string, c *tc.DockerContainer, step func(string, ...any)) error {
	timeout := d.Wait.Timeout.D()
	if timeout <= 0 {
		timeout = timeouts.Default.EphemeralWait
	}
	if d.Wait.Log != "" {
		step("waiting for %s log %q", d.Name, d.Wait.Log)
		wctx, cancel := context.WithTimeout(ctx, timeout)
		err := wait.ForLog(d.Wait.Log).WithStartupTimeout(timeout).WithPollInterval(50*time.Millisecond).WaitUntilReady(wctx, c)
		cancel()
		if err != nil {
			return fmt.Errorf("log line %q: %w", d.Wait.Log, err)
		}
	}
	if d.Wait.Port != 0 {
		addr, err := e.published(ctx, c, []int{d.Wait.Port})
		if err != nil {
			return err
		}
		step("waiting for %s port %d", d.Name, d.Wait.Port)
		return poll(ctx, c, timeout, "listener on port "+strconv.Itoa(d.Wait.Port), func(actx context.Context) error {
			return portAccepts(actx, addr[d.Wait.Port])
		})
	}
	return nil
}

// portAccepts dials a published port and holds the connection briefly.
// Through Docker's userland proxy a published port accepts even while
// nothing listens in the container, then drops the connection at once; a
// real listener keeps it open (or speaks first). So: accepted and not closed
// within a moment counts as listening. (testcontainers' ForListeningPort
// confirms from inside with /bin/sh, which FROM scratch images lack, and then
// trusts the outside dial alone.)
func portAccepts(ctx context.Context, addr string) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(75 * time.Millisecond))
	var b [1]byte
	_, err = conn.Read(b[:])
	var ne net.Error
	if err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		return nil
	}
	return fmt.Errorf("%s accepted then closed (nothing listening behind the published port yet): %v", addr, err)
}

// containerLogs returns the last MaxLogBytes of a container's stdout and
// stderr, interleaved as written.
func (eng *engine) containerLogs(ctx context.Context, id string) ([]byte, error) {
	lctx, cancel := context.WithTimeout(ctx, EngineTimeout)
	defer cancel()
	rc, err := eng.cli.ContainerLogs(lctx, id, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Tail: "5000"})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	t := &tail{max: MaxLogBytes}
	if _, err := stdcopy.StdCopy(t, t, rc); err != nil {
		return t.bytes(), err
	}
	return t.bytes(), nil
}

// tail keeps the last max bytes written.
type tail struct {
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	n := len(p)
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return n, nil
}

func (t *tail) bytes() []byte {
	if len(t.buf) > t.max {
		return t.buf[len(t.buf)-t.max:]
	}
	return t.buf
}

func cerrdefsNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
