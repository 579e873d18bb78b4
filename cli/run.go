package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/piv-gate/piv/internal/quickstart"

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
	quickstart.Restore()
	return exitCode(run(ctx, args, stdout, stderr), stderr)
}

// command is one subcommand. Each lives in its own file (cmd_<name>.go) and
// parses its own flags on a private FlagSet: Ginkgo and go-rod both register
// flags on flag.CommandLine, which piv never parses.
//
// The conventions of the command line come with the registry and the flag
// helpers, so a command gets them by being registered:
//   - `piv CMD --help`, `piv CMD -h` and `piv help CMD` print its help to
//     stdout and exit 0: piv calls run with the single argument --help and
//     renders the FlagSet newFlagSet made (a FlagSet made otherwise prints
//     its own help, which is passed on). So run must parse its flags before
//     it does anything else, and return on flag.ErrHelp.
//   - an unknown flag, a flag without its value, an empty value: one line
//     with a did-you-mean and a pointer to the help (parseInterleaved).
//   - -q/--quiet and -v/--verbose are piv's own, before or after the
//     command: commands never see them and must not define them.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
	// handlesSignals: the command consumes earlySignals itself; every
	// other command gets the default signal actions back.
	handlesSignals bool
	// hidden commands are left out of the usage and of completion
	// (__complete, which the shell scripts call).
	hidden bool
	// rawArgs: the command gets its arguments untouched (no global flags
	// taken out, no --help handling): __complete is handed a command line.
	rawArgs bool
}

var commands []command

func register(c command) { commands = append(commands, c) }

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

func commandNames() []string {
	var names []string
	for _, c := range commands {
		if !c.hidden {
			names = append(names, c.name)
		}
	}
	sort.Strings(names)
	return names
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	flagQuiet, flagVerbose = false, false
	// piv's own flags, before the command.
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-") && args[i] != "-"; i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if ok, err := takeGlobal(a); ok {
			if err != nil {
				return err
			}
			continue
		}
		switch a {
		case "-h", "-help", "--help", "--h":
			printUsage(stdout)
			return nil
		case "-version", "--version":
			fmt.Fprintln(stdout, VersionLine())
			return nil
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if hint := didYouMean(name, globalFlagNames, "--"); hint != "" {
			return usageErr("unknown flag %s%s; see 'piv --help'", a, hint)
		}
		if owner := commandWithFlag(ctx, name); owner != "" {
			return usageErr("%s is a flag of the commands, not of piv: put it after the command (e.g. piv %s … %s); see 'piv --help'", a, owner, a)
		}
		return usageErr("unknown flag %s; see 'piv --help'", a)
	}
	args = args[i:]
	if len(args) == 0 {
		printUsage(stderr)
		return &exitError{code: exitUsage}
	}
	c, ok := lookup(args[0])
	if !ok {
		return usageErr("unknown command %q%s; see 'piv --help'", args[0], didYouMean(args[0], commandNames(), ""))
	}
	rest := args[1:]
	if !c.rawArgs {
		var err error
		if rest, err = takeGlobals(rest); err != nil {
			return err
		}
		if wantsHelp(rest) {
			return printHelp(ctx, c, stdout)
		}
	}
	restore, err := applyVerbosity()
	defer restore()
	if err != nil {
		return err
	}
	if !c.handlesSignals {
		releaseSignals()
	}
	return explainFlagErr(ctx, c, c.run(ctx, rest, stdout, stderr))
}

// commandWithFlag names a command that has the flag (run first, the one
// most typed), for a command flag given before the command.
func commandWithFlag(ctx context.Context, name string) string {
	for _, n := range append([]string{"run"}, commandNames()...) {
		c, found := lookup(n)
		if !found {
			continue
		}
		if _, ok := learn(ctx, c).flag(name); ok {
			return n
		}
	}
	return ""
}

func printUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString(`piv: post-implementation verification gate for rolling deployments.

Usage:
  piv [-q | -v] <command> [flags] [arguments]

Commands:
`)
	for _, name := range commandNames() {
		c, _ := lookup(name)
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	b.WriteString(`
Global flags (before or after the command):
  -q, --quiet     no progress on stderr: only the result and errors
  -v, --verbose   Ginkgo's verbose progress: every spec and step as it runs
  -h, --help      this help; 'piv help CMD' or 'piv CMD --help' for a command
  --version       piv's version, commit and Go version

Exit codes: 0 pass, 1 fail, 2 usage or configuration error (nothing ran),
3 inconclusive (nothing selected, timeout, interrupted, browser/Docker missing).

Config: app definitions are read from --config DIR, else $PIV_CONFIG, else
./fixtures/apps. Shell completion: 'piv completion bash|zsh|fish'.

Run 'piv <command> --help' for a command's flags and examples.
`)
	io.WriteString(w, b.String())
}

// progName is the binary's name as the user types it (a team's own gate
// binary is not called piv), for the completion scripts.
func progName() string {
	if len(os.Args) == 0 {
		return "piv"
	}
	name := os.Args[0]
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	if name == "" {
		return "piv"
	}
	return name
}
