package remediation

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/gate"
)

func TestRemediationUnverifiedNamesItemsThatDidNotRun(t *testing.T) {
	rec := mustRecord(t, goodRecord)
	res := &gate.Result{Checks: []gate.Check{
		{State: gate.Passed, Observed: map[string]any{"remediation": rec.ID, "item": "component openssl"}},
		{State: gate.Failed, Observed: map[string]any{"remediation": rec.ID, "item": "tls 1.0"}},
		{State: gate.Skipped, Observed: map[string]any{"remediation": rec.ID, "item": "tls 1.1"}},
		{State: gate.Passed, Observed: map[string]any{"remediation": "OTHER", "item": "refused /debug/vars"}},
	}}
	why := Unverified(res, rec)
	for _, want := range []string{"3 of its checks did not run", "tls 1.1", "header Strict-Transport-Security", "refused /debug/vars"} {
		if !strings.Contains(why, want) {
			t.Errorf("reason %q lacks %q", why, want)
		}
	}
	for _, it := range rec.Items() {
		res.Checks = append(res.Checks, gate.Check{State: gate.Failed, Observed: map[string]any{"remediation": rec.ID, "item": it.Key}})
	}
	if why := Unverified(res, rec); why != "" {
		t.Fatalf("every item ran (some failed, which the verdict judges): %q", why)
	}
}

// The checked-in records load: the demo's and the Debian example.
func TestRemediationFixtureRecordsLoad(t *testing.T) {
	files, _ := filepath.Glob("../../fixtures/remediation/*.yaml")
	if len(files) < 2 {
		t.Fatalf("fixtures: %v", files)
	}
	for _, f := range files {
		r, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Items()) == 0 || !r.HasApp("quote") {
			t.Fatalf("%s: %+v", f, r)
		}
	}
}
