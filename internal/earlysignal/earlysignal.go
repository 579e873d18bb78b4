// Package earlysignal catches SIGINT and SIGTERM as early as a Go program
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

// C receives SIGINT and SIGTERM from package init on.
var C = make(chan os.Signal, 8)

func init() { signal.Notify(C, syscall.SIGINT, syscall.SIGTERM) }
