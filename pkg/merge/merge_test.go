package merge

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/report"
	"github.com/piv-gate/piv/pkg/shard"
)

var t0 = time.Date(2026, 12, 3, 2, 0, 0, 0, time.UTC)

func app(t *testing.T, name, owner string) *config.App {
	t.Helper()
	y := "app: " + name + "\nservice:\n  url: https://" + name + ".test:8443\nnodes:\n  - name: n1\n    address: 127.0.0.2\ntechnical:\n  ports: [8443]\n"
	if owner != "" {
		y += "owner: " + owner + "\n"
	}
	a, err := config.Parse(filepath.Join(t.TempDir(), name+".yaml"), []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// writeGate writes dir/APP/RUN/gate.json (and report.html) as piv run does.
func writeGate(t *testing.T, dir, name string, v gate.Verdict, reason string) string {
	t.Helper()
	res := &gate.Result{Schema: gate.Schema, RunID: "run-" + name, App: name, Target: gate.Target{Scope: "service", URL: "https://" + name + ".test"},
		Verdict: v, Reason: reason, StartedAt: t0, DurationSeconds: 1.5,
		Summary: gate.Summary{Total: 2, Passed: 1, Failed: 1},
		Checks: []gate.Check{
			{Name: "technical health", State: gate.Passed, Blocking: true, Attempts: 1},
			{Name: "quote journey", State: gate.Failed, Blocking: true, Attempts: 1, Failure: &gate.Failure{Message: "premium missing"}},
		}}
	if v == gate.Pass {
		res.Summary = gate.Summary{Total: 1, Passed: 1}
		res.Checks = res.Checks[:1]
	}
	b, err := report.JSON(res)
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(dir, name, res.RunID)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "gate.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d, "report.html"), []byte("<html></html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d, "gate.json")
}

func TestMergeGroupsByOwnerAndTakesTheWorstVerdict(t *testing.T) {
	s1, s2, out := t.TempDir(), t.TempDir(), t.TempDir()
	writeGate(t, s1, "quote", gate.Pass, "")
	writeGate(t, s2, "claims", gate.Fail, "quote journey failed: premium missing")
	writeGate(t, s2, "billing", gate.Pass, "")
	apps := []*config.App{
		app(t, "quote", `{ team: motor-quotes, tribe: retail, contact: "#motor-quotes" }`),
		app(t, "claims", `{ team: claims, tribe: retail, contact: "#claims" }`),
		app(t, "billing", ""),
	}
	r := Collect(Input{Dirs: []string{s1, s2}, Apps: apps, ConfigDir: "apps", OutDir: out, Now: t0})
	if r.Verdict != gate.Fail {
		t.Fatalf("verdict %s (%s), want fail", r.Verdict, r.Reason)
	}
	if !strings.Contains(r.Reason, "claims (service): quote journey failed") {
		t.Fatalf("reason %q does not name the failed app and why", r.Reason)
	}
	var teams []string
	for _, g := range r.Owners {
		teams = append(teams, g.Owner.Team+"="+string(g.Verdict))
	}
	if got := strings.Join(teams, " "); got != "claims=fail motor-quotes=pass unowned=pass" {
		t.Fatalf("groups %q", got)
	}
	if g := r.Owners[1]; g.Owner.Contact != "#motor-quotes" || g.Owner.Tribe != "retail" || g.Runs[0].App != "quote" {
		t.Fatalf("motor-quotes group %+v", g)
	}
	if r.Summary != (Summary{Runs: 3, Passed: 2, Failed: 1}) {
		t.Fatalf("summary %+v", r.Summary)
	}
	if rel := r.Owners[1].Runs[0].Report; filepath.IsAbs(rel) || !strings.HasSuffix(rel, "quote/run-quote/report.html") {
		t.Fatalf("report link %q: want a path relative to the merged folder", rel)
	}
	if _, err := os.Stat(filepath.Join(out, r.Owners[1].Runs[0].Report)); err != nil {
		t.Fatalf("link does not resolve from the merged folder: %v", err)
	}

	if err := Write(r, out); err != nil {
		t.Fatal(err)
	}
	for _, f := range Files {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
	md, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	if !strings.Contains(string(md), "### claims (retail) — #claims: FAIL") || !strings.Contains(string(md), "## piv merge: FAIL") {
		t.Fatalf("summary.md:\n%s", md)
	}
}

func TestJUnitCountsAgreeWithTheVerdicts(t *testing.T) {
	s := t.TempDir()
	writeGate(t, s, "claims", gate.Fail, "quote journey failed")
	writeGate(t, s, "quote", gate.Pass, "")
	r := Collect(Input{Dirs: []string{s}, Apps: []*config.App{app(t, "claims", ""), app(t, "quote", ""), app(t, "lost", "")}, ConfigDir: "apps", Now: t0})
	b, err := JUnit(r)
	if err != nil {
		t.Fatal(err)
	}
	var doc jSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit.xml does not parse: %v\n%s", err, b)
	}
	// pkg/report's rules: tests = checks, the verdict is a property, never a
	// testcase. claims: 2 checks (1 failure); lost: an empty suite; quote: 1 check.
	if doc.Failures != 1 || doc.Errors != 0 || doc.Tests != 2+0+1 || len(doc.Suites) != 3 {
		t.Fatalf("tests=%d failures=%d errors=%d suites=%d\n%s", doc.Tests, doc.Failures, doc.Errors, len(doc.Suites), b)
	}
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Name == "gate verdict" {
				t.Fatalf("a synthetic verdict testcase in %s\n%s", s.Name, b)
			}
		}
		if len(s.Properties) == 0 || s.Properties[0].Name != "verdict" {
			t.Fatalf("suite %s has no verdict property", s.Name)
		}
	}
	if !strings.Contains(string(b), `name="unowned/lost -"`) || !strings.Contains(string(b), `<property name="verdict" value="inconclusive">`) {
		t.Fatalf("the missing app's suite does not say inconclusive:\n%s", b)
	}
}

func TestFailClosed(t *testing.T) {
	t.Run("a folder with no gate.json", func(t *testing.T) {
		good, empty := t.TempDir(), t.TempDir()
		writeGate(t, good, "quote", gate.Pass, "")
		r := Collect(Input{Dirs: []string{good, empty}, Now: t0})
		wantInconclusive(t, r, empty+": no gate.json here")
	})
	t.Run("a folder that does not exist", func(t *testing.T) {
		good := t.TempDir()
		writeGate(t, good, "quote", gate.Pass, "")
		missing := filepath.Join(good, "shard-4")
		r := Collect(Input{Dirs: []string{good, missing}, Now: t0})
		wantInconclusive(t, r, missing+": cannot read: no such file or directory")
	})
	t.Run("an app of the config with no result", func(t *testing.T) {
		s := t.TempDir()
		writeGate(t, s, "quote", gate.Pass, "")
		r := Collect(Input{Dirs: []string{s}, Apps: []*config.App{app(t, "quote", ""), app(t, "claims", "{ team: claims }")}, ConfigDir: "apps", Now: t0})
		wantInconclusive(t, r, "claims: no gate.json for this app")
		if r.Summary.Missing != 1 || r.Owners[0].Owner.Team != "claims" || !r.Owners[0].Runs[0].Missing {
			t.Fatalf("missing app not listed under its owner: %+v", r.Owners)
		}
	})
	t.Run("a malformed gate.json", func(t *testing.T) {
		s := t.TempDir()
		writeGate(t, s, "quote", gate.Pass, "")
		d := filepath.Join(s, "claims", "run-1")
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "gate.json"), []byte(`{"app": "claims", "verdict": "pa`), 0o644)
		r := Collect(Input{Dirs: []string{s}, Now: t0})
		wantInconclusive(t, r, "claims: malformed gate.json")
	})
	t.Run("an unknown verdict or schema", func(t *testing.T) {
		s := t.TempDir()
		p := writeGate(t, s, "quote", gate.Pass, "")
		b, _ := os.ReadFile(p)
		os.WriteFile(p, []byte(strings.Replace(string(b), `"verdict": "pass"`, `"verdict": "PASS"`, 1)), 0o644)
		r := Collect(Input{Dirs: []string{s}, Now: t0})
		wantInconclusive(t, r, `unknown verdict "PASS"`)
		os.WriteFile(p, []byte(strings.Replace(string(b), gate.Schema, "piv.gate/v9", 1)), 0o644)
		wantInconclusive(t, Collect(Input{Dirs: []string{s}, Now: t0}), `schema "piv.gate/v9"`)
	})
	t.Run("nothing to merge", func(t *testing.T) {
		s := t.TempDir()
		shard.WriteManifest(s, shard.Spec{K: 1, N: 2}, nil, 1, t0)
		shard.WriteManifest(s, shard.Spec{K: 2, N: 2}, nil, 1, t0)
		wantInconclusive(t, Collect(Input{Dirs: []string{s}, Now: t0}), "nothing to merge")
	})
	t.Run("an app its shard was due to run", func(t *testing.T) {
		s := t.TempDir()
		shard.WriteManifest(s, shard.Spec{K: 2, N: 3}, []string{"quote", "claims"}, 5, t0)
		writeGate(t, s, "quote", gate.Pass, "")
		wantInconclusive(t, Collect(Input{Dirs: []string{s}, Now: t0}), "claims: shard 2/3 was due to run it")
	})
	t.Run("a shard of the split that left no manifest", func(t *testing.T) {
		s := t.TempDir()
		shard.WriteManifest(s, shard.Spec{K: 1, N: 3}, []string{"quote"}, 3, t0)
		shard.WriteManifest(s, shard.Spec{K: 3, N: 3}, nil, 3, t0)
		writeGate(t, s, "quote", gate.Pass, "")
		wantInconclusive(t, Collect(Input{Dirs: []string{s}, Now: t0}), "shard 2/3 left no manifest")
	})
}

// An empty shard (nothing assigned) is not a lost one.
func TestEmptyShardIsNotAProblem(t *testing.T) {
	s1, s2 := t.TempDir(), t.TempDir()
	shard.WriteManifest(s1, shard.Spec{K: 1, N: 2}, []string{"quote"}, 1, t0)
	writeGate(t, s1, "quote", gate.Pass, "")
	shard.WriteManifest(s2, shard.Spec{K: 2, N: 2}, nil, 1, t0)
	r := Collect(Input{Dirs: []string{s1, s2}, Apps: []*config.App{app(t, "quote", "")}, ConfigDir: "apps", Now: t0})
	if r.Verdict != gate.Pass || len(r.Problems) != 0 || strings.Join(r.Shards, ",") != "1/2,2/2" {
		t.Fatalf("verdict %s reason %q problems %v shards %v", r.Verdict, r.Reason, r.Problems, r.Shards)
	}
}

func TestHTMLEscapesWhatTheRunsSaid(t *testing.T) {
	s := t.TempDir()
	writeGate(t, s, "quote", gate.Fail, `<script>alert(1)</script>`)
	b, err := HTML(Collect(Input{Dirs: []string{s}, Now: t0}))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "<script>") || !strings.Contains(string(b), "&lt;script&gt;") {
		t.Fatalf("reason not escaped:\n%s", b)
	}
}

func wantInconclusive(t *testing.T, r *Report, reason string) {
	t.Helper()
	if r.Verdict != gate.Inconclusive {
		t.Fatalf("verdict %s (%s), want inconclusive", r.Verdict, r.Reason)
	}
	if !strings.Contains(r.Reason, reason) {
		t.Fatalf("reason %q does not say %q", r.Reason, reason)
	}
}
