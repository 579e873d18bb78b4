package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/watch/watchtest"
)

// lockedBuffer is a bytes.Buffer safe for the progress goroutine and the
// test reading it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type watchRun struct {
	code   int
	stdout string
	stderr string
	doc    map[string]any
}

// piv runs "piv watch args..." in process and reads continuity.json back.
func pivWatch(t *testing.T, ctx context.Context, stderr *lockedBuffer, args ...string) watchRun {
	t.Helper()
	var stdout bytes.Buffer
	if stderr == nil {
		stderr = &lockedBuffer{}
	}
	err := run(ctx, append([]string{"watch"}, args...), &stdout, stderr)
	r := watchRun{code: exitCode(err, stderr), stdout: stdout.String(), stderr: stderr.String()}
	for i, a := range args {
		if a == "--out" {
			data, err := os.ReadFile(filepath.Join(args[i+1], "continuity.json"))
			if err == nil {
				if err := json.Unmarshal(data, &r.doc); err != nil {
					t.Fatalf("continuity.json does not parse: %v", err)
				}
			}
		}
	}
	return r
}

func startServer(t *testing.T, host string) (*watchtest.Server, string) {
	t.Helper()
	srv, err := watchtest.Start(host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	ca, err := srv.WriteCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return srv, ca
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatchHealthyPasses(t *testing.T) {
	srv, ca := startServer(t, "127.0.0.2")
	out := t.TempDir()
	r := pivWatch(t, context.Background(), nil, srv.Target("node"), "--for", "500ms", "--ca", ca, "--out", out)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r.doc["schema"] != "piv.continuity/v1" || r.doc["verdict"] != "pass" || r.doc["stopped"] != "for" {
		t.Fatalf("continuity.json: %v", r.doc)
	}
	totals := r.doc["totals"].(map[string]any)
	if totals["sent"].(float64) < 2 || totals["failed"].(float64) != 0 {
		t.Fatalf("totals %v", totals)
	}
	tg := r.doc["targets"].([]any)[0].(map[string]any)
	if tg["name"] != "node" || tg["address"] != srv.Addr || tg["url"] != srv.URL() || tg["judged"] != true {
		t.Fatalf("target %v", tg)
	}
	for _, want := range []string{"node (judged)", "failed 0", "verdict: pass", "report: " + filepath.Join(out, "continuity.json")} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, r.stdout)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "continuity.html")); err != nil {
		t.Fatal(err)
	}
}

// The service answers, then goes away: exit 1, with the outage in the
// report, found by the progress lines (an event), not by sleeping.
func TestWatchOutageFails(t *testing.T) {
	srv, ca := startServer(t, "127.0.0.2")
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &lockedBuffer{}
	done := make(chan watchRun, 1)
	go func() {
		done <- pivWatch(t, ctx, stderr, "--interval", "10ms", "--progress", "10ms", "--ca", ca, "--out", out, srv.Target("svc"))
	}()
	waitUntil(t, "both streams answered", func() bool { return srv.Served("fresh") >= 3 && srv.Served("keepalive") >= 3 })
	srv.Stop()
	waitUntil(t, "the sampler to see the outage", func() bool { return strings.Contains(stderr.String(), "DOWN") })
	cancel() // what SIGTERM does: stop, report, exit by the verdict
	r := <-done
	if r.code != 1 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r.doc["verdict"] != "fail" || r.doc["stopped"] != "signal" || !strings.Contains(r.doc["reason"].(string), "failed requests") {
		t.Fatalf("continuity.json: verdict %v stopped %v reason %v", r.doc["verdict"], r.doc["stopped"], r.doc["reason"])
	}
	outages := r.doc["targets"].([]any)[0].(map[string]any)["outages"].([]any)
	if len(outages) != 1 {
		t.Fatalf("outages %v", outages)
	}
	o := outages[0].(map[string]any)
	if o["ongoing"] != true || o["failedSamples"].(float64) < 1 || !strings.Contains(strings.Join(strs(o["kinds"]), ","), "connect refused") {
		t.Fatalf("outage %v", o)
	}
	if !strings.Contains(r.stdout, "outage ") || !strings.Contains(r.stdout, "verdict: fail") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
}

func strs(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

// Nothing ever answered: inconclusive, and the report says so.
func TestWatchNeverAnsweredIsInconclusive(t *testing.T) {
	srv, ca := startServer(t, "127.0.0.2")
	srv.Stop()
	out := t.TempDir()
	r := pivWatch(t, context.Background(), nil, srv.Target("svc"), "--for", "300ms", "--interval", "20ms", "--ca", ca, "--out", out)
	if r.code != 3 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	if r.doc["verdict"] != "inconclusive" || !strings.Contains(r.doc["reason"].(string), "never answered") {
		t.Fatalf("continuity.json: %v %v", r.doc["verdict"], r.doc["reason"])
	}
	if !strings.Contains(r.stderr, "never answered") {
		t.Fatalf("stderr:\n%s", r.stderr)
	}
}

// A node that is down but only observed does not fail the service.
func TestWatchObservedNodeIsNotJudged(t *testing.T) {
	svc, ca := startServer(t, "127.0.0.2")
	node, _ := startServer(t, "127.0.0.3")
	node.Stop()
	out := t.TempDir()
	r := pivWatch(t, context.Background(), nil, svc.Target("lb"), "--observe", node.Target("app-02"), "--for", "300ms", "--ca", ca, "--out", out)
	if r.code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	tg := r.doc["targets"].([]any)[1].(map[string]any)
	if tg["judged"] != false || tg["failed"].(float64) == 0 || len(tg["outages"].([]any)) != 1 {
		t.Fatalf("observed target %v", tg)
	}
}

func TestWatchUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"--for", "1s"},
		{"https://quote.test/", "--interval", "soon"},
		{"https://quote.test/", "--interval", "0s"},
		{"https://quote.test/", "--max-failed", "-1"},
		{"https://quote.test/", "--for", "48h"},
		{"ftp://quote.test/"},
		{"https://quote.test/", "--ca", filepath.Join(dir, "missing.pem")},
		{"https://quote.test/", "--connect-to", "nonsense"},
		{"a=https://quote.test/", "a=https://other.test/"},
		{"https://quote.test/", "--no-such-flag"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"watch"}, args...), &stdout, &stderr)
		if code := exitCode(err, &stderr); code != 2 {
			t.Errorf("piv watch %q: exit %d, want 2\n%s", args, code, stderr.String())
		}
	}
}

func TestWatchHelp(t *testing.T) {
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"watch", "--help"}, &stdout, io.Discard)
	if err != nil || !strings.Contains(stdout.String(), "Examples:") || !strings.Contains(stdout.String(), "-max-outage") {
		t.Fatalf("err %v\n%s", err, stdout.String())
	}
}
