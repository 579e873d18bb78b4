package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
	"github.com/piv-gate/piv/internal/fleettest"
	"github.com/piv-gate/piv/pkg/evidence"
	"github.com/piv-gate/piv/pkg/gate"
)

// remediationRecord writes the demo's record (detected an hour ago) next to
// the test and returns its path.
func remediationRecord(t *testing.T, detected time.Time, extra string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "CHG-2026-0412.yaml")
	y := fmt.Sprintf(`remediation: CHG-2026-0412
cves: [CVE-2026-1234]
detected: %s
exposure: external
apps: [quote]
fixed:
  components:
    - { name: openssl, path: /version, json: components.openssl, version: ">= 3.0.15" }
  tls: { refuse: ["1.0", "1.1"] }
  headers: { Strict-Transport-Security: present }
  refused: [ { path: /debug/vars, status: [401, 403, 404] } ]
%s`, detected.UTC().Format(time.RFC3339), extra)
	if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func remediationChecks(g *gate.Result) map[string]gate.Check {
	m := map[string]gate.Check{}
	for _, c := range g.Checks {
		for _, l := range c.Labels {
			if l == "remediation" {
				m[fmt.Sprint(c.Observed["target"], " ", c.Observed["item"])] = c
			}
		}
	}
	return m
}

func vulnerableApp02(i int, s *fleettest.Spec) {
	if s.Name == "app-02" {
		s.Options.Vulnerable = true
	}
}

func TestRemediationNodeGateFailsUnpatchedAndPassesPatched(t *testing.T) {
	f := fleettest.Three(t, vulnerableApp02)
	rec := remediationRecord(t, time.Now().Add(-time.Hour), "")
	filter := []string{"--label-filter", "technical || remediation"}

	r := pivRun(t, f, nil, append([]string{"run", "quote", "--node", "app-02", "--remediation", rec}, filter...)...)
	wantExit(t, r, 1)
	if r.gate.Remediation == nil || r.gate.Remediation.ID != "CHG-2026-0412" || r.gate.Remediation.CVEs[0] != "CVE-2026-1234" {
		t.Fatalf("gate.json remediation %+v", r.gate.Remediation)
	}
	cs := remediationChecks(r.gate)
	if len(cs) != 5 {
		t.Fatalf("%d remediation checks, want 5 (component, tls 1.0, tls 1.1, header, path): %v", len(cs), cs)
	}
	comp := cs["app-02 component openssl"]
	if comp.State != gate.Failed || comp.Observed["seen"] != app.VulnerableOpenSSL || comp.Failure == nil ||
		!strings.Contains(comp.Failure.Message, "expected >= 3.0.15 (semver), seen 3.0.9") || !strings.Contains(comp.Failure.Message, rec+":8") {
		t.Fatalf("component check %+v", comp)
	}
	if c := cs["app-02 header Strict-Transport-Security"]; c.State != gate.Failed || !strings.Contains(c.Failure.Message, "expected present, seen absent") {
		t.Fatalf("header check %+v", c)
	}
	if c := cs["app-02 refused /debug/vars"]; c.State != gate.Failed || !strings.Contains(c.Failure.Message, "expected refused (401, 403, 404), seen 200") {
		t.Fatalf("path check %+v", c)
	}
	if !strings.Contains(r.gate.Reason, "CHG-2026-0412") {
		t.Fatalf("reason %q does not name the record's checks", r.gate.Reason)
	}

	r = pivRun(t, f, nil, append([]string{"run", "quote", "--node", "app-01", "--remediation", rec}, filter...)...)
	wantExit(t, r, 0)
	for key, c := range remediationChecks(r.gate) {
		if c.State != gate.Passed || c.Observed["seen"] == nil {
			t.Errorf("%s: %+v, want passed with what was seen", key, c)
		}
	}
	if c := remediationChecks(r.gate)["app-01 tls 1.1"]; c.Observed["seen"] != "refused" {
		t.Fatalf("tls 1.1 observed %v", c.Observed)
	}
}

func TestRemediationServiceGateChecksEveryNode(t *testing.T) {
	f := fleettest.Three(t, vulnerableApp02)
	rec := remediationRecord(t, time.Now().Add(-time.Hour), "")
	r := pivRun(t, f, nil, "run", "quote", "--service", "--remediation", rec, "--label-filter", "remediation")
	wantExit(t, r, 1)
	cs := remediationChecks(r.gate)
	for _, n := range []string{"service", "app-01", "app-02", "app-03"} {
		c, ok := cs[n+" component openssl"]
		if !ok {
			t.Fatalf("no component check for %s: %v", n, cs)
		}
		if wantFail := n == "app-02"; (c.State == gate.Failed) != wantFail && n != "service" {
			t.Errorf("%s: state %s", n, c.State)
		}
	}
}

func TestRemediationRecordErrorsAreUsageErrors(t *testing.T) {
	f := fleettest.Three(t, nil)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("remediation: X\ndetected: yesterday\napps: [quote]\nfixed: {}\n"), 0o644)
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--remediation", bad)
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, bad+":2: detected") || !strings.Contains(r.stderr, bad+":4: fixed: nothing to check") {
		t.Fatalf("stderr lacks file:line errors:\n%s", r.stderr)
	}
	other := remediationRecord(t, time.Now(), "")
	b, _ := os.ReadFile(other)
	os.WriteFile(other, []byte(strings.Replace(string(b), "apps: [quote]", "apps: [claims]", 1)), 0o644)
	r = pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--remediation", other)
	wantExit(t, r, 2)
	if !strings.Contains(r.stderr, `does not name app "quote"`) {
		t.Fatalf("stderr %s", r.stderr)
	}
}

// Nothing passes by absence: a filter that leaves the record's checks out
// does not let the gate pass with the record attached.
func TestRemediationLeftOutByFilterIsInconclusive(t *testing.T) {
	f := fleettest.Three(t, nil)
	rec := remediationRecord(t, time.Now(), "")
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--remediation", rec, "--label-filter", "technical")
	wantExit(t, r, 3)
	if !strings.Contains(r.gate.Reason, "CHG-2026-0412") || !strings.Contains(r.gate.Reason, "not verified") {
		t.Fatalf("reason %q", r.gate.Reason)
	}
}

func pivEvidence(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(pivBin, append([]string{"evidence"}, args...)...)
	var so, se strings.Builder
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

// The demo in small: gates with the record on each node after its patch,
// then piv evidence over their reports.
func TestRemediationEvidenceFromRealGates(t *testing.T) {
	f := fleettest.Three(t, nil)
	detected := time.Now().Add(-time.Hour)
	rec := remediationRecord(t, detected, "")
	reports := t.TempDir()
	gateNode := func(node string) string {
		out := filepath.Join(reports, "quote", "gate-"+node)
		cmd := exec.Command(pivBin, "run", "quote", "--node", node, "--remediation", rec, "--label-filter", "technical || remediation",
			"--config", f.Dir, "--out", out, "--timeout", "60s")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("gate %s: %v\n%s", node, err, b)
		}
		return out
	}
	gateNode("app-01")
	gateNode("app-03")

	// app-02 skipped: unverified, the clock still running.
	code, stdout, stderr := pivEvidence(t, rec, "--reports", reports, "--config", f.Dir, "--format", "json")
	if code != 3 {
		t.Fatalf("evidence exit %d, want 3 (running)\n%s\n%s", code, stdout, stderr)
	}
	var rep evidence.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, n := range rep.Apps[0].Nodes {
		status[n.Name] = n.Status
	}
	if status["app-01"] != "verified" || status["app-02"] != "unverified" || status["app-03"] != "verified" {
		t.Fatalf("statuses %v", status)
	}
	// Past the deadline with app-02 still unverified: breached.
	code, stdout, _ = pivEvidence(t, rec, "--reports", reports, "--config", f.Dir, "--now", detected.Add(6*24*time.Hour).UTC().Format(time.RFC3339))
	if code != 1 || !strings.Contains(stdout, "SLA BREACHED") || !strings.Contains(stdout, "| app-02 | unverified |") {
		t.Fatalf("evidence exit %d, want 1 (breached)\n%s", code, stdout)
	}

	out2 := gateNode("app-02")
	evOut := filepath.Join(t.TempDir(), "evidence")
	code, stdout, stderr = pivEvidence(t, rec, "--reports", reports, "--config", f.Dir, "--out", evOut)
	if code != 0 || !strings.Contains(stdout, "SLA MET") {
		t.Fatalf("evidence exit %d, want 0 (met)\n%s\n%s", code, stdout, stderr)
	}
	for _, name := range []string{"evidence.json", "evidence.md", "evidence.html"} {
		if _, err := os.Stat(filepath.Join(evOut, name)); err != nil {
			t.Fatal(err)
		}
	}
	// Links in the written evidence open from its folder.
	rel, _ := filepath.Rel(evOut, out2)
	if h, _ := os.ReadFile(filepath.Join(evOut, "evidence.html")); !strings.Contains(string(h), `href="`+rel+`/"`) {
		t.Fatalf("evidence.html does not link app-02's run as %s", rel)
	}
}

func TestRemediationEvidenceUsageErrors(t *testing.T) {
	f := fleettest.Three(t, nil)
	rec := remediationRecord(t, time.Now(), "")
	b, _ := os.ReadFile(rec)
	os.WriteFile(rec, []byte(strings.Replace(string(b), "apps: [quote]", "apps: [quote, claims]", 1)), 0o644)
	code, _, stderr := pivEvidence(t, rec, "--reports", t.TempDir(), "--config", f.Dir)
	if code != 2 || !strings.Contains(stderr, rec+":5: apps[1]") || !strings.Contains(stderr, `no app "claims"`) {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	code, _, stderr = pivEvidence(t, filepath.Join(t.TempDir(), "missing.yaml"))
	if code != 2 || !strings.Contains(stderr, "missing.yaml: cannot read remediation record") {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
}

// --fleet: every target's gate gets the record; the fleet's gate.json
// carries every node's checks, and piv evidence reads it once (the targets'
// own gate.json below it are not counted again).
func TestRemediationFleetGateAndEvidence(t *testing.T) {
	f := fleettest.Three(t, vulnerableApp02)
	rec := remediationRecord(t, time.Now().Add(-time.Hour), "")
	reports := t.TempDir()
	out := filepath.Join(reports, "quote", "fleet")
	cmd := exec.Command(pivBin, "run", "quote", "--fleet", "--remediation", rec, "--label-filter", "technical || remediation",
		"--config", f.Dir, "--out", out, "--timeout", "60s")
	b, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("fleet gate: %v, want exit 1\n%s", err, b)
	}
	g := readGate(t, out)
	if g == nil || g.Remediation == nil || g.Remediation.ID != "CHG-2026-0412" {
		t.Fatalf("fleet gate.json remediation: %+v", g)
	}
	if c := remediationChecks(g)["app-02 component openssl"]; c.State != gate.Failed || c.Observed["seen"] != app.VulnerableOpenSSL {
		t.Fatalf("app-02's component check in the fleet gate: %+v", c)
	}
	code, stdout, stderr := pivEvidence(t, rec, "--reports", reports, "--config", f.Dir, "--format", "json")
	if code != 3 {
		t.Fatalf("evidence exit %d, want 3\n%s\n%s", code, stdout, stderr)
	}
	var rep evidence.Report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	for _, n := range rep.Apps[0].Nodes {
		want := map[bool]string{true: "unverified", false: "verified"}[n.Name == "app-02"]
		if n.Status != want || n.Runs != 1 {
			t.Errorf("%s: %s after %d run(s), want %s after 1 (the fleet gate, read once)", n.Name, n.Status, n.Runs, want)
		}
	}
	if rep.Scan.Files != 1 {
		t.Errorf("read %d gate.json, want 1 (the fleet's; its targets' folders are part of that run)", rep.Scan.Files)
	}
}
