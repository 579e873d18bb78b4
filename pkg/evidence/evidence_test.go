package evidence

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/remediation"
)

const record = `remediation: CHG-2026-0412
cves: [CVE-2026-1234]
detected: 2026-11-28T09:00:00Z
exposure: external
apps: [quote]
fixed:
  components:
    - { name: openssl, path: /version, json: components.openssl, version: ">= 3.0.15" }
  tls: { refuse: ["1.1"] }
`

var detected = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func rec(tb testing.TB, y string) *remediation.Record {
	tb.Helper()
	r, err := remediation.Parse("rec.yaml", []byte(y))
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

var quote = App{Name: "quote", Nodes: []string{"app-01", "app-02", "app-03"}, Exposure: "external"}

// gateRun writes one node gate's gate.json as piv run --remediation does:
// one check per item, its outcome in state, the item in observed.
func gateRun(tb testing.TB, root, app, node string, at time.Time, id string, items map[string]bool) string {
	tb.Helper()
	runID := at.Format("20060102T150405Z") + "-" + app + "-node-" + node
	res := gate.Result{Schema: gate.Schema, RunID: runID, App: app, StartedAt: at,
		Target: gate.Target{Scope: "node", Node: node, URL: "https://quote.test:8443"}, Verdict: gate.Pass,
		Remediation: &gate.Remediation{ID: id}}
	res.Checks = append(res.Checks, gate.Check{Name: "technical port 8443", Labels: []string{"technical"}, State: gate.Passed})
	for _, key := range []string{"component openssl", "tls 1.1"} {
		ok, present := items[key]
		if !present {
			continue
		}
		st := gate.Passed
		if !ok {
			st, res.Verdict = gate.Failed, gate.Fail
		}
		res.Checks = append(res.Checks, gate.Check{Name: id + " " + key, Labels: []string{"remediation"}, State: st,
			Observed: map[string]any{"remediation": id, "item": key, "target": node, "scope": "node", "seen": "x"}})
	}
	dir := filepath.Join(root, app, runID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatal(err)
	}
	b, _ := json.Marshal(res)
	if err := os.WriteFile(filepath.Join(dir, "gate.json"), b, 0o644); err != nil {
		tb.Fatal(err)
	}
	return dir
}

var fixed = map[string]bool{"component openssl": true, "tls 1.1": true}
var stillOld = map[string]bool{"component openssl": false, "tls 1.1": true}

func build(t *testing.T, root string, now time.Time, apps ...App) *Report {
	t.Helper()
	r, err := Build(Options{Record: rec(t, record), Apps: apps, Dirs: []string{root}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func node(t *testing.T, r *Report, app, name string) NodeResult {
	t.Helper()
	for _, a := range r.Apps {
		for _, n := range a.Nodes {
			if a.Name == app && n.Name == name {
				return n
			}
		}
	}
	t.Fatalf("no node %s/%s in %+v", app, name, r.Apps)
	return NodeResult{}
}

func TestEvidenceRemediationAllVerifiedWithinSLA(t *testing.T) {
	root := t.TempDir()
	h := time.Hour
	gateRun(t, root, "quote", "app-01", detected.Add(20*h), "CHG-2026-0412", stillOld) // before the patch
	d1 := gateRun(t, root, "quote", "app-01", detected.Add(48*h), "CHG-2026-0412", fixed)
	gateRun(t, root, "quote", "app-02", detected.Add(49*h), "CHG-2026-0412", fixed)
	gateRun(t, root, "quote", "app-03", detected.Add(50*h), "CHG-2026-0412", fixed)
	gateRun(t, root, "quote", "app-03", detected.Add(70*h), "CHG-2026-0412", fixed) // nightly: still fixed
	gateRun(t, root, "quote", "app-02", detected.Add(10*h), "CHG-OTHER", stillOld)  // another record: ignored
	r := build(t, root, detected.Add(10*24*h), quote)
	if r.SLA.Status != Met || r.ExitCode() != 0 {
		t.Fatalf("SLA %+v, want met", r.SLA)
	}
	if c := r.SLA.Completed; c == nil || !c.Equal(detected.Add(50*h)) {
		t.Fatalf("completed %v, want detected+50h (app-03's first pass)", c)
	}
	n1 := node(t, r, "quote", "app-01")
	if n1.Status != Verified || !n1.VerifiedAt.Equal(detected.Add(48*h)) || n1.VerifiedBy.Report != d1 {
		t.Fatalf("app-01 %+v, want verified at +48h by %s", n1, d1)
	}
	if n3 := node(t, r, "quote", "app-03"); !n3.VerifiedAt.Equal(detected.Add(50*h)) || n3.Runs != 2 {
		t.Fatalf("app-03 %+v: verified since its first pass, 2 runs", n3)
	}
	if r.Scan.Files != 6 || r.Scan.Matching != 5 {
		t.Fatalf("scan %+v", r.Scan)
	}
}

func TestEvidenceRemediationOneNodeNeverVerified(t *testing.T) {
	root := t.TempDir()
	gateRun(t, root, "quote", "app-01", detected.Add(time.Hour), "CHG-2026-0412", fixed)
	gateRun(t, root, "quote", "app-03", detected.Add(2*time.Hour), "CHG-2026-0412", fixed)
	// app-02 was skipped by the rollout.
	r := build(t, root, detected.Add(3*24*time.Hour), quote)
	if r.SLA.Status != Running || r.ExitCode() != 3 {
		t.Fatalf("SLA %+v, want running", r.SLA)
	}
	if left := time.Duration(r.SLA.TimeLeftSeconds * float64(time.Second)); left != 2*24*time.Hour {
		t.Fatalf("time left %v, want 48h", left)
	}
	if n := node(t, r, "quote", "app-02"); n.Status != Unverified || n.VerifiedAt != nil {
		t.Fatalf("app-02 %+v, want unverified", n)
	}
	if !strings.Contains(r.SLA.Reason, "app-02 never gated with the record") {
		t.Fatalf("reason %q does not name app-02", r.SLA.Reason)
	}
	// Past the deadline the same evidence is a breach.
	r = build(t, root, detected.Add(6*24*time.Hour), quote)
	if r.SLA.Status != Breached || r.ExitCode() != 1 {
		t.Fatalf("SLA %+v, want breached", r.SLA)
	}
}

func TestEvidenceRemediationVerifiedThenFailingLater(t *testing.T) {
	root := t.TempDir()
	h := time.Hour
	for i, n := range quote.Nodes {
		gateRun(t, root, "quote", n, detected.Add(time.Duration(10+i)*h), "CHG-2026-0412", fixed)
	}
	// app-02 was redeployed from an old image the night after.
	bad := gateRun(t, root, "quote", "app-02", detected.Add(30*h), "CHG-2026-0412", stillOld)
	r := build(t, root, detected.Add(40*h), quote)
	n := node(t, r, "quote", "app-02")
	if n.Status != Regressed || n.LastFailure == nil || n.LastFailure.Report != bad || n.FailedItems[0] != "component openssl" {
		t.Fatalf("app-02 %+v, want regressed with its failing run", n)
	}
	if !n.FirstVerifiedAt.Equal(detected.Add(11*h)) || n.VerifiedAt != nil {
		t.Fatalf("app-02 %+v: first verified at +11h, not verified now", n)
	}
	if r.SLA.Status != Running {
		t.Fatalf("SLA %+v: a regressed node is not fixed", r.SLA)
	}
	// Fixed again: verified since the re-verification, not the first pass.
	gateRun(t, root, "quote", "app-02", detected.Add(35*h), "CHG-2026-0412", fixed)
	gateRun(t, root, "quote", "app-02", detected.Add(38*h), "CHG-2026-0412", fixed)
	r = build(t, root, detected.Add(40*h), quote)
	n = node(t, r, "quote", "app-02")
	if n.Status != Verified || !n.VerifiedAt.Equal(detected.Add(35*h)) {
		t.Fatalf("app-02 %+v, want verified since +35h", n)
	}
	if r.SLA.Status != Met || !r.SLA.Completed.Equal(detected.Add(35*h)) {
		t.Fatalf("SLA %+v, want met at +35h", r.SLA)
	}
}

func TestEvidenceRemediationBreachedByTime(t *testing.T) {
	root := t.TempDir()
	gateRun(t, root, "quote", "app-01", detected.Add(24*time.Hour), "CHG-2026-0412", fixed)
	gateRun(t, root, "quote", "app-02", detected.Add(48*time.Hour), "CHG-2026-0412", fixed)
	gateRun(t, root, "quote", "app-03", detected.Add(6*24*time.Hour), "CHG-2026-0412", fixed) // day 6 of 5
	r := build(t, root, detected.Add(7*24*time.Hour), quote)
	if r.SLA.Status != Breached || r.ExitCode() != 1 {
		t.Fatalf("SLA %+v, want breached", r.SLA)
	}
	if late := time.Duration(r.SLA.LateBySeconds * float64(time.Second)); late != 24*time.Hour {
		t.Fatalf("late by %v, want 24h", late)
	}
	// Internal exposure: 30 days, the same evidence is met.
	internal := quote
	internal.Exposure = "internal"
	r2, err := Build(Options{Record: rec(t, strings.Replace(record, "exposure: external\n", "", 1)), Apps: []App{internal}, Dirs: []string{root}, Now: detected.Add(7 * 24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r2.SLA.Status != Met || !r2.SLA.Deadline.Equal(detected.Add(30*24*time.Hour)) {
		t.Fatalf("internal SLA %+v, want met with a 30-day deadline", r2.SLA)
	}
}

func TestEvidenceRemediationAppWithNoGates(t *testing.T) {
	root := t.TempDir()
	for _, n := range quote.Nodes {
		gateRun(t, root, "quote", n, detected.Add(time.Hour), "CHG-2026-0412", fixed)
	}
	claims := App{Name: "claims", Nodes: []string{"cl-01", "cl-02"}, Exposure: "external"}
	r, err := Build(Options{Record: rec(t, strings.Replace(record, "apps: [quote]", "apps: [quote, claims]", 1)),
		Apps: []App{quote, claims}, Dirs: []string{root}, Now: detected.Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if r.SLA.Status == Met || r.ExitCode() == 0 {
		t.Fatalf("SLA %+v: an app with no gates cannot be met", r.SLA)
	}
	for _, n := range r.Apps[1].Nodes {
		if n.Status != Unverified {
			t.Fatalf("claims %s %+v, want unverified", n.Name, n)
		}
	}
	if r.Apps[0].Status != Met || r.Apps[1].Status != Running {
		t.Fatalf("apps %s %s, want quote met, claims running", r.Apps[0].Status, r.Apps[1].Status)
	}
	// An app with no nodes at all proves nothing either.
	r, _ = Build(Options{Record: rec(t, record), Apps: []App{{Name: "quote", Exposure: "external"}}, Dirs: []string{root}, Now: detected.Add(24 * time.Hour)})
	if r.SLA.Status == Met {
		t.Fatalf("an app with no nodes was met: %+v", r.SLA)
	}
}

// A run that checked only some items (a narrowed filter, an older record)
// is not a pass; a service-scope check proves nothing about a node.
func TestEvidenceRemediationPartialAndServiceRunsDoNotVerify(t *testing.T) {
	root := t.TempDir()
	gateRun(t, root, "quote", "app-01", detected.Add(time.Hour), "CHG-2026-0412", map[string]bool{"component openssl": true})
	r := build(t, root, detected.Add(2*time.Hour), quote)
	if n := node(t, r, "quote", "app-01"); n.Status != Unverified || n.Partial != 1 {
		t.Fatalf("app-01 %+v, want unverified after a partial run", n)
	}
	res := gate.Result{Schema: gate.Schema, RunID: "svc", App: "quote", StartedAt: detected.Add(time.Hour), Target: gate.Target{Scope: "service"},
		Remediation: &gate.Remediation{ID: "CHG-2026-0412"}}
	for _, key := range []string{"component openssl", "tls 1.1"} {
		res.Checks = append(res.Checks, gate.Check{State: gate.Passed, Observed: map[string]any{"remediation": "CHG-2026-0412", "item": key, "target": "service", "scope": "service"}})
	}
	b, _ := json.Marshal(res)
	os.MkdirAll(filepath.Join(root, "svc"), 0o755)
	os.WriteFile(filepath.Join(root, "svc", "gate.json"), b, 0o644)
	os.WriteFile(filepath.Join(root, "svc", "junk"), []byte("x"), 0o644)
	os.MkdirAll(filepath.Join(root, "broken"), 0o755)
	os.WriteFile(filepath.Join(root, "broken", "gate.json"), []byte(`{"remediation": "CHG-2026-0412", `), 0o644)
	r = build(t, root, detected.Add(2*time.Hour), quote)
	for _, n := range r.Apps[0].Nodes {
		if n.Status == Verified {
			t.Fatalf("%s verified by a service-scope run", n.Name)
		}
	}
	if r.Scan.Unreadable != 1 || !strings.Contains(r.Scan.Problems[0], "broken") {
		t.Fatalf("scan %+v, want the broken file named", r.Scan)
	}
}

func TestEvidenceRemediationRenderers(t *testing.T) {
	root := t.TempDir()
	gateRun(t, root, "quote", "app-01", detected.Add(time.Hour), "CHG-2026-0412", fixed)
	r := build(t, root, detected.Add(2*time.Hour), quote)
	md := Markdown(r)
	for _, want := range []string{"# Remediation CHG-2026-0412 (CVE-2026-1234)", "SLA RUNNING", "| app-01 | verified | 2026-11-28 10:00:00Z |", "| app-02 | unverified |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	h, err := HTML(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"<svg", "RUNNING", "app-02", `href="` + filepath.Join(root, "quote")} {
		if !strings.Contains(string(h), want) {
			t.Errorf("html lacks %q", want)
		}
	}
	for _, forbidden := range []string{"<script src", "<link ", "http://", "https://"} {
		if strings.Contains(string(h), forbidden) {
			t.Errorf("html is not self-contained: has %q", forbidden)
		}
	}
	j, err := JSON(r)
	if err != nil || !json.Valid(j) || !strings.Contains(string(j), `"schema": "piv.evidence/v1"`) {
		t.Fatalf("json: %v\n%s", err, j)
	}
}

// Reports read out of time order (a later pass before the failure it
// follows) still give the first pass after the last failure: the second
// look over the app's folders finds it.
func TestEvidenceRemediationOutOfOrderReports(t *testing.T) {
	h := time.Hour
	later, earlier, failing := t.TempDir(), t.TempDir(), t.TempDir()
	for _, n := range quote.Nodes {
		gateRun(t, later, "quote", n, detected.Add(38*h), "CHG-2026-0412", fixed)
	}
	gateRun(t, later, "quote", "app-02", detected.Add(35*h), "CHG-2026-0412", fixed)
	gateRun(t, earlier, "quote", "app-02", detected.Add(11*h), "CHG-2026-0412", fixed)
	gateRun(t, failing, "quote", "app-02", detected.Add(30*h), "CHG-2026-0412", stillOld)
	r, err := Build(Options{Record: rec(t, record), Apps: []App{quote}, Dirs: []string{later, earlier, failing}, Now: detected.Add(40 * h)})
	if err != nil {
		t.Fatal(err)
	}
	n := node(t, r, "quote", "app-02")
	if n.Status != Verified || !n.VerifiedAt.Equal(detected.Add(35*h)) || !n.FirstVerifiedAt.Equal(detected.Add(11*h)) {
		t.Fatalf("app-02 %+v, want verified since +35h (first at +11h, failing at +30h)", n)
	}
	if r.Scan.Reread == 0 {
		t.Fatalf("scan %+v: the out-of-order failure should have needed a second look", r.Scan)
	}
	if a1 := node(t, r, "quote", "app-01"); !a1.VerifiedAt.Equal(detected.Add(38 * h)) {
		t.Fatalf("app-01 %+v", a1)
	}
}

// --reports may name one run's folder, or a tree of any depth.
func TestEvidenceRemediationReportsLayouts(t *testing.T) {
	root := t.TempDir()
	one := gateRun(t, filepath.Join(root, "ci", "pipeline-7"), "quote", "app-01", detected.Add(time.Hour), "CHG-2026-0412", fixed)
	r := build(t, one, detected.Add(2*time.Hour), quote)
	if r.Scan.Files != 1 || node(t, r, "quote", "app-01").Status != Verified {
		t.Fatalf("run folder as --reports: %+v", r.Scan)
	}
	gateRun(t, filepath.Join(root, "nightly", "2026", "11"), "quote", "app-02", detected.Add(time.Hour), "CHG-2026-0412", fixed)
	r = build(t, root, detected.Add(2*time.Hour), quote)
	if r.Scan.Files != 2 || node(t, r, "quote", "app-02").Status != Verified {
		t.Fatalf("deep tree: %+v", r.Scan)
	}
}
