package session

import (
	"context"
	"errors"
	"fmt"
	"github.com/piv-gate/piv/pkg/timeouts"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/ephemeral"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/runner"
	"github.com/piv-gate/piv/pkg/secret"
	"github.com/piv-gate/piv/pkg/target"
)

// cleanupTimeout bounds removing containers after the run; it has its own
// context because the run's may already be cancelled (timeout, SIGTERM).
var cleanupTimeout = timeouts.Default.ContainerCleanup

// startImage starts --image (and its dependencies) and points the run at
// it. Docker unavailable makes the run inconclusive; a missing image is a
// usage error (nothing can run); a container that does not become healthy
// is a failed setup check with its logs attached.
func startImage(ctx context.Context, o *runner.Options, closers *[]func(*gate.Result), stderr io.Writer) error {
	app := o.App
	if app.Ephemeral == nil {
		return usagef("%s: --image needs an ephemeral: section (container port, wait path) in the app definition", app.Where("app"))
	}
	if err := expandEnv(app); err != nil {
		return usagef("%s: %v", app.Where("ephemeral", "env"), err)
	}
	start := time.Now()
	steps := &lastLine{w: secret.Writer{W: stderr}}
	stop := heartbeat(steps, "piv: starting image "+o.Image, ImageHeartbeat)
	env, err := ephemeral.Start(ctx, app, o.Image, ephemeral.Options{RunID: o.RunID, Progress: steps})
	stop()
	var missing *ephemeral.ImageMissingError
	var startErr *ephemeral.StartError
	switch {
	case err == nil:
	case errors.As(err, &missing) || errors.Is(err, ephemeral.ErrImageMissing):
		return usagef("%v", err)
	case errors.Is(err, ephemeral.ErrNoDocker):
		o.Abort = "Docker unavailable: " + err.Error()
		return nil
	case ctx.Err() != nil:
		o.Abort = "interrupted while starting " + o.Image
		return nil
	case errors.As(err, &startErr):
		c := gate.Check{Name: fmt.Sprintf("image %s starts and becomes healthy", o.Image), Suite: "image", Labels: []string{"technical"},
			State: gate.Failed, Blocking: true, Attempts: 1, DurationSeconds: time.Since(start).Seconds(),
			Failure: &gate.Failure{Message: err.Error()}, Attachments: writeLogs(o.OutDir, startErr.Logs)}
		o.SetupChecks = append(o.SetupChecks, c)
		return nil
	default:
		o.Abort = "could not start " + o.Image + ": " + err.Error()
		return nil
	}
	o.SetupChecks = append(o.SetupChecks, gate.Check{Name: fmt.Sprintf("image %s starts and becomes healthy", o.Image), Suite: "image",
		Labels: []string{"technical"}, State: gate.Passed, Blocking: true, Attempts: 1, DurationSeconds: time.Since(start).Seconds(),
		Attachments: []gate.Attachment{}})
	headers := o.Target.Headers
	o.Target = target.ForAddress(app, target.ScopeImage, o.Image, env.Address)
	o.Target.Headers = headers
	o.Target.PortMap = map[int]string{}
	for p, a := range env.Ports {
		o.Target.PortMap[p] = a
	}
	o.Target.PortMap[o.Target.Port()] = env.Address
	*closers = append(*closers, func(res *gate.Result) {
		cctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		if res != nil && res.Verdict != gate.Pass {
			if logs, err := env.Logs(cctx); err == nil {
				res.Attachments = append(res.Attachments, writeLogs(o.OutDir, logs)...)
			}
		}
		if err := env.Close(cctx); err != nil {
			fmt.Fprintf(stderr, "piv: cleaning up containers of run %s: %v (leftovers carry label piv.run=%s)\n", o.RunID, err, env.RunID)
		}
	})
	return nil
}

// ImageHeartbeat is how often starting an image says it is still going
// (pulling nothing, but building dependencies and waiting for health can
// take a minute). A variable for tests.
var ImageHeartbeat = 10 * time.Second

// heartbeat writes "<what>: 12s, last: <step>" to w every interval until
// stop is called; stop returns once the goroutine is gone (no leak, and
// nothing is written after it).
func heartbeat(w *lastLine, what string, interval time.Duration) (stop func()) {
	done, gone := make(chan struct{}), make(chan struct{})
	start := time.Now()
	go func() {
		defer close(gone)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				w.heartbeat(fmt.Sprintf("%s: %s", what, now.Sub(start).Round(time.Second)))
			}
		}
	}()
	return func() { close(done); <-gone }
}

// lastLine serialises the writes of a step reporter and a heartbeat to one
// writer and remembers the last step, which the heartbeat repeats.
type lastLine struct {
	mu   sync.Mutex
	w    io.Writer
	last string
}

var stepTiming = regexp.MustCompile(`\s*\[\s*[0-9.]+s\]\s*$`)

func (l *lastLine) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := strings.TrimSpace(string(p)); s != "" {
		if i := strings.LastIndexByte(s, '\n'); i >= 0 {
			s = s[i+1:]
		}
		l.last = stepTiming.ReplaceAllString(strings.TrimPrefix(s, "ephemeral: "), "")
	}
	return l.w.Write(p)
}

func (l *lastLine) heartbeat(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.last != "" {
		line += ", last: " + l.last
	}
	fmt.Fprintln(l.w, line)
}

// writeLogs stores container logs as attachments (redacted: apps log secrets).
func writeLogs(dir string, logs map[string][]byte) []gate.Attachment {
	out := []gate.Attachment{}
	names := make([]string, 0, len(logs))
	for n := range logs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		rel := filepath.Join("attachments", "container-"+filepath.Base(n)+".log")
		p := filepath.Join(dir, rel)
		if os.MkdirAll(filepath.Dir(p), 0o755) != nil || os.WriteFile(p, secret.RedactBytes(logs[n]), 0o644) != nil {
			continue
		}
		out = append(out, gate.Attachment{Name: "container log " + n, ContentType: "text/plain", Path: rel})
	}
	return out
}

// expandEnv replaces ${NAME} in ephemeral.env values with piv's own
// environment, so a definition can hand the container a secret without
// writing it down. Expanded values are registered for redaction; an unset
// variable is an error rather than an empty password.
func expandEnv(app *config.App) error {
	var missing []string
	for k, v := range app.Ephemeral.Env {
		if !strings.Contains(v, "${") {
			continue
		}
		app.Ephemeral.Env[k] = os.Expand(v, func(name string) string {
			val, ok := os.LookupEnv(name)
			if !ok {
				missing = append(missing, name)
				return ""
			}
			secret.Register(val)
			return val
		})
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return fmt.Errorf("ephemeral.env uses unset variable(s) %s: export them in piv's environment", strings.Join(missing, ", "))
	}
	return nil
}
