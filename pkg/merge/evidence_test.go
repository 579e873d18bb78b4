package merge

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/report"
)

func threeNodes(t *testing.T, name string) *config.App {
	t.Helper()
	y := "app: " + name + "\nservice:\n  url: https://" + name + ".test:8443\nnodes:\n  - name: n1\n    address: 127.0.0.2\n  - name: n2\n    address: 127.0.0.3\n  - name: n3\n    address: 127.0.0.4\ntechnical:\n  ports: [8443]\n"
	a, err := config.Parse(filepath.Join(t.TempDir(), name+".yaml"), []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// writeResult writes dir/APP/RUNID/gate.json from res as given.
func writeResult(t *testing.T, dir string, res *gate.Result) string {
	t.Helper()
	if res.Schema == "" {
		res.Schema = gate.Schema
	}
	if res.StartedAt.IsZero() {
		res.StartedAt = t0
	}
	b, err := report.JSON(res)
	if err != nil {
		t.Fatal(err)
	}
	d := filepath.Join(dir, res.App, res.RunID)
	os.MkdirAll(d, 0o755)
	if err := os.WriteFile(filepath.Join(d, "gate.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(d, "gate.json")
}

func passing(app, runID string, target gate.Target) *gate.Result {
	return &gate.Result{RunID: runID, App: app, Target: target, Verdict: gate.Pass,
		Summary: gate.Summary{Total: 1, Passed: 1},
		Checks:  []gate.Check{{Name: "technical health", State: gate.Passed, Blocking: true, Attempts: 1}}}
}

// F4a: one node gate of a three-node app is not a pass of the app.
func TestMergeNodesNeverVerifiedAreInconclusive(t *testing.T) {
	apps := []*config.App{threeNodes(t, "quote")}
	s := t.TempDir()
	writeResult(t, s, passing("quote", "r1", gate.Target{Scope: "node", Node: "n1"}))
	r := Collect(Input{Dirs: []string{s}, Apps: apps, ConfigDir: "apps", Now: t0})
	wantInconclusive(t, r, "node(s) n2, n3 never verified")
	if r.Summary.Missing != 1 {
		t.Fatalf("summary %+v", r.Summary)
	}

	// Node gates for every node cover the app.
	writeResult(t, s, passing("quote", "r2", gate.Target{Scope: "node", Node: "n2"}))
	writeResult(t, s, passing("quote", "r3", gate.Target{Scope: "node", Node: "n3"}))
	if r := Collect(Input{Dirs: []string{s}, Apps: apps, ConfigDir: "apps", Now: t0}); r.Verdict != gate.Pass {
		t.Fatalf("every node gated: %s (%s)", r.Verdict, r.Reason)
	}

	// So does a fleet gate, or a service gate, beside one node gate.
	for _, scope := range []string{"fleet", "service"} {
		s := t.TempDir()
		writeResult(t, s, passing("quote", "r1", gate.Target{Scope: "node", Node: "n1"}))
		writeResult(t, s, passing("quote", "f", gate.Target{Scope: scope}))
		if r := Collect(Input{Dirs: []string{s}, Apps: apps, ConfigDir: "apps", Now: t0}); r.Verdict != gate.Pass {
			t.Fatalf("%s gate beside n1's: %s (%s)", scope, r.Verdict, r.Reason)
		}
	}
}

// F4b: the recorded verdict is not trusted over the checks.
func TestMergeRedecidesEveryGateJSON(t *testing.T) {
	t.Run("pass over a failed blocking check", func(t *testing.T) {
		s := t.TempDir()
		res := passing("quote", "r1", gate.Target{Scope: "service"})
		res.Checks = append(res.Checks, gate.Check{Name: "quote journey", State: gate.Failed, Blocking: true, Attempts: 1})
		writeResult(t, s, res)
		r := Collect(Input{Dirs: []string{s}, Now: t0})
		if r.Verdict != gate.Fail || !strings.Contains(r.Reason, "gate.json says pass, but its checks say fail") || !strings.Contains(r.Reason, "quote journey") {
			t.Fatalf("verdict %s (%s), want fail naming the check", r.Verdict, r.Reason)
		}
		if r.Summary.Failed != 1 || r.Owners[0].Runs[0].Summary.Failed != 1 {
			t.Fatalf("summary %+v / %+v: counted from the checks", r.Summary, r.Owners[0].Runs[0].Summary)
		}
	})
	t.Run("pass with no checks", func(t *testing.T) {
		s := t.TempDir()
		res := passing("quote", "r1", gate.Target{Scope: "service"})
		res.Checks = nil
		writeResult(t, s, res)
		wantInconclusive(t, Collect(Input{Dirs: []string{s}, Now: t0}), "nothing was verified")
	})
	t.Run("inconclusive stays inconclusive over passing checks", func(t *testing.T) {
		s := t.TempDir()
		res := passing("quote", "r1", gate.Target{Scope: "service"})
		res.Verdict, res.Reason = gate.Inconclusive, "timed out"
		writeResult(t, s, res)
		wantInconclusive(t, Collect(Input{Dirs: []string{s}, Now: t0}), "timed out")
	})
}

// F4c: a narrowed pass is not a full gate, and every output says NARROWED.
func TestMergeNarrowedRunIsNotAFullPass(t *testing.T) {
	s, out := t.TempDir(), t.TempDir()
	res := passing("quote", "r1", gate.Target{Scope: "service"})
	res.Selection = gate.Selection{LabelFilter: "technical", LeftOut: 4, Narrowed: true}
	writeResult(t, s, res)
	r := Collect(Input{Dirs: []string{s}, Now: t0})
	wantInconclusive(t, r, "narrowed: not a full gate")
	if !strings.Contains(r.Reason, "NARROWED") {
		t.Fatalf("reason %q does not say NARROWED", r.Reason)
	}
	if err := Write(r, out); err != nil {
		t.Fatal(err)
	}
	for _, f := range Files {
		b, _ := os.ReadFile(filepath.Join(out, f))
		if !strings.Contains(string(b), "NARROWED") && !strings.Contains(string(b), `"narrowed": true`) {
			t.Errorf("%s does not say the run was narrowed:\n%s", f, b)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, "junit.xml"))
	if !strings.Contains(string(b), `<property name="narrowed" value="true">`) {
		t.Errorf("junit.xml has no narrowed property:\n%s", b)
	}
	md, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	if !strings.Contains(string(md), "INCONCLUSIVE NARROWED") {
		t.Errorf("summary.md row does not say NARROWED:\n%s", md)
	}
}

// H5: a gate.json that is a FIFO, a symlink to /dev/zero or huge is a
// problem; the merge returns.
func TestMergeReadsOnlyRegularBoundedFiles(t *testing.T) {
	s := t.TempDir()
	writeResult(t, s, passing("quote", "r1", gate.Target{Scope: "service"}))
	for _, d := range []string{"fifo", "zero", "huge"} {
		os.MkdirAll(filepath.Join(s, "claims", d), 0o755)
	}
	if err := syscall.Mkfifo(filepath.Join(s, "claims", "fifo", "gate.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink("/dev/zero", filepath.Join(s, "claims", "zero", "gate.json"))
	f, _ := os.Create(filepath.Join(s, "claims", "huge", "gate.json"))
	f.Truncate(maxGateJSON + 1) // sparse
	f.Close()
	// A shard manifest that is a FIFO, too.
	if err := syscall.Mkfifo(filepath.Join(s, "shard-1-of-2.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := Collect(Input{Dirs: []string{s}, Now: t0})
	if r.Verdict != gate.Inconclusive {
		t.Fatalf("verdict %s (%s)", r.Verdict, r.Reason)
	}
	b, _ := json.Marshal(r.Problems)
	for _, want := range []string{"fifo/gate.json", "zero/gate.json", "huge/gate.json", "shard-1-of-2.json", "not a regular file", "larger than 64 MiB"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("problems do not say %q: %s", want, b)
		}
	}
}
