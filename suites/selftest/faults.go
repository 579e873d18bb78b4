//go:build pivselftest

package selftest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/piv"
)

// Harness faults on purpose (settings.fault): whatever a suite does to the
// process, the gate must end inconclusive (exit 3) with gate.json written.
var _ = piv.Describe("selftest", "harness faults", func() {
	fault := piv.SettingOr("fault", "")
	switch fault {
	case "":
		return
	case "describe-panic":
		panic("selftest: a Describe body panicked while the spec tree was built")
	case "setting-missing":
		_ = piv.Setting("no-such-setting")
	}
	It("misbehaves as settings.fault says", piv.Functional, func(ctx SpecContext) {
		switch fault {
		case "goroutine-panic":
			go func() { panic("selftest: a goroutine the spec started panicked") }()
		case "secret-panic":
			// The Go runtime prints this panic itself, past every redactor
			// of this process: only the supervising parent can catch it.
			s := piv.Secret("PIV_SELFTEST_SECRET")
			go func() { panic("selftest: crashing with " + s.Value()) }()
		case "exit0":
			os.Exit(0)
		case "exit1":
			os.Exit(1)
		case "fork":
			// A process that outlives the spec and holds stdout, stderr
			// (and, were it not close-on-exec, the report pipe).
			cmd := exec.Command("sleep", "120")
			cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
			if err := cmd.Start(); err != nil {
				Fail(err.Error())
			}
			os.WriteFile(filepath.Join(piv.Current().OutDir, "grandchild.pid"), []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
			return
		case "secret-stdio":
			// Straight to the process's stdout and stderr, past every
			// writer piv gives a suite.
			v := piv.Secret("PIV_SELFTEST_SECRET").Value()
			fmt.Println("stdout:", v)
			os.Stderr.WriteString("stderr: " + v[:3])
			os.Stderr.WriteString(v[3:] + "\n")
			return
		case "block-junit":
			// As a full disk would: junit.xml cannot be written.
			os.MkdirAll(filepath.Join(piv.Current().OutDir, "junit.xml", "blocker"), 0o755)
			return
		case "setting-in-spec":
			_ = piv.Setting("no-such-setting") // failure location: this line
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
		}
	})
})

// Checks that do not run (settings.absent): one that skips itself while
// running, and one declared pending.
var _ = piv.Describe("selftest", "absent checks", func() {
	if piv.SettingOr("absent", "") == "" {
		return
	}
	It("skips itself", piv.Functional, func() { Skip("selftest: nothing to check today") })
	PIt("is not written yet", piv.Functional, func() {})
})
