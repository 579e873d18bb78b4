package cli

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
	"github.com/piv-gate/piv/internal/fleettest"
	"github.com/piv-gate/piv/pkg/gate"
)

// pivBin is piv built once for these tests, with the selftest suite
// compiled in. The gate runs Ginkgo once per process, so every gate test is
// a whole `piv` process, exactly as a pipeline runs it.
var pivBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "piv-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pivBin = filepath.Join(dir, "piv")
	build := exec.Command("go", "build", "-tags", "pivselftest", "-o", pivBin, "github.com/piv-gate/piv/cmd/piv")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building piv:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type runOut struct {
	code           int
	stdout, stderr string
	gate           *gate.Result
	out            string
}

// piv runs the binary against the fleet's config with a fresh --out.
func pivRun(t *testing.T, f *fleettest.Fleet, env []string, args ...string) runOut {
	t.Helper()
	out := t.TempDir()
	full := append([]string{}, args...)
	if len(args) > 0 && args[0] == "run" {
		full = append(full, "--out", out, "--timeout", "60s")
	}
	if f != nil {
		full = append(full, "--config", f.Dir)
	}
	cmd := exec.Command(pivBin, full...)
	cmd.Env = append(os.Environ(), env...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := runOut{stdout: so.String(), stderr: se.String(), out: out}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	r.gate = readGate(t, out)
	return r
}

func readGate(t *testing.T, dir string) *gate.Result {
	b, err := os.ReadFile(filepath.Join(dir, "gate.json"))
	if err != nil {
		return nil
	}
	var g gate.Result
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("gate.json does not parse: %v", err)
	}
	return &g
}

func (r runOut) explain() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, tail(r.stderr, 3000))
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

func wantExit(t *testing.T, r runOut, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("want exit %d, got %s", code, r.explain())
	}
}

func technicalOnly() []string { return []string{"--label-filter", "technical"} }

func TestNodeGatePassesOnExpectedVersion(t *testing.T) {
	f := fleettest.Three(t, nil)
	md := filepath.Join(t.TempDir(), "summary.md")
	step := filepath.Join(t.TempDir(), "step.md")
	r := pivRun(t, f, []string{"GITHUB_STEP_SUMMARY=" + step}, append([]string{"run", "quote", "--node", "app-02", "--expect-version", "2.4.1", "--summary", md}, technicalOnly()...)...)
	wantExit(t, r, 0)
	for _, p := range []string{md, step} {
		if b, err := os.ReadFile(p); err != nil || !strings.Contains(string(b), "PASS") || !strings.Contains(string(b), "app-02") {
			t.Errorf("Markdown summary %s: %v\n%s", p, err, b)
		}
	}
	g := r.gate
	if g.Verdict != gate.Pass || g.Reason != "" || g.ObservedVersion != "2.4.1" || g.Target.Node != "app-02" || g.Target.Scope != "node" {
		t.Fatalf("gate.json: %+v", g)
	}
	if g.Summary.Passed == 0 || g.Summary.Passed != g.Summary.Total {
		t.Fatalf("summary: %+v", g.Summary)
	}
	if !strings.Contains(r.stdout, "PASS") {
		t.Fatalf("summary on stdout lacks PASS:\n%s", r.stdout)
	}
	for _, name := range []string{"gate.json", "junit.xml", "report.html"} {
		if _, err := os.Stat(filepath.Join(r.out, name)); err != nil {
			t.Errorf("%s not written: %v", name, err)
		}
	}
}

// --node app-02 reaches only app-02, with the service host name in Host and
// SNI and the run id in X-PIV-Run.
func TestNodeGateIsPinned(t *testing.T) {
	f := fleettest.Three(t, nil)
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-02", "--label-filter", "technical || (functional && !browser)")
	wantExit(t, r, 0)
	for _, n := range f.Nodes {
		reqs := n.Seen.Requests()
		if n.Name != "app-02" {
			if len(reqs) != 0 {
				t.Errorf("%s served %d requests of a gate pinned to app-02: %+v", n.Name, len(reqs), reqs)
			}
			continue
		}
		if len(reqs) < 4 {
			t.Fatalf("app-02 served only %d requests", len(reqs))
		}
		paths := map[string]bool{}
		for _, q := range reqs {
			paths[q.Path] = true
			if !strings.HasPrefix(q.Host, fleettest.Host+":") || q.SNI != fleettest.Host || q.PIVRun != r.gate.RunID {
				t.Errorf("request %+v: want Host %s:port, SNI %s, X-PIV-Run %s", q, fleettest.Host, fleettest.Host, r.gate.RunID)
			}
		}
		for _, p := range []string{"/health", "/version", "/api/quotes"} {
			if !paths[p] {
				t.Errorf("app-02 never saw %s (saw %v)", p, paths)
			}
		}
	}
}

func TestWrongExpectedVersionFails(t *testing.T) {
	f := fleettest.Three(t, nil)
	r := pivRun(t, f, nil, append([]string{"run", "quote", "--node", "app-02", "--expect-version", "9.9.9"}, technicalOnly()...)...)
	wantExit(t, r, 1)
	if r.gate.ObservedVersion != "2.4.1" || r.gate.Verdict != gate.Fail || !strings.Contains(r.gate.Reason, "version") {
		t.Fatalf("gate: observed %q verdict %q reason %q", r.gate.ObservedVersion, r.gate.Verdict, r.gate.Reason)
	}
	if !strings.Contains(r.stdout, `runs version "2.4.1", expected "9.9.9"`) {
		t.Fatalf("failure message does not say expected/seen:\n%s", r.stdout)
	}
}

func TestStoppedNodeFailsFast(t *testing.T) {
	f := fleettest.Three(t, nil)
	f.Nodes[1].Stop()
	start := time.Now()
	r := pivRun(t, f, nil, append([]string{"run", "quote", "--node", "app-02", "--settle", "0s"}, technicalOnly()...)...)
	wantExit(t, r, 1)
	if !strings.Contains(r.gate.Reason, "port") || !strings.Contains(r.stdout, "refused") {
		t.Fatalf("reason %q; stdout:\n%s", r.gate.Reason, r.stdout)
	}
	// Not a hang: the connect timeout bounds it (generously for a noisy box).
	if el := time.Since(start); el > 30*time.Second {
		t.Fatalf("took %s", el)
	}
}

func TestWarmingNodeSettles(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) {
		if s.Name == "app-02" {
			s.Warmup = 3 * time.Second
		}
	})
	r := pivRun(t, f, nil, append([]string{"run", "quote", "--node", "app-02", "--settle", "10s", "--expect-version", "2.4.1"}, technicalOnly()...)...)
	wantExit(t, r, 0)
	if r.gate.Checks[0].Name == "" || !strings.HasPrefix(r.gate.Checks[0].Name, "settle") || r.gate.Checks[0].State != gate.Passed {
		t.Fatalf("first check should be the passed settle: %+v", r.gate.Checks[0])
	}
}

func TestNodeThatNeverSettlesFailsWithLastAnswer(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) {
		if s.Name == "app-02" {
			s.Faults = []app.Fault{app.FaultHealthDown}
		}
	})
	r := pivRun(t, f, nil, append([]string{"run", "quote", "--node", "app-02", "--settle", "1s"}, technicalOnly()...)...)
	wantExit(t, r, 1)
	if !strings.Contains(r.gate.Reason, "settle") || !strings.Contains(r.stdout, "DOWN") {
		t.Fatalf("reason %q stdout:\n%s", r.gate.Reason, r.stdout)
	}
}

func TestCertificateForAnotherHostFails(t *testing.T) {
	// Certificates come from the fleet's own CA, so only the host name is wrong.
	f := fleettest.Three(t, nil)
	wrong, err := f.CA.Issue([]string{"other.test"}, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	cert := wrong.TLSCertificate()
	g := fleettest.StartWithCA(t, f.CA, []fleettest.Spec{{Name: "app-01", IP: "127.0.0.2", Cert: &cert}}, "")
	r := pivRun(t, g, nil, append([]string{"run", "quote", "--node", "app-01"}, technicalOnly()...)...)
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, "other.test") {
		t.Fatalf("message should name the certificate's host:\n%s", r.stdout)
	}
}

func TestLabelFilterMatchingNothingIsInconclusive(t *testing.T) {
	f := fleettest.Three(t, nil)
	// With and without settling: a passed settle is a precondition, not a check.
	for _, settle := range []string{"0s", "5s"} {
		r := pivRun(t, f, nil, "run", "quote", "--node", "app-02", "--settle", settle, "--label-filter", "smoke && browser && technical")
		wantExit(t, r, 3)
		if r.gate == nil || r.gate.Verdict != gate.Inconclusive || !strings.Contains(r.gate.Reason, "no checks") {
			t.Fatalf("settle %s: gate: %+v", settle, r.gate)
		}
	}
}

func TestSIGTERMMidRunIsInconclusiveWithGateWritten(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) { s.Warmup = time.Minute })
	out := t.TempDir()
	cmd := exec.Command(pivBin, "run", "quote", "--node", "app-02", "--settle", "50s", "--config", f.Dir, "--out", out)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stderr)
	for sc.Scan() { // wait until the run is really under way
		if strings.Contains(sc.Text(), "settling") {
			break
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	go func() {
		for sc.Scan() {
		}
	}()
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 3 {
		t.Fatalf("want exit 3, got %v", err)
	}
	g := readGate(t, out)
	if g == nil || g.Verdict != gate.Inconclusive || !strings.Contains(g.Reason, "SIGTERM") {
		t.Fatalf("gate.json: %+v", g)
	}
}

func TestConfigErrorsExitTwoWithFileLine(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "quote.yaml"), []byte("app: quote\nservice:\n  url: https://quote.test\n  bogus: 1\n"), 0o644)
	r := pivRun(t, nil, nil, "run", "quote", "--config", dir)
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, "quote.yaml:4: unknown key \"bogus\"") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	os.WriteFile(filepath.Join(dir, "quote.yaml"), []byte("app: quote\nservice: [\n  url: x\n"), 0o644)
	r = pivRun(t, nil, nil, "validate", dir)
	wantExit(t, r, 2)
	if !strings.Contains(r.stdout, "quote.yaml:") || !strings.Contains(r.stdout, "invalid YAML") {
		t.Fatalf("stdout: %s", r.stdout)
	}
}

func TestUnknownNodeIsAUsageError(t *testing.T) {
	f := fleettest.Three(t, nil)
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-09")
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, `unknown node "app-09"`) || !strings.Contains(r.stderr, "quote.yaml:") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	if r.gate != nil {
		t.Fatal("a usage error must not write a verdict")
	}
}

func TestServiceGateSeesMixedVersions(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) {
		if s.Name == "app-03" {
			s.Version = "2.4.2"
		}
	})
	r := pivRun(t, f, nil, append([]string{"run", "quote", "--service"}, technicalOnly()...)...)
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, "different versions") || !strings.Contains(r.stdout, "2.4.2 on app-03") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
}

func TestQuoteAPIFailureFailsTheGate(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) { s.Faults = []app.Fault{app.FaultQuote500} })
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--label-filter", "functional && !browser")
	wantExit(t, r, 1)
	if !strings.Contains(r.stdout, "expected status 201, got 500") || !strings.Contains(r.stdout, "quote engine unavailable") {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
}

func selftestFleet(t *testing.T, settings string) *fleettest.Fleet {
	f := fleettest.Three(t, nil)
	y := strings.Replace(f.YAML(settings), "suites: [quote]", "suites: [selftest]", 1)
	os.WriteFile(filepath.Join(f.Dir, "quote.yaml"), []byte(y), 0o644)
	return f
}

func TestPanicInACheckIsInconclusive(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: panic }\n")
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--label-filter", "functional")
	wantExit(t, r, 3)
	if !strings.Contains(r.gate.Reason, "panic") {
		t.Fatalf("reason %q", r.gate.Reason)
	}
}

func TestFlakyPassIsCountedAndPolicyApplies(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: flaky }\n")
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--label-filter", "functional")
	wantExit(t, r, 0)
	if r.gate.Summary.Flaky != 1 || r.gate.Checks[0].Attempts != 2 || r.gate.Checks[0].State != gate.Flaky {
		t.Fatalf("flaky accounting: %+v %+v", r.gate.Summary, r.gate.Checks)
	}
	r = pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--label-filter", "functional", "--flaky", "fail")
	wantExit(t, r, 1)
}

func TestAdvisoryFailureWarnsButPasses(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: pass, advisory: fail }\n")
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-01")
	wantExit(t, r, 0)
	if r.gate.Summary.AdvisoryFailed != 1 {
		t.Fatalf("summary %+v", r.gate.Summary)
	}
}

func TestTimeoutIsInconclusive(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: hang }\n")
	out := t.TempDir()
	cmd := exec.Command(pivBin, "run", "quote", "--node", "app-01", "--label-filter", "functional", "--timeout", "2s", "--config", f.Dir, "--out", out)
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("want exit 3, got %v", err)
	}
	if g := readGate(t, out); g == nil || !strings.Contains(g.Reason, "timed out") {
		t.Fatalf("gate: %+v", g)
	}
}

// The secret's value appears in no output: stdout, stderr, or any file
// written under the report folder.
func TestSecretsAreRedactedEverywhere(t *testing.T) {
	const value = "hunter2-very-secret"
	f := selftestFleet(t, "settings: { mode: secret }\n")
	r := pivRun(t, f, []string{"PIV_SELFTEST_SECRET=" + value}, "run", "quote", "--node", "app-01", "--label-filter", "functional")
	wantExit(t, r, 1)
	if strings.Contains(r.stdout+r.stderr, value) {
		t.Fatalf("secret printed:\n%s", r.explain())
	}
	if !strings.Contains(r.stdout, "[REDACTED]") {
		t.Fatalf("expected the redaction marker in the failure:\n%s", r.stdout)
	}
	filepath.Walk(r.out, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte(value)) {
				t.Errorf("secret written to %s", p)
			}
		}
		return nil
	})
}

func TestMutatingSpecsAreLeftOutUnlessAllowed(t *testing.T) {
	f := fleettest.Three(t, nil)
	r := pivRun(t, f, nil, "list", "quote")
	wantExit(t, r, 0)
	if strings.Contains(r.stdout, "saves a quote") {
		t.Fatalf("mutating spec listed by default:\n%s", r.stdout)
	}
	r = pivRun(t, f, nil, "list", "quote", "--allow-mutating")
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "saves a quote") || !strings.Contains(r.stdout, "mutating") {
		t.Fatalf("mutating spec not listed with --allow-mutating:\n%s", r.stdout)
	}
}

func TestBadLabelFilterIsAUsageError(t *testing.T) {
	f := fleettest.Three(t, nil)
	for _, filter := range []string{"technical &&", "functinal"} {
		r := pivRun(t, f, nil, "run", "quote", "--label-filter", filter)
		wantExit(t, r, 2)
	}
}

// Browser traffic is pinned like the rest: only app-02 serves the page and
// its requests, under the service host name, with X-PIV-Run.
func TestBrowserJourneyIsPinned(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) { s.Password = "pinned-pw-1234" })
	r := pivRun(t, f, []string{"QUOTE_TEST_PASSWORD=pinned-pw-1234"}, "run", "quote", "--node", "app-02", "--label-filter", "browser")
	wantExit(t, r, 0)
	var pages int
	for _, n := range f.Nodes {
		for _, q := range n.Seen.Requests() {
			if n.Name != "app-02" {
				t.Fatalf("%s served %s %s during a gate pinned to app-02", n.Name, q.Method, q.Path)
			}
			if q.Path == "/" || q.Path == "/login" {
				pages++
			}
			if q.SNI != fleettest.Host || !strings.HasPrefix(q.Host, fleettest.Host) || q.PIVRun != r.gate.RunID {
				t.Errorf("browser request %+v lacks Host/SNI %s or X-PIV-Run %s", q, fleettest.Host, r.gate.RunID)
			}
		}
	}
	if pages < 2 {
		t.Fatalf("app-02 served %d page loads, want the quote and login pages", pages)
	}
}

// A dead button fails the gate with the step, the element, the page and a
// screenshot + page HTML attached.
func TestBrowserFailureAttachesScreenshot(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) { s.Faults = []app.Fault{app.FaultButtonDead} })
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--label-filter", "browser && !advisory", "--focus", "quote page", "--settle", "0s")
	wantExit(t, r, 1)
	var c *gate.Check
	for i := range r.gate.Checks {
		if strings.Contains(r.gate.Checks[i].Name, "premium") {
			c = &r.gate.Checks[i]
		}
	}
	if c == nil || c.Failure == nil || !strings.Contains(c.Failure.Message, "#premium") || c.Failure.Step != "waiting for the premium" {
		t.Fatalf("check: %+v", c)
	}
	types := map[string]bool{}
	for _, a := range c.Attachments {
		b, err := os.ReadFile(filepath.Join(r.out, a.Path))
		if err != nil || len(b) == 0 {
			t.Fatalf("attachment %s unreadable: %v", a.Path, err)
		}
		if a.ContentType == "image/png" && !bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Fatalf("%s is not a PNG", a.Path)
		}
		types[a.ContentType] = true
	}
	if !types["image/png"] || !types["text/html"] {
		t.Fatalf("want screenshot and page HTML, got %+v", c.Attachments)
	}
	html, _ := os.ReadFile(filepath.Join(r.out, "report.html"))
	if !bytes.Contains(html, []byte("data:image/png;base64,")) {
		t.Fatal("report.html does not inline the screenshot")
	}
}

func TestMissingBrowserIsInconclusive(t *testing.T) {
	f := fleettest.Three(t, nil)
	r := pivRun(t, f, []string{"PIV_BROWSER=/nonexistent/chromium", "QUOTE_TEST_PASSWORD=whatever-1234"}, "run", "quote", "--node", "app-01")
	wantExit(t, r, 3)
	if !strings.Contains(r.gate.Reason, "browser unavailable") || !strings.Contains(r.gate.Reason, "apt-get install") {
		t.Fatalf("reason should say how to install a browser: %q", r.gate.Reason)
	}
}

// --all runs every app in its own process and exits with the worst verdict.
func TestRunAllExitsWithTheWorstVerdict(t *testing.T) {
	f := fleettest.Three(t, nil)
	y, _ := os.ReadFile(filepath.Join(f.Dir, "quote.yaml"))
	other := strings.Replace(string(y), "app: quote", "app: quote-canary", 1)
	other = strings.Replace(other, "json: { status: UP, checks.db: UP }", "json: { status: DOWN }", 1)
	os.WriteFile(filepath.Join(f.Dir, "canary.yaml"), []byte(other), 0o644)
	cmd := exec.Command(pivBin, "run", "--all", "--label-filter", "technical", "--config", f.Dir)
	cmd.Dir = t.TempDir() // reports/ land here
	outb, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v\n%s", err, outb)
	}
	if !strings.Contains(string(outb), "all apps (2): FAIL") || !strings.Contains(string(outb), "quote-canary") {
		t.Fatalf("output:\n%s", outb)
	}
}

func TestFocusSelectsByName(t *testing.T) {
	f := fleettest.Three(t, nil)
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--focus", "port \\d+ accepts")
	wantExit(t, r, 0)
	if len(r.gate.Checks) != 1 || !strings.Contains(r.gate.Checks[0].Name, "accepts TCP") {
		t.Fatalf("checks: %+v", r.gate.Checks)
	}
	r = pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--focus", "no such check")
	wantExit(t, r, 3)
	if !strings.Contains(r.gate.Reason, `focus "no such check"`) {
		t.Fatalf("reason: %q", r.gate.Reason)
	}
}

// The service gate judges every node, not just the balancer's answer: a node
// left unhealthy after the last deploy fails it, by name.
func TestServiceGateFailsOnAnUnhealthyNode(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) {
		if s.Name == "app-03" {
			s.Faults = []app.Fault{app.FaultHealthDown}
		}
	})
	r := pivRun(t, f, nil, append([]string{"run", "quote", "--service"}, technicalOnly()...)...)
	wantExit(t, r, 1)
	if !strings.Contains(r.gate.Reason, "health every node") || !strings.Contains(r.stdout, "node app-03") {
		t.Fatalf("reason %q\n%s", r.gate.Reason, r.stdout)
	}
	g := fleettest.Three(t, nil)
	r = pivRun(t, g, nil, append([]string{"run", "quote", "--service"}, technicalOnly()...)...)
	wantExit(t, r, 0)
}
