package cli

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
)

// A team keeps its suites in its own repository and builds its own gate
// binary (examples/team-gate is such a repository, a separate Go module).
// Built from that folder, the team's binary runs the team's specs and the
// technical PIV against the team's app; the generic piv binary, given the
// same definition, says how to build the team gate.
func TestTeamGateBuiltFromItsOwnModule(t *testing.T) {
	mod, _ := filepath.Abs("../examples/team-gate")
	bin := t.TempDir()
	for _, b := range []struct{ out, pkg string }{{"claims-gate", "./cmd/claims-gate"}, {"claims-app", "./cmd/claims-app"}} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(bin, b.out), b.pkg)
		cmd.Dir = mod
		// The example's go.sum follows piv's own go.mod through the
		// replace directive: let go add what a new piv dependency needs.
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s from %s: %v\n%s", b.pkg, mod, err, out)
		}
	}
	// Two nodes of the team's app on their own loopback addresses, and a
	// "service" address served by the first.
	first := freeAddr(t, "127.0.0.5")
	_, port, _ := net.SplitHostPort(first)
	var addrs []string
	for _, ip := range []string{"127.0.0.5", "127.0.0.6"} {
		addr := net.JoinHostPort(ip, port) // the same port on each node, as behind a balancer
		app := exec.Command(filepath.Join(bin, "claims-app"), "-listen", addr, "-version", "1.8.0", "-node", ip)
		app.Stderr = os.Stderr
		if err := app.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { app.Process.Kill(); app.Wait() })
		addrs = append(addrs, addr)
	}
	for _, a := range addrs {
		waitListening(t, a)
	}
	cfg := t.TempDir()
	def := fmt.Sprintf(`app: claims
service:
  url: http://claims.test:%s
  address: %s
nodes:
  - name: node-1
    address: %s
  - name: node-2
    address: %s
technical:
  ports: [%s]
  health: { path: /health, status: 200, json: { status: UP } }
  version: { path: /version, json: version }
  latency: { path: /health, samples: 3, p95: 2s }
suites: [claims]
`, port, addrs[0], addrs[0], addrs[1], port)
	os.WriteFile(filepath.Join(cfg, "claims.yaml"), []byte(def), 0o644)

	out := t.TempDir()
	run := func(binary string, args ...string) (int, string, string) {
		cmd := exec.Command(binary, args...)
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, so.String(), se.String()
	}
	code, so, se := run(filepath.Join(bin, "claims-gate"), "run", "claims", "--node", "node-1", "--expect-version", "1.8.0", "--config", cfg, "--out", out, "--timeout", "60s")
	if code != 0 {
		t.Fatalf("team gate: exit %d\n%s\n%s", code, so, se)
	}
	g := readGate(t, out)
	suites := map[string]int{}
	for _, c := range g.Checks {
		if c.State == gate.Passed {
			suites[c.Suite]++
		}
	}
	if suites["claims"] != 2 || suites["technical"] == 0 {
		t.Fatalf("checks by suite %v, want the team's 2 specs and the technical PIV\n%s", suites, so)
	}

	code, so, _ = run(filepath.Join(bin, "claims-gate"), "list", "claims", "--config", cfg)
	if code != 0 || !strings.Contains(so, "claims claims API files a claim and returns it by id") || !strings.Contains(so, "technical") {
		t.Fatalf("team gate list: exit %d\n%s", code, so)
	}

	code, so, se = run(pivBin, "run", "claims", "--node", "node-1", "--config", cfg, "--out", t.TempDir())
	if code != 2 || !strings.Contains(se, "cli.Main") || !strings.Contains(se, `no suite "claims"`) {
		t.Fatalf("generic piv on the team's definition: exit %d\n%s\n%s", code, so, se)
	}
}

func freeAddr(t *testing.T, ip string) string {
	t.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	ln.Close()
	return a
}

func waitListening(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 500; i++ { // bounded: 500 × 10 ms
		if c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond); err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never listened", addr)
}
