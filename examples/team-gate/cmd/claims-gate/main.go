// Command claims-gate is the claims team's PIV gate: piv's whole command
// line with the team's own suites compiled in. Build it from this
// repository (go build ./cmd/claims-gate) and run it as a pipeline runs piv:
//
//	claims-gate run claims --node node-1 --expect-version 1.8.0
package main

import (
	"context"
	"os"

	"github.com/piv-gate/piv/cli"

	_ "example.com/claims/suites/claims" // the team's specs: piv.Describe("claims", ...)
)

func main() { os.Exit(cli.Main(context.Background(), os.Args[1:], os.Stdout, os.Stderr)) }
