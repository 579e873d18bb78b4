package piv

import (
	"fmt"
	"sort"
	"strings"

	"github.com/onsi/ginkgo/v2"
)

// The label registry: every label a spec or a --label-filter may use. One
// place, so that a typo ("functinal") is an error rather than a filter that
// silently selects nothing.
var (
	Technical  = ginkgo.Label("technical")  // generic PIV from the app definition
	Functional = ginkgo.Label("functional") // end-to-end journeys written per app
	Smoke      = ginkgo.Label("smoke")      // the quickest signal that the app is up
	Browser    = ginkgo.Label("browser")    // needs Chromium
	Mutating   = ginkgo.Label("mutating")   // creates data: never in a gate unless --allow-mutating
	Advisory   = ginkgo.Label("advisory")   // a failure is a warning, not a block
	// Remediation marks the checks of a remediation record (--remediation).
	Remediation = ginkgo.Label("remediation")
)

// KnownLabels lists the registry, sorted.
func KnownLabels() []string {
	return []string{"advisory", "browser", "functional", "mutating", "remediation", "smoke", "technical"}
}

// CheckLabels returns an error naming every label in labels that is not in
// the registry.
func CheckLabels(labels []string) error {
	known := map[string]bool{}
	for _, l := range KnownLabels() {
		known[l] = true
	}
	var bad []string
	for _, l := range labels {
		if !known[l] && !strings.HasPrefix(l, "app:") {
			bad = append(bad, l)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("unknown label(s) %s (known: %s)", strings.Join(bad, ", "), strings.Join(KnownLabels(), ", "))
}
