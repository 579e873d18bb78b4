package cli

import (
	"strings"
	"testing"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
	"github.com/piv-gate/piv/internal/fleettest"
	"github.com/piv-gate/piv/pkg/gate"
)

// A node whose health is down fails on the technical check, and the
// journeys that would only wait out their timeouts against it are skipped
// with the root cause named; the reason names the technical check first.
func TestTechnicalRootCauseSkipsJourneys(t *testing.T) {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) {
		if s.Name == "app-02" {
			s.Options.Faults = []app.Fault{app.FaultHealthDown}
		}
	})
	r := pivRun(t, f, []string{"QUOTE_TEST_PASSWORD=piv-demo-password"}, "run", "quote", "--node", "app-02", "--settle", "0s")
	wantExit(t, r, 1)
	g := r.gate
	if !strings.HasPrefix(g.Reason, "1 blocking check(s) failed: technical") && !strings.Contains(strings.SplitN(g.Reason, ";", 2)[0], "technical") {
		t.Fatalf("reason does not start with the technical root cause: %q", g.Reason)
	}
	skipped := 0
	for _, c := range g.Checks {
		if c.Suite == "quote" {
			if c.State != gate.Skipped || c.Failure == nil || !strings.Contains(c.Failure.Message, "failed on this target first") {
				t.Errorf("journey %q: state %s, failure %+v", c.Name, c.State, c.Failure)
			}
			skipped++
		}
	}
	if skipped == 0 {
		t.Fatalf("no journey in the result:\n%s", r.explain())
	}
}
