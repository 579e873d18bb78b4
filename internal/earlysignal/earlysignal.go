// Package earlysignal catches SIGINT, SIGTERM, SIGHUP and SIGQUIT as early as a Go program
// can: in a package init that depends on nothing but os/signal, so Go's
// initialization order runs it before the heavy inits of piv's dependencies
// (testcontainers-go lists every process on the machine in its init, which
// takes tens of milliseconds, and a SIGTERM arriving meanwhile used to kill
// a gate with 143 before it could write anything). The command line reads
// the signals from C.
package earlysignal

import (
	"os"
	"os/signal"
	"syscall"
)

// C receives Signals from package init on.
var C = make(chan os.Signal, 8)

// Signals are the ones caught: a terminal's Ctrl-C, a pipeline's stop, a
// closed terminal, and SIGQUIT (whose default — a goroutine dump and exit 2,
// the code for a usage error — would tell a deployer the wrong thing).
var Signals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

func init() { signal.Notify(C, Signals...) }

// Name is a signal as gate.json reasons spell it ("SIGTERM").
func Name(s os.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGHUP:
		return "SIGHUP"
	case syscall.SIGQUIT:
		return "SIGQUIT"
	}
	return s.String()
}
