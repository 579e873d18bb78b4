package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
	"github.com/piv-gate/piv/internal/fleettest"
	"github.com/piv-gate/piv/pkg/gate"
)

// --fleet proves every node on its own and the service in one run: a node
// whose quote API answers 500 fails the gate by name, while the service
// through the balancer may still pass; every check carries its target.
func TestFleetNamesTheBadNodeAlone(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) {
		s.Password = "fleet-pw-1234"
		if s.Name == "app-02" {
			s.Faults = []app.Fault{app.FaultQuote500}
		}
	})
	env := []string{"QUOTE_TEST_PASSWORD=fleet-pw-1234"}
	r := pivRun(t, f, env, "run", "quote", "--fleet", "--expect-version", "2.4.1")
	wantExit(t, r, 1)
	g := r.gate
	if g.Target.Scope != "fleet" || !strings.HasPrefix(g.Reason, "app-02: ") {
		t.Fatalf("fleet gate: scope %q reason %q\n%s", g.Target.Scope, g.Reason, r.explain())
	}
	for _, other := range []string{"app-01:", "app-03:"} {
		if strings.Contains(g.Reason, other) {
			t.Fatalf("reason blames a good node: %q", g.Reason)
		}
	}
	targets := map[string]int{}
	failedOn := map[string]bool{}
	for _, c := range g.Checks {
		if c.Target == "" {
			t.Fatalf("check without target: %+v", c)
		}
		targets[c.Target]++
		if c.State == gate.Failed && c.Blocking {
			failedOn[c.Target] = true
		}
		for _, a := range c.Attachments {
			if a.Path != "" {
				if _, err := os.Stat(filepath.Join(r.out, a.Path)); err != nil {
					t.Errorf("attachment %s of %q not reachable from the fleet report: %v", a.Path, c.Name, err)
				}
			}
		}
	}
	for _, want := range []string{"app-01", "app-02", "app-03", "service"} {
		if targets[want] == 0 {
			t.Fatalf("no checks for %s: %v", want, targets)
		}
	}
	if !failedOn["app-02"] || failedOn["app-01"] || failedOn["app-03"] {
		t.Fatalf("failed targets %v, want app-02 (and maybe service) only", failedOn)
	}
	for _, name := range []string{"app-01", "app-02", "app-03", "service"} {
		if sub := readGate(t, filepath.Join(r.out, "targets", name)); sub == nil || sub.Verdict == "" {
			t.Errorf("target %s has no gate.json of its own", name)
		}
	}
	if !strings.Contains(r.stdout, "app-02") {
		t.Fatalf("summary lacks the failing node:\n%s", r.stdout)
	}
}

func TestFleetAllGoodPasses(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) { s.Password = "fleet-pw-1234" })
	r := pivRun(t, f, []string{"QUOTE_TEST_PASSWORD=fleet-pw-1234"}, "run", "quote", "--fleet", "--expect-version", "2.4.1")
	wantExit(t, r, 0)
	if r.gate.ObservedVersion != "2.4.1" || r.gate.Summary.Failed != 0 || r.gate.Summary.Passed == 0 {
		t.Fatalf("gate: %+v", r.gate.Summary)
	}
	browser := map[string]bool{}
	for _, c := range r.gate.Checks {
		for _, l := range c.Labels {
			if l == "browser" && c.State == gate.Passed {
				browser[c.Target] = true
			}
		}
	}
	if len(browser) != 4 {
		t.Fatalf("browser journeys passed on %v, want every node and the service", browser)
	}
}

func TestFleetIsExclusiveWithOtherScopes(t *testing.T) {
	f := fleettest.Three(t, nil)
	r := pivRun(t, f, nil, "run", "quote", "--fleet", "--node", "app-01")
	wantExit(t, r, 2)
}

func TestListFleetShowsTheMatrix(t *testing.T) {
	f := fleettest.Three(t, nil)
	r := pivRun(t, f, nil, "list", "quote", "--fleet", "--label-filter", "technical")
	wantExit(t, r, 0)
	lines := strings.Split(r.stdout, "\n")
	if !strings.Contains(lines[0], "app-01") || !strings.Contains(lines[0], "service") {
		t.Fatalf("header:\n%s", r.stdout)
	}
	// The version check runs on every node and on the service.
	found := false
	for _, l := range lines {
		if strings.Contains(l, "version") && strings.Count(l, " x ") >= 3 {
			found = true
		}
	}
	if !found || !strings.Contains(r.stdout, "target(s)") {
		t.Fatalf("matrix:\n%s", r.stdout)
	}
}

// The nightly form: every app of the config folder, each as a --fleet gate.
func TestRunAllWithFleet(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) {
		if s.Name == "app-03" {
			s.Faults = []app.Fault{app.FaultWrongVersion}
		}
	})
	cmd := exec.Command(pivBin, "run", "--all", "--fleet", "--label-filter", "technical", "--config", f.Dir)
	cmd.Dir = t.TempDir() // --all writes reports/ under the working directory
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "all apps (1): FAIL") || !strings.Contains(string(out), "app-03") {
		t.Fatalf("stdout does not name the app's verdict and the bad node:\n%s", out)
	}
}
