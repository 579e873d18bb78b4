package piv

import (
	"fmt"
	"sort"
	"sync"

	"github.com/onsi/ginkgo/v2"
)

// Describe declares a functional suite's specs for the suite named suite.
// The specs exist in a run only when the run's app lists suite in its
// definition (suites: [quote]); in any other run the container is empty, so
// one binary carries every app's suites without them selecting each other.
//
//	var _ = piv.Describe("quote", "motor quote journey", func() { … })
func Describe(suite, text string, args ...any) bool {
	suitesMu.Lock()
	suites[suite] = text
	suitesMu.Unlock()
	for i, a := range args {
		if body, ok := a.(func()); ok {
			args[i] = func() {
				if r := Current(); r != nil && r.HasSuite(suite) {
					// Technical checks run first. When one that blocks has
					// failed on this target (port closed, TLS, health), the
					// journeys would only wait out their timeouts on a node
					// that is down: the verdict is already fail, and the
					// reason names the root cause. Skip them, saying why.
					ginkgo.BeforeEach(func() {
						if rc := r.RootCause(); rc != "" {
							ginkgo.Skip("not run: the technical check \"" + rc + "\" failed on this target first")
						}
					})
					body()
				}
			}
		}
	}
	args = append(args, ginkgo.Label("app:"+suite))
	return ginkgo.Describe(suite+" "+text, args...)
}

// fail routes a failure to Ginkgo at the suite's line: every exported
// helper that can fail calls ginkgo.GinkgoHelper() first, so Ginkgo skips
// piv's frames and names the QA engineer's spec, wherever the suite's module
// lives (no stack scan for piv's own paths).
func fail(msg string) {
	ginkgo.GinkgoHelper()
	ginkgo.Fail(msg)
}

func failf(format string, a ...any) {
	ginkgo.GinkgoHelper()
	fail(fmt.Sprintf(format, a...))
}

var (
	suitesMu sync.Mutex
	suites   = map[string]string{} // suite name -> first Describe's location
)

// RegisteredSuites lists the functional suites compiled into this binary, so
// `piv validate` and `piv run` can reject a definition that names a suite
// that does not exist (a typo would otherwise select nothing, silently).
func RegisteredSuites() []string {
	suitesMu.Lock()
	defer suitesMu.Unlock()
	out := make([]string, 0, len(suites))
	for s := range suites {
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}
