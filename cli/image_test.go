package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/piv-gate/piv/pkg/gate"
)

var imagesOnce sync.Once

// demoImages makes sure the demo images and TLS material exist (make test
// builds them first; a bare `go test` builds them here).
func demoImages(t *testing.T) {
	t.Helper()
	imagesOnce.Do(func() {
		for _, c := range [][]string{{"go", "run", "./fixtures/tls/gen", "-out", "fixtures/tls/generated", "-host", "quote.test"}, {"fixtures/images/build.sh"}} {
			cmd := exec.Command(c[0], c[1:]...)
			cmd.Dir = ".."
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %v\n%s", c, err, out)
			}
		}
	})
}

func leftovers(t *testing.T, runID string) string {
	out, _ := exec.Command("docker", "ps", "-aq", "--filter", "label=piv.run="+runID).CombinedOutput()
	nets, _ := exec.Command("docker", "network", "ls", "-q", "--filter", "label=piv.run="+runID).CombinedOutput()
	return strings.TrimSpace(string(out) + string(nets))
}

func imageRun(t *testing.T, env []string, args ...string) runOut {
	t.Helper()
	return pivRun(t, nil, append(env, "QUOTE_TEST_PASSWORD=piv-demo-password"),
		append(append([]string{"run"}, args...), "--config", "../fixtures/apps", "--label-filter", "!browser")...)
}

func TestImageGateGoodAndFaulty(t *testing.T) {
	demoImages(t)
	r := imageRun(t, nil, "quote", "--image", "piv-quoteapp:2.4.1", "--expect-version", "2.4.1")
	wantExit(t, r, 0)
	if r.gate.Target.Scope != "image" || r.gate.ObservedVersion != "2.4.1" || !strings.HasPrefix(r.gate.Target.Address, "127.0.0.1:") {
		t.Fatalf("gate: %+v", r.gate.Target)
	}
	if l := leftovers(t, r.gate.RunID); l != "" {
		t.Fatalf("left behind after a pass: %s", l)
	}

	r = imageRun(t, nil, "quote", "--image", "piv-quoteapp:2.4.2-bad", "--expect-version", "2.4.2")
	wantExit(t, r, 1)
	var logs []gate.Attachment
	for _, a := range r.gate.Attachments {
		if strings.HasPrefix(a.Name, "container log") {
			logs = append(logs, a)
		}
	}
	if len(logs) == 0 {
		t.Fatalf("no container log attached: %+v", r.gate.Attachments)
	}
	if b, err := os.ReadFile(filepath.Join(r.out, logs[0].Path)); err != nil || !strings.Contains(string(b), "quoteapp") {
		t.Fatalf("container log %s: %v %q", logs[0].Path, err, b)
	}
	if !strings.Contains(r.stdout, "expected status 201, got 500") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	if l := leftovers(t, r.gate.RunID); l != "" {
		t.Fatalf("left behind after a fail: %s", l)
	}
}

func TestImageMissingIsAUsageErrorWithHowTo(t *testing.T) {
	r := imageRun(t, nil, "quote", "--image", "piv-quoteapp:does-not-exist")
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, "make images") || !strings.Contains(r.stderr, "never pulls") {
		t.Fatalf("stderr: %s", r.stderr)
	}
}

func TestNoDockerEngineIsInconclusive(t *testing.T) {
	r := imageRun(t, []string{"DOCKER_HOST=unix:///nonexistent/docker.sock"}, "quote", "--image", "piv-quoteapp:2.4.1")
	wantExit(t, r, 3)
	if !strings.Contains(r.gate.Reason, "/nonexistent/docker.sock") {
		t.Fatalf("reason should say what was tried: %q", r.gate.Reason)
	}
}

// SIGTERM while the suites run against a container: inconclusive, gate.json
// written, and the container and network removed.
func TestImageCleanedUpOnSIGTERM(t *testing.T) {
	demoImages(t)
	abs, _ := filepath.Abs("../fixtures/apps")
	y, err := os.ReadFile(filepath.Join(abs, "quote.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(y), "../tls/generated", filepath.Join(filepath.Dir(abs), "tls", "generated"))
	s = strings.Replace(s, "suites: [quote]", "suites: [selftest]\nsettings: { mode: hang }", 1)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "quote.yaml"), []byte(s), 0o644)
	out := t.TempDir()
	cmd := exec.Command(pivBin, "run", "quote", "--image", "piv-quoteapp:2.4.1", "--label-filter", "functional", "--config", dir, "--out", out)
	cmd.Env = append(os.Environ(), "QUOTE_TEST_PASSWORD=piv-demo-password")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	var seen strings.Builder
	for !strings.Contains(seen.String(), "settled") {
		n, err := stderr.Read(buf)
		if err != nil {
			t.Fatalf("piv ended before settling:\n%s", seen.String())
		}
		seen.Write(buf[:n])
	}
	cmd.Process.Signal(os.Interrupt)
	go func() {
		for {
			if _, err := stderr.Read(buf); err != nil {
				return
			}
		}
	}()
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("want exit 3, got %v", err)
	}
	g := readGate(t, out)
	if g == nil || g.Verdict != gate.Inconclusive || !strings.Contains(g.Reason, "SIGINT") {
		t.Fatalf("gate: %+v", g)
	}
	if l := leftovers(t, g.RunID); l != "" {
		t.Fatalf("left behind after SIGINT: %s", l)
	}
}
