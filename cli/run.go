package cli

import (
	"context"
	"fmt"
	"io"
	"strings"

	// The technical PIV is part of every gate binary.
	_ "github.com/piv-gate/piv/suites/technical"
	// Remediation records (--remediation) are checked by every gate binary.
	_ "github.com/piv-gate/piv/suites/remediation"
)

// Main is the whole piv command line: it runs the command args name and
// returns the process exit code (0 pass, 1 fail, 2 usage or configuration
// error, 3 inconclusive). A team's own gate binary is a main that calls it
// with os.Args[1:] and blank-imports the team's suites.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return exitCode(run(ctx, args, stdout, stderr), stderr)
}

// command is one subcommand. Each lives in its own file (cmd_<name>.go) and
// parses its own flags on a private FlagSet: Ginkgo and go-rod both register
// flags on flag.CommandLine, which piv never parses.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// handlesSignals: the command consumes earlySignals itself; every
	// other command gets the default signal actions back.
	handlesSignals bool
}

var commands []command

func register(c command) { commands = append(commands, c) }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		if len(args) == 0 {
			return &exitError{code: exitUsage}
		}
		return nil
	}
	for _, c := range commands {
		if c.name == args[0] {
			if !c.handlesSignals {
				releaseSignals()
			}
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	printUsage(stderr)
	return usageErr("unknown command %q", args[0])
}

func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`piv: post-implementation verification gate for rolling deployments.

Usage:
  piv <command> [flags]

Commands:
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Exit codes: 0 pass, 1 fail, 2 usage or configuration error (nothing ran),
3 inconclusive (nothing selected, timeout, interrupted, browser/Docker missing).

Run 'piv <command> --help' for a command's flags and examples.
`)
	io.WriteString(w, b.String())
}
