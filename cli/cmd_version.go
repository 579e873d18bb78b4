package cli

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X github.com/piv-gate/piv/cli.version=…".
var version = "dev"

func init() {
	register(command{name: "version", summary: "print piv's version", run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fmt.Fprintln(stdout, "piv", Version())
		return nil
	}})
}

// Version is piv's version: the one stamped at build, else the module
// version go install recorded, else "dev".
func Version() string {
	v := version
	if bi, ok := debug.ReadBuildInfo(); ok && v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	return v
}
