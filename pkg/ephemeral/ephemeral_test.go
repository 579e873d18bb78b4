package ephemeral

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/target"
)

// Real Docker, real images: the demo image is built (classic builder, FROM
// scratch, no registry) when missing. Nothing here is skipped.
const demoImage = "piv-quoteapp:2.4.1"

var repoRoot = func() string { r, _ := filepath.Abs("../.."); return r }()

func TestMain(m *testing.M) {
	if err := prepare(); err != nil {
		fmt.Fprintln(os.Stderr, "ephemeral tests:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func prepare() error {
	if _, err := os.Stat(filepath.Join(repoRoot, "fixtures/tls/generated/quote.pem")); err != nil {
		cmd := exec.Command("go", "run", "./fixtures/tls/gen")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("generate TLS material: %v\n%s", err, out)
		}
	}
	if exec.Command("docker", "image", "inspect", demoImage).Run() != nil {
		cmd := exec.Command(filepath.Join(repoRoot, "fixtures/images/build.sh"), "2.4.1")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", demoImage, err, out)
		}
	}
	return nil
}

func loadQuote(t testing.TB) *config.App {
	t.Helper()
	app, err := config.Load(filepath.Join(repoRoot, "fixtures/apps/quote.yaml"))
	if err != nil {
		t.Fatalf("load quote.yaml: %v", err)
	}
	if app.Ephemeral == nil {
		t.Fatal("quote.yaml has no ephemeral section")
	}
	return app
}

// withEphemeral returns a copy of app whose ephemeral section is changed by f.
func withEphemeral(app *config.App, f func(e *config.Ephemeral)) *config.App {
	cp := *app
	e := *app.Ephemeral
	e.Env = map[string]string{}
	for k, v := range app.Ephemeral.Env {
		e.Env[k] = v
	}
	e.Files = append([]config.File(nil), app.Ephemeral.Files...)
	f(&e)
	cp.Ephemeral = &e
	return &cp
}

func runID(t testing.TB) string { return NewRunID("t-" + sanitize(t.Name())) }

// assertNothingLeft asks the docker CLI, independently of this package,
// for anything labelled with the run id.
func assertNothingLeft(t testing.TB, id string) {
	t.Helper()
	for _, args := range [][]string{
		{"ps", "-a", "-q", "--filter", "label=piv.run=" + id},
		{"network", "ls", "-q", "--filter", "label=piv.run=" + id},
	} {
		out, err := exec.Command("docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		if s := strings.TrimSpace(string(out)); s != "" {
			t.Errorf("leftovers after run %s: docker %s:\n%s", id, strings.Join(args, " "), s)
		}
	}
}

// syncBuffer is a Progress writer safe to read while Start writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	on func(line string)
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	s.b.Write(p)
	on := s.on
	s.mu.Unlock()
	if on != nil {
		on(string(p))
	}
	return len(p), nil
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func getJSON(t *testing.T, app *config.App, env *Env, path string) map[string]any {
	t.Helper()
	tgt := target.ForAddress(app, target.ScopeImage, env.Image, env.Address)
	tr := tgt.Transport()
	defer tr.CloseIdleConnections()
	resp, err := tgt.HTTPClient(tr).Get(tgt.URLFor(path))
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if resp.TLS == nil || resp.TLS.ServerName != "quote.test" || len(resp.TLS.VerifiedChains) == 0 {
		t.Fatalf("GET %s: want TLS to quote.test verified against the demo CA, got %+v", path, resp.TLS)
	}
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return v
}

func TestStartServesVersionAndCloseLeavesNothing(t *testing.T) {
	app := loadQuote(t)
	id := runID(t)
	var progress syncBuffer
	env, err := Start(t.Context(), app, demoImage, Options{RunID: id, Progress: &progress})
	if err != nil {
		t.Fatalf("Start: %v\nprogress:\n%s", err, progress.String())
	}
	t.Cleanup(func() { env.Close(context.Background()) })
	t.Logf("progress:\n%s", progress.String())

	if !strings.HasPrefix(env.Address, "127.0.0.1:") || env.Ports[8443] != env.Address || env.Image != demoImage || env.RunID != id {
		t.Errorf("env = %+v", env)
	}
	if v := getJSON(t, app, env, "/version"); v["version"] != "2.4.1" {
		t.Errorf("/version = %v, want version 2.4.1", v)
	}
	for _, want := range []string{"checking Docker engine", "starting network", "starting quote (" + demoImage + ")", "waiting for health https://quote.test:8443/health via 127.0.0.1:", "ready: quote at"} {
		if !strings.Contains(progress.String(), want) {
			t.Errorf("progress lacks %q:\n%s", want, progress.String())
		}
	}

	logs, err := env.Logs(t.Context())
	if err != nil {
		t.Fatalf("Logs: %v", err)
	}
	name := "piv-" + sanitize(id) + "-quote"
	if !strings.Contains(string(logs[name]), "version 2.4.1 listening on https://") {
		t.Errorf("logs[%s] = %q", name, logs[name])
	}

	before := progress.String()
	cctx, cancel := context.WithCancel(context.Background())
	cancel() // Close must not depend on the caller's context being alive
	if err := env.Close(cctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := env.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	t.Logf("close:\n%s", strings.TrimPrefix(progress.String(), before))
	assertNothingLeft(t, id)
	after, err := env.Logs(t.Context())
	if err != nil || !bytes.Equal(after[name], logs[name]) && !bytes.HasPrefix(after[name], logs[name]) {
		t.Errorf("Logs after Close = %q, %v; want the captured log", after[name], err)
	}
}

func TestCancelDuringStartCleansUp(t *testing.T) {
	for _, at := range []string{"starting network", "starting quote", "waiting for health"} {
		t.Run(strings.ReplaceAll(at, " ", "-"), func(t *testing.T) {
			app := withEphemeral(loadQuote(t), func(e *config.Ephemeral) {
				e.Env["QUOTE_APP_WARMUP"] = "1h" // never healthy: the cancel lands in the wait
			})
			id := runID(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			progress := &syncBuffer{on: func(line string) {
				if strings.Contains(line, "ephemeral: "+at) {
					cancel()
				}
			}}
			began := time.Now()
			env, err := Start(ctx, app, demoImage, Options{RunID: id, Progress: progress})
			if err == nil {
				env.Close(context.Background())
				t.Fatal("Start succeeded after cancel")
			}
			if env != nil || !errors.Is(err, context.Canceled) {
				t.Errorf("Start = %v, %v; want nil env and an error wrapping context.Canceled", env, err)
			}
			if d := time.Since(began); d > 10*time.Second {
				t.Errorf("Start took %s after cancel", d)
			}
			assertNothingLeft(t, id)
		})
	}
}

func TestMissingImageIsClearAndFast(t *testing.T) {
	id := runID(t)
	began := time.Now()
	env, err := Start(t.Context(), loadQuote(t), "piv-quoteapp:0.0.0-missing", Options{RunID: id})
	if env != nil {
		env.Close(context.Background())
	}
	if !errors.Is(err, ErrImageMissing) {
		t.Fatalf("err = %v, want ErrImageMissing", err)
	}
	if d := time.Since(began); d > 3*time.Second {
		t.Errorf("took %s: a missing image must fail at once, never pull", d)
	}
	for _, want := range []string{`"piv-quoteapp:0.0.0-missing"`, "never pulls", "make images", "docker load -i"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message lacks %q: %v", want, err)
		}
	}
	assertNothingLeft(t, id)

	// A dependency's missing image is caught before anything starts too.
	app := withEphemeral(loadQuote(t), func(e *config.Ephemeral) {
		e.Dependencies = []config.Dependency{{Name: "db", Image: "piv-db:missing"}}
	})
	_, err = Start(t.Context(), app, demoImage, Options{RunID: id})
	var im *ImageMissingError
	if !errors.As(err, &im) || im.Image != "piv-db:missing" || im.For != "dependency db" {
		t.Fatalf("err = %v, want ImageMissingError for dependency db", err)
	}
	assertNothingLeft(t, id)
}

func TestNoDockerSaysWhatWasTried(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///nonexistent.sock")
	began := time.Now()
	_, err := Start(t.Context(), loadQuote(t), demoImage, Options{})
	if !errors.Is(err, ErrNoDocker) {
		t.Fatalf("err = %v, want ErrNoDocker", err)
	}
	if d := time.Since(began); d > 6*time.Second {
		t.Errorf("took %s", d)
	}
	msg := err.Error()
	for _, want := range []string{"unix:///nonexistent.sock (DOCKER_HOST)", "dial unix /nonexistent.sock", "no such file or directory"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q: %s", want, msg)
		}
	}
	if strings.Contains(msg, "\n") || strings.Contains(msg, "panic") {
		t.Errorf("want one clear line, got %q", msg)
	}
	if _, err := Sweep(t.Context(), "x"); !errors.Is(err, ErrNoDocker) {
		t.Errorf("Sweep: %v, want ErrNoDocker", err)
	}
}

func TestDependencyReachableByAliasFromAppNetwork(t *testing.T) {
	probe := filepath.Join(t.TempDir(), "probe")
	build := exec.Command("go", "build", "-o", probe, "./testdata/probe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build probe: %v\n%s", err, out)
	}
	app := withEphemeral(loadQuote(t), func(e *config.Ephemeral) {
		e.Files = append(e.Files, config.File{Source: probe, Target: "/probe", Mode: 0o755})
		e.Dependencies = []config.Dependency{{
			// The demo image stands in for a dependency: plain HTTP on 8080.
			Name:  "pricing",
			Image: demoImage,
			Env:   map[string]string{"QUOTE_APP_LISTEN": ":8080", "QUOTE_APP_VERSION": "9.9.9-pricing"},
			Wait:  config.Wait{Port: 8080, Log: "listening on http://", Timeout: config.Duration(20 * time.Second)},
		}}
	})
	id := runID(t)
	var progress syncBuffer
	env, err := Start(t.Context(), app, demoImage, Options{RunID: id, Progress: &progress})
	if err != nil {
		t.Fatalf("Start: %v\n%s", err, progress.String())
	}
	defer func() {
		if err := env.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		assertNothingLeft(t, id)
	}()
	p := progress.String()
	if !(strings.Index(p, "starting pricing") < strings.Index(p, "waiting for pricing port 8080") &&
		strings.Index(p, "waiting for pricing port 8080") < strings.Index(p, "starting quote")) ||
		!strings.Contains(p, `waiting for pricing log "listening on http://"`) {
		t.Errorf("want the dependency started and waited for before the app:\n%s", p)
	}

	var app0 *started
	for i := range env.containers {
		if strings.HasSuffix(env.containers[i].name, "-quote") {
			app0 = &env.containers[i]
		}
	}
	if app0 == nil {
		t.Fatalf("no app container in %+v", env.containers)
	}
	code, out, err := app0.ctr.Exec(t.Context(), []string{"/probe", "http://pricing:8080/version"})
	if err != nil {
		t.Fatalf("exec probe: %v", err)
	}
	b, _ := io.ReadAll(out)
	if code != 0 || !strings.Contains(string(b), `"version":"9.9.9-pricing"`) {
		t.Errorf("probe from the app container to pricing:8080 = exit %d, %q", code, b)
	}
	logs, _ := env.Logs(t.Context())
	if len(logs) != 2 {
		t.Errorf("Logs keys = %d, want app and dependency", len(logs))
	}
}

func TestStartupFailureReportsLogsAndCleansUp(t *testing.T) {
	cases := map[string]struct {
		change   func(e *config.Ephemeral)
		within   time.Duration
		wantErr  []string
		wantLogs string
	}{
		"exits": {
			change:   func(e *config.Ephemeral) { e.Env["QUOTE_APP_CERT"] = "/tls/absent.pem" },
			within:   10 * time.Second,
			wantErr:  []string{"quote not healthy", "container exited (exit code 2)", "--- last log lines of piv-"},
			wantLogs: "absent.pem",
		},
		"never healthy": {
			change: func(e *config.Ephemeral) {
				e.Env["QUOTE_APP_WARMUP"] = "1h"
				e.Wait.Timeout = config.Duration(time.Second)
			},
			within:   10 * time.Second,
			wantErr:  []string{"quote not healthy", "within 1s", "503 Service Unavailable", "--- last log lines of piv-"},
			wantLogs: "warmup 1h0m0s",
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			id := runID(t)
			began := time.Now()
			env, err := Start(t.Context(), withEphemeral(loadQuote(t), tc.change), demoImage, Options{RunID: id})
			if err == nil {
				env.Close(context.Background())
				t.Fatal("Start succeeded")
			}
			if d := time.Since(began); d > tc.within {
				t.Errorf("took %s", d)
			}
			var se *StartError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *StartError", err)
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
			if !strings.Contains(string(se.Logs[se.Container]), tc.wantLogs) {
				t.Errorf("StartError.Logs[%s] = %q, want %q", se.Container, se.Logs[se.Container], tc.wantLogs)
			}
			assertNothingLeft(t, id)
		})
	}
}

func TestSweepRemovesLeftoversOfAKilledRun(t *testing.T) {
	id := runID(t)
	for _, args := range [][]string{
		{"network", "create", "--label", "piv.run=" + id, "piv-" + sanitize(id)},
		{"create", "--label", "piv.run=" + id, "--name", "piv-" + sanitize(id) + "-orphan", demoImage},
	} {
		if out, err := exec.Command("docker", args...).CombinedOutput(); err != nil {
			t.Fatalf("docker %v: %v\n%s", args, err, out)
		}
	}
	removed, err := Sweep(t.Context(), id)
	if err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	want := []string{"container piv-" + sanitize(id) + "-orphan", "network piv-" + sanitize(id)}
	if fmt.Sprint(removed) != fmt.Sprint(want) {
		t.Errorf("Sweep removed %q, want %q", removed, want)
	}
	assertNothingLeft(t, id)
}

// BenchmarkStartStop: Start (network, container, files, TLS health wait) +
// Close of the demo image. Compare with BenchmarkBareDocker, the same work
// done with the Docker CLI, for piv's own overhead.
func BenchmarkStartStop(b *testing.B) {
	app := loadQuote(b)
	var start, stop time.Duration
	for b.Loop() {
		id := runID(b)
		t0 := time.Now()
		env, err := Start(context.Background(), app, demoImage, Options{RunID: id})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := env.Close(context.Background()); err != nil {
			b.Fatal(err)
		}
		start += t1.Sub(t0)
		stop += time.Since(t1)
	}
	b.ReportMetric(float64(start.Milliseconds())/float64(b.N), "start-ms/op")
	b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "close-ms/op")
}
