// Package pivimage tests the piv gate image (make image) for real: the
// container runs the gate against a demo fleet on 127.0.0.x (--network host),
// browser journeys included, and the nightly run is spread over a Docker
// Swarm replicated job, one task per shard, then merged.
package pivimage_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
	"github.com/piv-gate/piv/internal/fleettest"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/merge"
	"github.com/piv-gate/piv/pkg/shard"
)

// Timeouts, named in one place.
const (
	buildTimeout = 15 * time.Minute // make image, cold (base ~3 min here)
	gateTimeout  = 3 * time.Minute  // one containerised gate
	jobTimeout   = 5 * time.Minute  // the swarm job, every shard
	dockerStep   = time.Minute      // one docker CLI call
	image        = "piv:latest"
	password     = "image-test-pw-1234"
)

var root string

func TestMain(m *testing.M) {
	var err error
	if root, err = filepath.Abs("../.."); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// buildImage runs make image's script once per test binary (it is cached by
// inputs: a warm run only rebuilds the piv layer when the binary changed).
var built struct {
	done bool
	err  error
	took time.Duration
}

func buildImage(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Fatal("docker is required: apt-get install -y docker.io")
	}
	if !built.done {
		built.done = true
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		start := time.Now()
		cmd := exec.CommandContext(ctx, filepath.Join(root, "images/piv/build.sh"))
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		built.took = time.Since(start)
		if err != nil {
			built.err = fmt.Errorf("images/piv/build.sh: %v\n%s", err, out)
		}
		t.Logf("make image: %s\n%s", built.took.Round(time.Millisecond), out)
	}
	if built.err != nil {
		t.Fatal(built.err)
	}
}

func docker(t *testing.T, timeout time.Duration, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "docker", args...)
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("docker %s: %v", strings.Join(args, " "), err)
	}
	return string(out), code
}

// writable is a folder the image's user (uid 10001) can write.
func writable(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

func readGate(t *testing.T, dir string) *gate.Result {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "gate.json"))
	if err != nil {
		t.Fatalf("no gate.json from the container: %v", err)
	}
	var g gate.Result
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	return &g
}

// gateInContainer runs `piv run quote --node NODE` from the image against f.
func gateInContainer(t *testing.T, f *fleettest.Fleet, node string) (int, *gate.Result, string) {
	t.Helper()
	out := writable(t)
	name := fmt.Sprintf("piv-image-test-%d-%s", os.Getpid(), node)
	t.Cleanup(func() { docker(t, dockerStep, "rm", "-f", name) })
	logs, code := docker(t, gateTimeout, "run", "--rm", "--name", name, "--network", "host",
		"-v", f.Dir+":/config:ro", "-v", out+":/out", "-e", "QUOTE_TEST_PASSWORD="+password,
		image, "run", "quote", "--node", node, "--expect-version", "2.4.1", "--config", "/config", "--out", "/out", "--timeout", "2m")
	return code, readGate(t, out), logs
}

func hasPassedBrowserCheck(g *gate.Result) bool {
	for _, c := range g.Checks {
		if slices.Contains(c.Labels, "browser") && c.State == gate.Passed {
			return true
		}
	}
	return false
}

// The gate from the image passes on a good node, browser journeys included
// (Chromium in the image, pinned to the node, the private CA trusted), and
// fails on a node whose quote button is dead.
func TestImageGatePassesOnAGoodNodeAndFailsOnABadOne(t *testing.T) {
	buildImage(t)
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) {
		s.Password = password
		if s.Name == "app-03" {
			s.Faults = []app.Fault{app.FaultButtonDead}
		}
	})
	os.Chmod(f.Dir, 0o755)

	start := time.Now()
	code, g, logs := gateInContainer(t, f, "app-01")
	if code != 0 || g.Verdict != gate.Pass {
		t.Fatalf("good node from the image: exit %d, verdict %s (%s)\n%s", code, g.Verdict, g.Reason, logs)
	}
	if !hasPassedBrowserCheck(g) || g.Summary.Failed != 0 {
		t.Fatalf("good node: no passed browser journey in %+v", g.Summary)
	}
	if len(f.Nodes[0].Seen.Requests()) == 0 || len(f.Nodes[1].Seen.Requests()) != 0 {
		t.Fatalf("the containerised gate was not pinned to app-01 (app-01 saw %d requests, app-02 %d)", len(f.Nodes[0].Seen.Requests()), len(f.Nodes[1].Seen.Requests()))
	}
	t.Logf("good node from the container: %s (gate %.2fs, %d checks)", time.Since(start).Round(time.Millisecond), g.DurationSeconds, g.Summary.Total)

	code, g, logs = gateInContainer(t, f, "app-03")
	if code != 1 || g.Verdict != gate.Fail {
		t.Fatalf("bad node from the image: exit %d, verdict %s (%s), want 1 fail\n%s", code, g.Verdict, g.Reason, logs)
	}
	browserFailed := false
	for _, c := range g.Checks {
		browserFailed = browserFailed || (slices.Contains(c.Labels, "browser") && c.State == gate.Failed)
	}
	if !browserFailed || !strings.Contains(g.Reason, "quote page") {
		t.Fatalf("bad node: the browser journey did not catch the dead button: %s", g.Reason)
	}
}

// The image runs as the non-root user and finds its browser without help.
func TestImageRunsAsNonRootWithChromium(t *testing.T) {
	buildImage(t)
	out, code := docker(t, dockerStep, "run", "--rm", "--entrypoint", "sh", image, "-c", "id -u; chromium --version; command -v certutil; ls /etc/ssl/certs/ca-certificates.crt")
	if code != 0 || !strings.HasPrefix(out, "10001\n") || !strings.Contains(out, "Chromium") || !strings.Contains(out, "/certutil") {
		t.Fatalf("image user and tools:\n%s", out)
	}
	out, code = docker(t, dockerStep, "run", "--rm", image, "version")
	if code != 0 || !strings.HasPrefix(out, "piv ") {
		t.Fatalf("piv version in the image: exit %d\n%s", code, out)
	}
}

// The nightly run across machines: N shards as a Docker Swarm replicated job
// (one task per shard, the shard index from the task slot), the piv image,
// reports on a shared bind mount, then merged: every app once, grouped by
// owner, the failing app's owner named; the swarm left and nothing left behind.
func TestNightlyShardsAsASwarmReplicatedJob(t *testing.T) {
	buildImage(t)
	const n = 3
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) { s.Password = password })
	cfg, apps := nightlyApps(t, f, "travel")
	reports := writable(t)

	start := time.Now()
	state, _ := docker(t, dockerStep, "info", "--format", "{{.Swarm.LocalNodeState}}")
	wasInSwarm := strings.TrimSpace(state) == "active"
	ctx, cancel := context.WithTimeout(context.Background(), jobTimeout)
	defer cancel()
	// No --label-filter (the apps have technical checks only): a narrowed
	// pass is not a full gate for the merge, which would then be
	// inconclusive instead of failing on travel.
	cmd := exec.CommandContext(ctx, filepath.Join(root, "examples/nightly/swarm.sh"), strconv.Itoa(n), cfg, reports,
		"--timeout", "2m")
	service := fmt.Sprintf("piv-nightly-test-%d", os.Getpid())
	cmd.Env = append(os.Environ(), "IMAGE="+image, "SERVICE="+service, "QUOTE_TEST_PASSWORD="+password)
	cmd.WaitDelay = 5 * time.Second
	outb, err := cmd.CombinedOutput()
	out := string(outb)
	jobTook := time.Since(start)
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("swarm.sh: %v\n%s", err, out)
	}
	t.Logf("examples/nightly/swarm.sh:\n%s", out)
	if code != 1 {
		t.Fatalf("swarm.sh (shards + merge): exit %d, want 1 (travel fails)", code)
	}
	// Nothing left behind: no task container, and the swarm left if it was ours.
	if ps, _ := docker(t, dockerStep, "ps", "-aq", "--filter", "label=com.docker.swarm.service.name="+service); strings.TrimSpace(ps) != "" {
		t.Errorf("task containers left behind:\n%s", ps)
	}
	if svc, _ := docker(t, dockerStep, "service", "ls", "-q", "--filter", "name="+service); wasInSwarm && strings.TrimSpace(svc) != "" {
		t.Errorf("service %s left behind", service)
	}
	if after, _ := docker(t, dockerStep, "info", "--format", "{{.Swarm.LocalNodeState}}"); !wasInSwarm && strings.TrimSpace(after) != "inactive" {
		t.Errorf("the swarm was not left: %s", after)
	}
	if !strings.Contains(out, "swarm-shard: shard 1/3") || !strings.Contains(out, "swarm-shard: shard 3/3") {
		t.Errorf("the shards' own lines are missing from the output")
	}

	// Every shard left its manifest; together they cover every app once.
	seen := map[string]int{}
	for k := 1; k <= n; k++ {
		m, ok, err := shard.ReadManifest(filepath.Join(reports, shard.FileName(shard.Spec{K: k, N: n})))
		if err != nil || !ok {
			t.Fatalf("shard %d/%d left no manifest (%v)", k, n, err)
		}
		for _, a := range m.Apps {
			seen[a]++
		}
	}
	for _, a := range apps {
		if seen[a] != 1 {
			t.Fatalf("%s in %d shards' manifests", a, seen[a])
		}
	}
	merged := filepath.Join(reports, "merged")
	var rep merge.Report
	b, err := os.ReadFile(filepath.Join(merged, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	owners := map[string]string{}
	for _, g := range rep.Owners {
		for _, r := range g.Runs {
			if _, dup := owners[r.App]; dup {
				t.Fatalf("%s merged twice", r.App)
			}
			owners[r.App] = g.Owner.Team + "=" + string(r.Verdict)
		}
	}
	want := map[string]string{"quote": "motor-quotes=pass", "motor": "motor-quotes=pass", "claims": "claims=pass", "home": "claims=pass", "billing": "payments=pass", "travel": "travel-desk=fail"}
	for a, w := range want {
		if owners[a] != w {
			t.Errorf("%s: %q in the merge, want %q", a, owners[a], w)
		}
	}
	if len(rep.Shards) != n || rep.Summary.Runs != len(apps) {
		t.Errorf("merge: shards %v, summary %+v", rep.Shards, rep.Summary)
	}
	t.Logf("swarm job of %d shards over %d apps, swarm init to merged and left: %s, merge exit %d", n, len(apps), jobTook.Round(time.Millisecond), code)
}

// nightlyApps: six apps served by one fleet, each with an owner; failing
// ones also require a closed port.
func nightlyApps(t *testing.T, f *fleettest.Fleet, failing string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	ca, err := os.ReadFile(filepath.Join(f.Dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o644)
	owners := map[string]string{
		"quote": "motor-quotes", "motor": "motor-quotes", "claims": "claims", "home": "claims", "billing": "payments", "travel": "travel-desk",
	}
	base := strings.Replace(f.YAML(""), "suites: [quote]\n", "", 1)
	var apps []string
	for name, team := range owners {
		y := strings.Replace(base, "app: quote", "app: "+name, 1)
		if name == failing {
			y = strings.Replace(y, "ports: ["+f.Port()+"]", "ports: ["+f.Port()+", 1]", 1)
		}
		y += "owner: { team: " + team + ", contact: \"#" + team + "\" }\n"
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		apps = append(apps, name)
	}
	return dir, apps
}
