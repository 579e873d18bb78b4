package evidence

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
)

// setVerdict rewrites a gate.json's verdict (and reason), its checks kept:
// what a node gate that failed on another check, or timed out, writes.
func setVerdict(t *testing.T, dir string, v gate.Verdict) {
	t.Helper()
	p := filepath.Join(dir, "gate.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var res gate.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	res.Verdict, res.Reason = v, "timed out after 5m0s"
	b, _ = json.Marshal(res)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// A gate that failed or was inconclusive never verifies a node, even when
// the record's checks passed in it: the pipeline rolled that node back (1)
// or the gate proved nothing (3).
func TestEvidenceFailedOrInconclusiveGateDoesNotVerify(t *testing.T) {
	for _, v := range []gate.Verdict{gate.Fail, gate.Inconclusive} {
		t.Run(string(v), func(t *testing.T) {
			root := t.TempDir()
			h := time.Hour
			setVerdict(t, gateRun(t, root, "quote", "app-01", detected.Add(10*h), "CHG-2026-0412", fixed), v)
			gateRun(t, root, "quote", "app-02", detected.Add(11*h), "CHG-2026-0412", fixed)
			gateRun(t, root, "quote", "app-03", detected.Add(12*h), "CHG-2026-0412", fixed)
			r := build(t, root, detected.Add(24*h), quote)
			if r.SLA.Status == Met || r.ExitCode() == 0 {
				t.Fatalf("SLA %+v: a %s gate made app-01 verified", r.SLA, v)
			}
			n := node(t, r, "quote", "app-01")
			if n.Status != Unverified || n.LastFailure == nil || !strings.Contains(strings.Join(n.FailedItems, ","), "verdict "+string(v)) {
				t.Fatalf("app-01 %+v, want unverified, failing with verdict %s", n, v)
			}
		})
	}
}

// A verified node whose later gate failed or was inconclusive is regressed.
func TestEvidenceVerifiedThenFailedGateRegresses(t *testing.T) {
	root := t.TempDir()
	h := time.Hour
	gateRun(t, root, "quote", "app-01", detected.Add(10*h), "CHG-2026-0412", fixed)
	gateRun(t, root, "quote", "app-02", detected.Add(11*h), "CHG-2026-0412", fixed)
	gateRun(t, root, "quote", "app-03", detected.Add(12*h), "CHG-2026-0412", fixed)
	setVerdict(t, gateRun(t, root, "quote", "app-02", detected.Add(20*h), "CHG-2026-0412", fixed), gate.Inconclusive)
	r := build(t, root, detected.Add(24*h), quote)
	if r.SLA.Status == Met {
		t.Fatalf("SLA %+v: an inconclusive gate after the verification left it met", r.SLA)
	}
	if n := node(t, r, "quote", "app-02"); n.Status != Regressed {
		t.Fatalf("app-02 %+v, want regressed", n)
	}
}

// A gate.json copied to another node's folder, its node renamed, keeps its
// runId: two reports claiming one run for different nodes verify neither
// node through that run.
func TestEvidenceDuplicateRunIDAcrossNodesVerifiesNothing(t *testing.T) {
	root := t.TempDir()
	h := time.Hour
	gateRun(t, root, "quote", "app-01", detected.Add(10*h), "CHG-2026-0412", fixed)
	gateRun(t, root, "quote", "app-03", detected.Add(12*h), "CHG-2026-0412", fixed)
	// app-02 never ran; the attacker copies app-01's report and renames the node.
	src := gateRun(t, root, "quote", "app-01", detected.Add(11*h), "CHG-2026-0412", fixed)
	b, err := os.ReadFile(filepath.Join(src, "gate.json"))
	if err != nil {
		t.Fatal(err)
	}
	forged := strings.ReplaceAll(string(b), `"app-01"`, `"app-02"`)
	dst := filepath.Join(root, "quote", "copy")
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "gate.json"), []byte(forged), 0o644); err != nil {
		t.Fatal(err)
	}
	// The same report copied to an archive (same nodes) is not suspicious.
	arch := filepath.Join(root, "archive", "a")
	if err := os.MkdirAll(arch, 0o755); err != nil {
		t.Fatal(err)
	}
	c, _ := os.ReadFile(filepath.Join(root, "quote", "20261128T210000Z-quote-node-app-03", "gate.json"))
	if err := os.WriteFile(filepath.Join(arch, "gate.json"), c, 0o644); err != nil {
		t.Fatal(err)
	}
	r := build(t, root, detected.Add(24*h), quote)
	if r.SLA.Status == Met {
		t.Fatalf("SLA %+v: a copied gate.json verified app-02", r.SLA)
	}
	if n := node(t, r, "quote", "app-02"); n.Status != Unverified {
		t.Fatalf("app-02 %+v, want unverified", n)
	}
	if n := node(t, r, "quote", "app-01"); n.Status != Verified || n.VerifiedAt == nil || !n.VerifiedAt.Equal(detected.Add(10*h)) {
		t.Fatalf("app-01 %+v: its genuine run at +10h still verifies it", n)
	}
	if n := node(t, r, "quote", "app-03"); n.Status != Verified {
		t.Fatalf("app-03 %+v: a copy claiming the same node is no forgery", n)
	}
	if !strings.Contains(r.Apps[0].Reason, "app-02 claimed only by run") || !strings.Contains(strings.Join(r.Scan.Problems, "\n"), "claimed by more than one report") {
		t.Fatalf("reason %q, problems %q: want the duplicate runId named", r.Apps[0].Reason, r.Scan.Problems)
	}
}

// A FIFO or /dev/zero planted as a run's gate.json is a problem line: the
// walk neither blocks on the FIFO nor reads zeros forever.
func TestEvidenceFIFOAndDevZeroGateJSONAreProblems(t *testing.T) {
	root := t.TempDir()
	gateRun(t, root, "quote", "app-01", detected.Add(time.Hour), "CHG-2026-0412", fixed)
	fifo := filepath.Join(root, "quote", "fifo-run")
	zero := filepath.Join(root, "quote", "zero-run")
	os.MkdirAll(fifo, 0o755)
	os.MkdirAll(zero, 0o755)
	if err := syscall.Mkfifo(filepath.Join(fifo, "gate.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Symlink("/dev/zero", filepath.Join(zero, "gate.json"))
	r := build(t, root, detected.Add(2*time.Hour), quote)
	if r.Scan.Unreadable != 2 || !strings.Contains(strings.Join(r.Scan.Problems, "\n"), "not a regular file") {
		t.Fatalf("scan %+v: want the FIFO and /dev/zero as unreadable", r.Scan)
	}
	if n := node(t, r, "quote", "app-01"); n.Status != Verified {
		t.Fatalf("app-01 %+v", n)
	}
}
