// Command piv is the generic post-implementation verification gate: the
// technical PIV for any app, plus the demo app's suite. A team whose app has
// its own functional suites builds its own gate binary the same way (see
// examples/team-gate): a main that calls cli.Main, plus blank imports.
package main

import (
	"context"
	"os"

	"github.com/piv-gate/piv/cli"
)

func main() { os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }
