package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piv-gate/piv/internal/fleettest"
	"github.com/piv-gate/piv/pkg/merge"
	"github.com/piv-gate/piv/pkg/shard"
)

// shardApps writes a config folder of several apps, all served by the one
// demo fleet f, each with an owner; the apps named in failing also require a
// closed port, so their gate fails.
func shardApps(t *testing.T, f *fleettest.Fleet, failing ...string) (dir string, apps []string) {
	t.Helper()
	dir = t.TempDir()
	ca, err := os.ReadFile(filepath.Join(f.Dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca, 0o644)
	owners := map[string]string{
		"quote":   `{ team: motor-quotes, tribe: retail, contact: "#motor-quotes" }`,
		"claims":  `{ team: claims, tribe: retail, contact: "#claims-oncall" }`,
		"billing": `{ team: payments, tribe: finance, contact: "payments@example.test" }`,
		"motor":   `{ team: motor-quotes, tribe: retail, contact: "#motor-quotes" }`,
		"home":    `{ team: claims, tribe: retail, contact: "#claims-oncall" }`,
		"travel":  "",
	}
	base := strings.Replace(f.YAML(""), "suites: [quote]\n", "", 1)
	for name, owner := range owners {
		y := strings.Replace(base, "app: quote", "app: "+name, 1)
		for _, bad := range failing {
			if bad == name {
				y = strings.Replace(y, "ports: ["+f.Port()+"]", "ports: ["+f.Port()+", 1]", 1)
			}
		}
		if owner != "" {
			y += "owner: " + owner + "\n"
		}
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		apps = append(apps, name)
	}
	return dir, apps
}

// piv runs the binary in dir (reports/ of run --all lands there).
func pivIn(t *testing.T, dir string, args ...string) runOut {
	t.Helper()
	cmd := exec.Command(pivBin, args...)
	cmd.Dir = dir
	var so, se strings.Builder
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := runOut{stdout: so.String(), stderr: se.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestShardUsageErrors(t *testing.T) {
	f := fleettest.Three(t, nil)
	for _, args := range [][]string{
		{"run", "--all", "--shard", "0/3"},
		{"run", "--all", "--shard", "4/3"},
		{"run", "--all", "--shard", "3"},
		{"run", "--all", "--shard", "a/b"},
		{"run", "quote", "--shard", "1/2"},
	} {
		r := pivIn(t, t.TempDir(), append(args, "--config", f.Dir)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, "--shard") {
			t.Errorf("piv %s: want exit 2 naming --shard, got %s", strings.Join(args, " "), r.explain())
		}
	}
	if r := pivIn(t, t.TempDir(), "merge"); r.code != exitUsage {
		t.Errorf("merge without DIR: want exit 2, got %s", r.explain())
	}
}

// Three shards of six apps, each in its own working folder as three CI jobs
// would be, then merged: every app exactly once, grouped by owner; a failing
// app fails the merge; a lost shard makes it inconclusive.
func TestShardsRunEveryAppOnceAndMergeByOwner(t *testing.T) {
	f := fleettest.Three(t, nil)
	cfg, apps := shardApps(t, f, "travel")
	work := t.TempDir()
	const n = 3
	var dirs []string
	ran := map[string]int{}
	for k := 1; k <= n; k++ {
		d := filepath.Join(work, "shard-"+string(rune('0'+k)))
		os.MkdirAll(d, 0o755)
		dirs = append(dirs, d)
		spec := shard.Spec{K: k, N: n}
		// No --label-filter: a narrowed pass is not a full gate for the merge.
		r := pivIn(t, d, "run", "--all", "--shard", spec.String(), "--config", cfg, "--timeout", "60s")
		want := exitPass
		for _, a := range apps {
			if spec.Owns(a) {
				ran[a]++
				if a == "travel" {
					want = exitFail
				}
			}
		}
		if r.code != want {
			t.Fatalf("shard %s: want exit %d, got %s", spec, want, r.explain())
		}
		m, ok, err := shard.ReadManifest(filepath.Join(d, "reports", shard.FileName(spec)))
		if err != nil || !ok {
			t.Fatalf("shard %s: manifest: %v", spec, err)
		}
		for _, a := range m.Apps {
			if _, err := os.Stat(filepath.Join(d, "reports", a)); err != nil {
				t.Fatalf("shard %s lists %s but has no reports for it: %v", spec, a, err)
			}
		}
	}
	for _, a := range apps {
		if ran[a] != 1 {
			t.Fatalf("%s ran in %d shards", a, ran[a])
		}
	}

	out := filepath.Join(work, "merged")
	r := pivIn(t, work, append(append([]string{"merge"}, dirs...), "--config", cfg, "--out", out)...)
	wantExit(t, r, exitFail)
	var rep merge.Report
	b, err := os.ReadFile(filepath.Join(out, "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, g := range rep.Owners {
		for _, run := range g.Runs {
			if prev, dup := seen[run.App]; dup {
				t.Fatalf("%s merged twice (%s, %s)", run.App, prev, g.Owner.Team)
			}
			seen[run.App] = g.Owner.Team
		}
	}
	want := map[string]string{"quote": "motor-quotes", "motor": "motor-quotes", "claims": "claims", "home": "claims", "billing": "payments", "travel": "unowned"}
	for a, team := range want {
		if seen[a] != team {
			t.Errorf("%s under %q, want %q (groups: %v)", a, seen[a], team, seen)
		}
	}
	if rep.Summary.Failed != 1 || rep.Summary.Passed != 5 || !strings.Contains(rep.Reason, "travel (service)") {
		t.Fatalf("summary %+v reason %q", rep.Summary, rep.Reason)
	}
	md, _ := os.ReadFile(filepath.Join(out, "summary.md"))
	if !strings.Contains(string(md), "### payments (finance) — payments@example.test: PASS") {
		t.Fatalf("summary.md:\n%s", md)
	}

	// A shard whose reports were lost: the apps it was due to run have no
	// result, and the merge must not pass without them.
	lost := ""
	for _, d := range dirs {
		if entries, _ := os.ReadDir(filepath.Join(d, "reports")); len(entries) > 1 {
			lost = d
		}
	}
	os.RemoveAll(lost)
	r = pivIn(t, work, append(append([]string{"merge"}, dirs...), "--config", cfg, "--out", filepath.Join(work, "merged-2"), "--format", "json")...)
	wantExit(t, r, exitInconclusive)
	if !strings.Contains(r.stdout, "cannot read: no such file or directory") || !strings.Contains(r.stdout, "no gate.json for this app") {
		t.Fatalf("lost shard not explained: %s", r.explain())
	}
}
