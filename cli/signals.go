package cli

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/piv-gate/piv/internal/earlysignal"
)

// earlySignals catches SIGINT and SIGTERM from the first moment the process
// runs Go code (package init), so a gate signalled during its first
// milliseconds still ends inconclusive with gate.json written instead of
// dying with 143. Commands that do not handle signals themselves release
// them (and a signal that came early is re-raised with the default action).
// The channel itself lives in internal/earlysignal, whose init runs before
// those of piv's heavy dependencies.
var earlySignals = earlysignal.C

// releaseSignals restores the default action for a command that handles no
// signals (or handles them with its own signal.Notify).
func releaseSignals() {
	signal.Stop(earlySignals)
	select {
	case s := <-earlySignals:
		signal.Reset(s)
		if sig, ok := s.(syscall.Signal); ok {
			syscall.Kill(os.Getpid(), sig)
		}
	default:
	}
}

func signalName(s os.Signal) string { return earlysignal.Name(s) }
