//go:build pivselftest

package selftest

import (
	. "github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/piv"
)

// piv.Observe must keep secrets out of gate.json however a suite passes
// them: as a value, inside a structure, as a key.
var _ = piv.Describe("observetest", "observations", func() {
	It("records what it saw, secrets redacted", piv.Functional, func() {
		s := piv.Secret("PIV_OBSERVE_SECRET")
		piv.Observe("plain", "seen")
		piv.Observe("token", s.Value())
		piv.Observe("nested", map[string]any{"header": "Bearer " + s.Value(), "list": []string{"x", s.Value()}})
		piv.Observe("key-"+s.Value(), 1)
		piv.Observe("unserialisable", make(chan int))
	})
})
