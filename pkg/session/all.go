package session

import (
	"context"
	"fmt"
	"io"
	"os/exec"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
)

// AppVerdict is one app's outcome in a fan-out.
type AppVerdict struct {
	App     string
	Verdict gate.Verdict
	// Exit is the child's exit code (-1: it could not be started).
	Exit int
}

// RunAll runs one gate per app, each in its own process of exe (Ginkgo runs
// once per process): exe run APP args... A child that exits 2 (usage) or
// with any code that is not a verdict's counts as inconclusive: fail closed.
// The worst verdict is returned with each app's.
func RunAll(ctx context.Context, exe string, apps []*config.App, args []string, stdout, stderr io.Writer) (gate.Verdict, []AppVerdict) {
	worst := gate.Pass
	var out []AppVerdict
	for _, app := range apps {
		fmt.Fprintf(stderr, "piv: --all: %s\n", app.App)
		cmd := exec.CommandContext(ctx, exe, append([]string{"run", app.App}, args...)...)
		cmd.Stdout, cmd.Stderr = stdout, stderr
		err := cmd.Run()
		av := AppVerdict{App: app.App, Verdict: gate.Inconclusive, Exit: -1}
		if err == nil {
			av.Verdict, av.Exit = gate.Pass, 0
		} else if ee, ok := err.(*exec.ExitError); ok {
			av.Exit = ee.ExitCode()
			if av.Exit == 1 {
				av.Verdict = gate.Fail
			}
		}
		if ctx.Err() != nil {
			av.Verdict = gate.Inconclusive
		}
		if av.Verdict.Worse(worst) {
			worst = av.Verdict
		}
		out = append(out, av)
	}
	return worst, out
}
