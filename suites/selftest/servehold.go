//go:build pivselftest

package selftest

import (
	"fmt"
	"io"
	"net"
	"os"

	. "github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/piv"
)

// servehold lets piv serve's tests hold a gate running for exactly as long
// as they need, with no timing: the spec dials the test's listener
// (settings.hold), writes its process id, and passes when the test closes
// the connection, or ends when the run is interrupted.
var _ = piv.Describe("servehold", "a gate held by its test", func() {
	It("holds until released", piv.Functional, func(ctx SpecContext) {
		addr := piv.SettingOr("hold", "")
		c, err := net.Dial("tcp", addr)
		if err != nil {
			Fail(fmt.Sprintf("servehold: dialing the test at %q: %v", addr, err))
		}
		defer c.Close()
		fmt.Fprintf(c, "%d\n", os.Getpid())
		released := make(chan struct{})
		go func() { io.Copy(io.Discard, c); close(released) }()
		select {
		case <-released:
		case <-ctx.Done():
			Fail("servehold: interrupted while held")
		}
	})
})
