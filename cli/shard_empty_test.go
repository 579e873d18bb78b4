package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piv-gate/piv/internal/fleettest"
	"github.com/piv-gate/piv/pkg/shard"
)

// A shard whose share holds no app verified nothing: exit 3 naming the
// shard and how many apps there are, never "all apps (0): PASS". Its
// manifest is still written, so piv merge tells it from a lost shard.
func TestShardWithNoAppIsInconclusive(t *testing.T) {
	f := fleettest.Three(t, nil)
	cfg, apps := shardApps(t, f)
	const n = 10
	k := 0
	for c := 1; c <= n && k == 0; c++ {
		empty := true
		for _, a := range apps {
			if (shard.Spec{K: c, N: n}).Owns(a) {
				empty = false
			}
		}
		if empty {
			k = c
		}
	}
	if k == 0 {
		t.Fatal("no empty shard of 10 for six apps")
	}
	spec := shard.Spec{K: k, N: n}
	d := t.TempDir()
	r := pivIn(t, d, "run", "--all", "--shard", spec.String(), "--label-filter", "technical", "--config", cfg, "--timeout", "60s")
	wantExit(t, r, exitInconclusive)
	if strings.Contains(r.stdout, "PASS") || !strings.Contains(r.stdout+r.stderr, "--shard "+spec.String()+" holds none of the 6 app(s)") ||
		!strings.Contains(r.stdout+r.stderr, "nothing was verified") {
		t.Fatalf("empty shard not explained: %s", r.explain())
	}
	m, ok, err := shard.ReadManifest(filepath.Join(d, "reports", shard.FileName(spec)))
	if err != nil || !ok || len(m.Apps) != 0 || m.AllApps != 6 {
		t.Fatalf("manifest %+v ok=%v err=%v: want an empty shard's manifest", m, ok, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(d, "reports")); len(entries) != 1 {
		t.Fatalf("reports/ holds %d entries, want the manifest only", len(entries))
	}
}

// A narrowed run merged alone: its pass is not a full gate (exit 3), and
// the merge's stdout line says NARROWED.
func TestMergeNarrowedRunSaysSo(t *testing.T) {
	f := fleettest.Three(t, nil)
	cfg, _ := shardApps(t, f)
	work := t.TempDir()
	run := filepath.Join(work, "runs", "quote", "r1")
	r := pivIn(t, work, "run", "quote", "--service", "--label-filter", "technical", "--config", cfg, "--out", run, "--timeout", "60s")
	wantExit(t, r, exitPass)
	r = pivIn(t, work, "merge", filepath.Join(work, "runs"), "--out", filepath.Join(work, "merged"))
	wantExit(t, r, exitInconclusive)
	if !strings.Contains(r.stdout, "INCONCLUSIVE NARROWED") || !strings.Contains(r.stdout, "narrowed: not a full gate") {
		t.Fatalf("narrowed run not marked: %s", r.explain())
	}
}
