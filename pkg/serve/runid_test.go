package serve

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/piv-gate/piv/pkg/gate"
)

// R2: every gate's runId is its report folder's name. Gates the server
// answers itself (the child gave no gate.json) carry the folder's name.
func TestSynthesizedGateCarriesItsFolderAsRunID(t *testing.T) {
	_, hs, out := newTestServer(t, child(t, "echo 'not json'; exit 0"), nil)
	seen := map[string]bool{}
	for i := 0; i < 4; i++ { // same second, same target: folders …, -2, -3, -4
		status, _, body := post(t, hs.URL+"/v1/gates", "tok-123", nodeGate)
		var g gate.Result
		if status != 200 || json.Unmarshal([]byte(body), &g) != nil {
			t.Fatalf("%d %s", status, body)
		}
		if g.RunID == "" || seen[g.RunID] {
			t.Fatalf("gate %d: runId %q (seen %v): want a unique id", i, g.RunID, seen)
		}
		seen[g.RunID] = true
		b, err := os.ReadFile(filepath.Join(out, "quote", g.RunID, "gate.json"))
		if err != nil {
			t.Fatalf("no report folder named for run %s: %v", g.RunID, err)
		}
		var disk gate.Result
		if json.Unmarshal(b, &disk) != nil || disk.RunID != g.RunID {
			t.Fatalf("gate.json in %s says runId %q", g.RunID, disk.RunID)
		}
	}
}

// A child whose clock named the run a second later than the server named
// its folder: the folder takes the run's name.
func TestFolderFollowsTheChildsRunID(t *testing.T) {
	script := `for a in "$@"; do case "$a" in --out=*) out="${a#--out=}";; esac; done
id="20991231T235959Z-quote-node-app-02"
printf '{"schema":"piv.gate/v1","runId":"%s","app":"quote","verdict":"pass","target":{"scope":"node","node":"app-02"},"checks":[{"name":"t","state":"passed","blocking":true}]}' "$id" > "$out/gate.json"
cat "$out/gate.json"`
	_, hs, out := newTestServer(t, child(t, script), nil)
	status, _, body := post(t, hs.URL+"/v1/gates", "tok-123", nodeGate)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	dirs, _ := filepath.Glob(filepath.Join(out, "quote", "*"))
	if len(dirs) != 1 || filepath.Base(dirs[0]) != "20991231T235959Z-quote-node-app-02" {
		t.Fatalf("report folders %v: want the one named for the child's runId", dirs)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "piv-stderr.log")); err != nil {
		t.Fatalf("the folder's files did not move with it: %v", err)
	}
}
