package cli

import (
	"strings"
	"testing"

	"github.com/piv-gate/piv/internal/fleettest"
)

// -q and -v, before or after the command, reach the gate's child process:
// quiet has no progress at all on stderr (the summary is still on stdout),
// verbose has Ginkgo's verbose reporter (each spec's name as it runs),
// the default has settling's progress and Ginkgo's succinct line.
func TestQuietAndVerboseProgress(t *testing.T) {
	f := fleettest.Three(t, nil)
	base := []string{"run", "quote", "--node", "app-02", "--label-filter", "technical", "--settle", "30s"}
	// pivRun gives a fresh --out only when args start with run.
	before := func(global string) []string {
		return append([]string{global}, append(append([]string{}, base...), "--out", t.TempDir(), "--timeout", "60s")...)
	}
	spec := "technical tls protocol is at least"

	normal := pivRun(t, f, nil, base...)
	wantExit(t, normal, 0)
	if !strings.Contains(normal.stderr, "piv: settling node app-02") || strings.Contains(normal.stderr, spec) {
		t.Errorf("default progress: want settling lines and no spec names:\n%s", normal.stderr)
	}
	for _, args := range [][]string{before("-q"), append(append([]string{}, base...), "--quiet")} {
		r := pivRun(t, f, nil, args...)
		wantExit(t, r, 0)
		if r.stderr != "" {
			t.Errorf("%q: stderr should be empty under -q, got:\n%s", args, r.stderr)
		}
		if !strings.Contains(r.stdout, "PASS") {
			t.Errorf("%q: the result still goes to stdout:\n%s", args, r.stdout)
		}
	}
	r := pivRun(t, f, nil, before("--verbose")...)
	wantExit(t, r, 0)
	if !strings.Contains(r.stderr, spec) || !strings.Contains(r.stderr, "piv: settling node app-02") {
		t.Errorf("-v: want Ginkgo's verbose progress with spec names:\n%s", r.stderr)
	}
}
