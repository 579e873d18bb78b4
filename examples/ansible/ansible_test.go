// Package ansible holds the Ansible reference of a rolling deployment gated
// by piv (rolling.yml) and its acceptance tests against real things: Debian's
// ansible with community.general.haproxy, a real HAProxy in front of three
// quoteapp nodes (fixtures/fleet), bin/piv built from this tree as the gate
// and as the continuity watch.
package ansible_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Timeouts, named in one place.
const (
	playTimeout  = 6 * time.Minute  // one ansible-playbook run, every gate included
	stepTimeout  = 30 * time.Second // fleet start/stop, watch start and stop
	oldVersion   = "2.4.1"
	goodVersion  = "2.4.2"
	badVersion   = "2.4.3"
	badFaults    = "quote-500"
	minRequests  = 300
	demoPassword = "piv-demo-password"
)

var (
	root string
	bins struct{ piv, quoteapp, hactl string }
)

func TestMain(m *testing.M) {
	os.Exit(func() int {
		var err error
		if root, err = filepath.Abs("../.."); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		tmp, err := os.MkdirTemp("", "piv-ansible-bin-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		for _, b := range []struct {
			dst *string
			pkg string
		}{{&bins.piv, "./cmd/piv"}, {&bins.quoteapp, "./fixtures/quoteapp"}, {&bins.hactl, "./fixtures/fleet/hactl"}} {
			*b.dst = filepath.Join(tmp, filepath.Base(b.pkg))
			cmd := exec.Command("go", "build", "-o", *b.dst, b.pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", b.pkg, err, out)
				return 1
			}
		}
		return m.Run()
	}())
}

// env is one test's private demo fleet: its own port, state folder and TLS material.
type env struct {
	t                          *testing.T
	port, state, tls, out, cfg string
	vars                       []string
}

func requireTools(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ansible-playbook"); err != nil {
		t.Fatal("ansible-playbook is required (Debian's ansible, with community.general.haproxy): apt-get install -y ansible")
	}
	if _, err := os.Stat("/usr/sbin/haproxy"); err != nil {
		t.Fatal("HAProxy is required (a real balancer, no stand-in): apt-get install -y haproxy")
	}
}

func newEnv(t *testing.T) *env {
	t.Helper()
	requireTools(t)
	tmp := t.TempDir()
	e := &env{t: t, port: freePort(t), state: filepath.Join(tmp, "state"), tls: filepath.Join(tmp, "tls"), out: filepath.Join(tmp, "reports"), cfg: filepath.Join(tmp, "apps")}
	e.vars = append(os.Environ(),
		"PIV_FLEET_DIR="+e.state, "LB_ADDR=127.0.0.1:"+e.port, "NODE_PORT="+e.port, "TLS_DIR="+e.tls,
		"QUOTEAPP_BIN="+bins.quoteapp, "HACTL="+bins.hactl, "VERSION="+oldVersion,
		"QUOTE_APP_PASSWORD="+demoPassword, "QUOTE_TEST_PASSWORD="+demoPassword)
	t.Cleanup(func() {
		if out, err := e.run(stepTimeout, filepath.Join(root, "fixtures/fleet/fleet.sh"), "stop"); err != nil {
			t.Errorf("fleet.sh stop: %v\n%s", err, out)
		}
	})
	if out, err := e.run(stepTimeout, filepath.Join(root, "fixtures/fleet/fleet.sh"), "start"); err != nil {
		t.Fatalf("fleet.sh start: %v\n%s", err, out)
	}
	// The app definition for this fleet, as fixtures/rolling/rollout.sh writes it.
	def, err := os.ReadFile(filepath.Join(root, "fixtures/apps/quote.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tech := string(def[strings.Index(string(def), "technical:"):])
	tech = strings.Replace(tech, "[8443]", "["+e.port+"]", 1)
	tech = regexp.MustCompile(`(?s)\nephemeral:.*`).ReplaceAllString(tech, "\n")
	var b strings.Builder
	fmt.Fprintf(&b, "app: quote\nservice:\n  url: https://quote.test:%s\n  ca: %s/ca.pem\n  address: 127.0.0.1:%s\nnodes:\n", e.port, e.tls, e.port)
	for _, n := range nodes {
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n", n.name, n.ip)
	}
	b.WriteString(tech)
	os.MkdirAll(e.cfg, 0o755)
	if err := os.WriteFile(filepath.Join(e.cfg, "quote.yaml"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return e
}

var nodes = []struct{ name, ip string }{{"app-01", "127.0.0.2"}, {"app-02", "127.0.0.3"}, {"app-03", "127.0.0.4"}}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, p, _ := net.SplitHostPort(ln.Addr().String())
	return p
}

func (e *env) run(timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir, cmd.Env, cmd.WaitDelay = root, e.vars, 5*time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// watch starts piv watch through the balancer; stop ends it and returns continuity.json.
func (e *env) watch() (stop func() continuity) {
	e.t.Helper()
	dir := filepath.Join(e.t.TempDir(), "watch")
	os.MkdirAll(dir, 0o755)
	url := "https://quote.test:" + e.port + "/health"
	cmd := exec.Command(bins.piv, "watch", "lb="+url+"@127.0.0.1:"+e.port, "--ca", filepath.Join(e.tls, "ca.pem"), "--out", dir, "--progress", "1s")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	started := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if !sent && strings.HasPrefix(sc.Text(), "piv watch: ") {
				started <- true
				sent = true
			}
		}
		if !sent {
			started <- false
		}
	}()
	select {
	case ok := <-started:
		if !ok {
			cmd.Wait()
			e.t.Fatal("piv watch exited before sampling")
		}
	case <-time.After(stepTimeout):
		cmd.Process.Kill()
		cmd.Wait()
		e.t.Fatalf("piv watch did not start sampling within %s", stepTimeout)
	}
	done := false
	e.t.Cleanup(func() {
		if !done {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return func() continuity {
		done = true
		cmd.Process.Signal(syscall.SIGTERM)
		waited := make(chan error, 1)
		go func() { waited <- cmd.Wait() }()
		select {
		case <-waited:
		case <-time.After(stepTimeout):
			cmd.Process.Kill()
			<-waited
			e.t.Fatalf("piv watch did not stop within %s of SIGTERM", stepTimeout)
		}
		var c continuity
		readJSON(e.t, filepath.Join(dir, "continuity.json"), &c)
		return c
	}
}

type continuity struct {
	Verdict, Reason string
	Totals          struct{ Sent, Failed int }
}

type gateDoc struct {
	Verdict, Reason, ExpectedVersion, ObservedVersion string
	DurationSeconds                                   float64
	Target                                            struct{ Scope, Node string }
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// play runs rolling.yml with this fleet's variables; returns output, exit code and wall time.
func (e *env) play(extra map[string]any) (string, int, time.Duration) {
	e.t.Helper()
	vars := map[string]any{
		"piv_bin": bins.piv, "piv_config": e.cfg, "piv_reports": e.out,
		"haproxy_socket": filepath.Join(e.state, "haproxy.sock"), "previous_version": oldVersion,
	}
	for k, v := range extra {
		vars[k] = v
	}
	b, _ := json.Marshal(vars)
	f := filepath.Join(e.t.TempDir(), "vars.json")
	os.WriteFile(f, b, 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), playTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ansible-playbook", "rolling.yml", "-e", "@"+f)
	cmd.Dir = filepath.Join(root, "examples/ansible")
	cmd.Env = append(e.vars, "ANSIBLE_CONFIG="+filepath.Join(cmd.Dir, "ansible.cfg"), "ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0")
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("ansible-playbook: %v\n%s", err, out)
	}
	return string(out), code, took
}

func (e *env) hactlStatus(name string) string {
	e.t.Helper()
	out, err := e.run(stepTimeout, bins.hactl, "-sock", filepath.Join(e.state, "haproxy.sock"), "servers")
	if err != nil {
		e.t.Fatalf("hactl servers: %v\n%s", err, out)
	}
	for _, line := range strings.Split(out, "\n") {
		if fs := strings.Fields(line); len(fs) >= 2 && fs[0] == name {
			return fs[1]
		}
	}
	e.t.Fatalf("hactl servers: no %s in\n%s", name, out)
	return ""
}

// version asks the node itself, pinned, with the service host name kept.
func (e *env) version(ip string) string {
	e.t.Helper()
	pem, err := os.ReadFile(filepath.Join(e.tls, "ca.pem"))
	if err != nil {
		e.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, net.JoinHostPort(ip, e.port))
		}}}
	defer c.CloseIdleConnections()
	res, err := c.Get("https://quote.test:" + e.port + "/version")
	if err != nil {
		e.t.Fatalf("GET /version on %s: %v", ip, err)
	}
	defer res.Body.Close()
	var v struct{ Version string }
	if err := json.NewDecoder(res.Body).Decode(&v); err != nil {
		e.t.Fatal(err)
	}
	return v.Version
}

func (e *env) pid(node string) int {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.state, node+".pid"))
	if err != nil {
		e.t.Fatal(err)
	}
	p, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		e.t.Fatal(err)
	}
	return p
}

var timing = regexp.MustCompile(`piv-timing node=(\S+) drain_to_ready=([0-9.]+)`)

// A good release rolled over three nodes: every node gated and back in the
// pool at the new version, the fleet (or service) gate passed, and through
// the balancer not one of >= 300 requests failed.
func TestAnsibleRollsAGoodRelease(t *testing.T) {
	e := newEnv(t)
	stop := e.watch()
	out, code, took := e.play(map[string]any{"release_version": goodVersion})
	c := stop()
	if code != 0 {
		t.Fatalf("ansible-playbook: exit %d, want 0\n%s", code, tail(out, 60))
	}
	if c.Totals.Failed != 0 || c.Verdict != "pass" {
		t.Errorf("continuity: %d of %d requests failed: %s %s", c.Totals.Failed, c.Totals.Sent, c.Verdict, c.Reason)
	}
	if c.Totals.Sent < minRequests {
		t.Errorf("only %d requests through the balancer during the roll, want >= %d", c.Totals.Sent, minRequests)
	}
	drainToReady := map[string]float64{}
	for _, m := range timing.FindAllStringSubmatch(out, -1) {
		drainToReady[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	for _, n := range nodes {
		var g gateDoc
		readJSON(t, filepath.Join(e.out, "gate-"+n.name, "gate.json"), &g)
		if g.Verdict != "pass" || g.ObservedVersion != goodVersion || g.Target.Node != n.name {
			t.Errorf("gate %s: %+v", n.name, g)
		}
		if v := e.version(n.ip); v != goodVersion {
			t.Errorf("%s runs %s, want %s", n.name, v, goodVersion)
		}
		if st := e.hactlStatus(n.name); st != "UP" {
			t.Errorf("%s is %s in HAProxy after the roll, want UP", n.name, st)
		}
		if d := drainToReady[n.name]; d > 0 {
			t.Logf("%s: drain to ready %.2fs, gate %.2fs (%.0f%% of the node's time)", n.name, d, g.DurationSeconds, 100*g.DurationSeconds/d)
		} else {
			t.Errorf("%s: no timing line in the play's output", n.name)
		}
	}
	scope := "service"
	if _, err := os.Stat(filepath.Join(e.out, "gate-fleet", "gate.json")); err == nil {
		scope = "fleet"
	}
	var last gateDoc
	readJSON(t, filepath.Join(e.out, "gate-"+scope, "gate.json"), &last)
	if last.Verdict != "pass" || last.ObservedVersion != goodVersion {
		t.Errorf("%s gate after the last node: %+v", scope, last)
	}
	t.Logf("roll of 3 nodes: %s; %s gate %.2fs; watch: %d requests, %d failed", took.Round(time.Millisecond), scope, last.DurationSeconds, c.Totals.Sent, c.Totals.Failed)
}

// A bad release (the quote API answers 500): stopped at app-01, which is
// rolled back, gated again and back in the pool; the play fails naming the
// node and the gate's reason; app-02 and app-03 are never touched; no
// request through the balancer failed.
func TestAnsibleStopsABadReleaseAtTheFirstNode(t *testing.T) {
	e := newEnv(t)
	before := map[string]int{"app-02": e.pid("app-02"), "app-03": e.pid("app-03")}
	stop := e.watch()
	out, code, took := e.play(map[string]any{"release_version": badVersion, "deploy_faults": badFaults})
	c := stop()
	if code == 0 {
		t.Fatalf("ansible-playbook passed a release deployed with faults %s\n%s", badFaults, tail(out, 60))
	}
	var g gateDoc
	readJSON(t, filepath.Join(e.out, "gate-app-01", "gate.json"), &g)
	if g.Verdict != "fail" || g.Reason == "" {
		t.Fatalf("app-01 gate: %+v", g)
	}
	flat := strings.Join(strings.Fields(out), " ")
	if !strings.Contains(flat, "app-01: gate fail for quote "+badVersion) || !strings.Contains(flat, strings.Join(strings.Fields(g.Reason), " ")) ||
		!strings.Contains(flat, "app-01 rolled back to "+oldVersion+" and back in the pool") {
		t.Errorf("the play's failure does not name app-01, the gate's reason %q and the rollback:\n%s", g.Reason, tail(out, 30))
	}
	var rb gateDoc
	readJSON(t, filepath.Join(e.out, "rollback-app-01", "gate.json"), &rb)
	if rb.Verdict != "pass" || rb.ObservedVersion != oldVersion {
		t.Errorf("rollback gate: %+v", rb)
	}
	if v := e.version("127.0.0.2"); v != oldVersion {
		t.Errorf("app-01 runs %s, want %s (rolled back)", v, oldVersion)
	}
	if st := e.hactlStatus("app-01"); st != "UP" {
		t.Errorf("app-01 is %s in HAProxy, want UP (back in the pool)", st)
	}
	for _, n := range nodes[1:] {
		if _, err := os.Stat(filepath.Join(e.out, "gate-"+n.name)); err == nil {
			t.Errorf("%s was gated: the roll did not stop at app-01", n.name)
		}
		if p := e.pid(n.name); p != before[n.name] {
			t.Errorf("%s was restarted (pid %d -> %d): it must be untouched", n.name, before[n.name], p)
		}
		if v := e.version(n.ip); v != oldVersion {
			t.Errorf("%s runs %s, want %s", n.name, v, oldVersion)
		}
	}
	if c.Totals.Failed != 0 || c.Totals.Sent == 0 {
		t.Errorf("continuity: %d of %d requests failed: %s", c.Totals.Failed, c.Totals.Sent, c.Reason)
	}
	t.Logf("bad release stopped after %s; app-01 gate %.2fs (fail), rollback gate %.2fs; watch: %d requests, %d failed", took.Round(time.Millisecond), g.DurationSeconds, rb.DurationSeconds, c.Totals.Sent, c.Totals.Failed)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}
