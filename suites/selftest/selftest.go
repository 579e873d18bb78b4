//go:build pivselftest

// Package selftest is compiled into piv only for piv's own tests (build tag
// pivselftest). Its specs misbehave on purpose, as the app definition's
// settings.mode says, so the tests can prove how the gate treats a panic, a
// flake, a hang and an advisory failure without touching real suites.
package selftest

import (
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/piv"
)

var _ = piv.Describe("selftest", "misbehaving checks", func() {
	It("does what settings.mode says", piv.Functional, FlakeAttempts(3), func(ctx SpecContext) {
		switch piv.SettingOr("mode", "pass") {
		case "panic":
			var m map[string]int
			m["boom"]++ // a harness fault, not a verdict on the app
		case "fail":
			Fail("selftest: failing on purpose")
		case "flaky":
			// Fails on the first attempt of each run, passes on the second.
			marker := filepath.Join(piv.Current().OutDir, "flaky-marker")
			if _, err := os.Stat(marker); err != nil {
				os.WriteFile(marker, nil, 0o644)
				Fail("selftest: first attempt fails")
			}
		case "hang":
			select {
			case <-ctx.Done():
			case <-time.After(time.Minute):
			}
		case "secret":
			s := piv.Secret("PIV_SELFTEST_SECRET")
			By("using " + s.Value())
			Fail("selftest: the secret is " + s.Value())
		}
	})

	It("warns when advisory checks fail", piv.Advisory, func() {
		if piv.SettingOr("advisory", "pass") == "fail" {
			Fail("selftest: advisory failure")
		}
	})
})
