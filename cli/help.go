package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

const helpUsage = `Usage: piv help [COMMAND]

Prints piv's usage, or a command's help with its flags (the same as
'piv COMMAND --help'), to stdout.
`

func init() {
	register(command{name: "help", summary: "show piv's usage or a command's help and flags", run: runHelp})
}

func runHelp(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("help", helpUsage, stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagErr(err)
	}
	switch len(pos) {
	case 0:
		printUsage(stdout)
		return nil
	case 1:
		c, ok := lookup(pos[0])
		if !ok {
			return usageErr("help: unknown command %q%s; see 'piv --help'", pos[0], didYouMean(pos[0], commandNames(), ""))
		}
		return printHelp(ctx, c, stdout)
	}
	return usageErr("help takes one COMMAND at most (got %d); see 'piv --help'", len(pos))
}

// Global flags: piv's own, accepted before or after the command and taken
// out before the command parses its arguments.
var globalFlagNames = []string{"help", "quiet", "verbose", "version"}

// The progress level asked for by this invocation's flags.
var flagQuiet, flagVerbose bool

// envProgress carries -q/-v to the processes piv starts (a gate runs in a
// supervised child, --all runs a child per app): every child gets piv's
// environment. It is also a setting of its own (PIV_PROGRESS=quiet in a
// pipeline's environment).
const envProgress = "PIV_PROGRESS"

// takeGlobal reports whether a is -q/--quiet or -v/--verbose (in any of the
// std flag package's spellings, =true/=false included) and records it.
func takeGlobal(a string) (bool, error) {
	if !strings.HasPrefix(a, "-") || strings.HasPrefix(a, "---") {
		return false, nil
	}
	name, val, hasVal := strings.Cut(strings.TrimLeft(a, "-"), "=")
	var dst *bool
	switch name {
	case "q", "quiet":
		dst = &flagQuiet
	case "v", "verbose":
		dst = &flagVerbose
	default:
		return false, nil
	}
	on := true
	if hasVal {
		b, err := strconv.ParseBool(val)
		if err != nil {
			return true, usageErr("invalid value %q for --%s: want true or false; see 'piv --help'", val, name)
		}
		on = b
	}
	*dst = on
	return true, nil
}

// takeGlobals removes the global flags from a command's arguments (up to a
// "--", after which everything is the command's).
func takeGlobals(args []string) ([]string, error) {
	var rest []string
	for i, a := range args {
		if a == "--" {
			return append(rest, args[i:]...), nil
		}
		ok, err := takeGlobal(a)
		if err != nil {
			return nil, err
		}
		if !ok {
			rest = append(rest, a)
		}
	}
	return rest, nil
}

// applyVerbosity settles the progress level from the flags, else
// $PIV_PROGRESS, and hands a level given by flag on to child processes
// (through the environment, for as long as this invocation runs: restore
// puts it back, as cli.Main is also called as a library).
func applyVerbosity() (restore func(), err error) {
	restore = func() {}
	if flagQuiet && flagVerbose {
		return restore, usageErr("--quiet and --verbose are exclusive: pick one")
	}
	level := ""
	switch {
	case flagQuiet:
		level = "quiet"
	case flagVerbose:
		level = "verbose"
	}
	if level != "" {
		old, had := os.LookupEnv(envProgress)
		os.Setenv(envProgress, level)
		return func() {
			if had {
				os.Setenv(envProgress, old)
			} else {
				os.Unsetenv(envProgress)
			}
		}, nil
	}
	switch v := os.Getenv(envProgress); v {
	case "", "normal", "quiet", "verbose":
		return restore, nil
	default:
		return restore, usageErr("%s=%q: want quiet, verbose or normal", envProgress, v)
	}
}

// quiet: -q, or PIV_PROGRESS=quiet inherited from a parent piv.
func quiet() bool { return flagQuiet || os.Getenv(envProgress) == "quiet" }

// verbose: -v, or PIV_PROGRESS=verbose: Ginkgo's verbose progress.
func verbose() bool { return !quiet() && (flagVerbose || os.Getenv(envProgress) == "verbose") }

// progressOut is where progress goes: stderr, or nowhere under -q (errors
// still reach stderr: they are not written to the progress writer).
func progressOut(stderr io.Writer) io.Writer {
	if quiet() {
		return io.Discard
	}
	return stderr
}

// wantsHelp: -h or --help among a command's arguments (before any "--").
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "--h", "-help", "--help":
			return true
		}
	}
	return false
}

// spec is what piv learned about a command by asking it for its help.
type spec struct {
	fs    *flag.FlagSet // the FlagSet newFlagSet made; nil for others
	usage string        // the usage text given to newFlagSet
	help  string        // what a command with a FlagSet of its own printed
	flags []flagInfo
}

type flagInfo struct {
	name   string
	isBool bool
}

// capture records the FlagSet newFlagSet makes while piv learns a command.
type capture struct {
	mu    sync.Mutex
	name  string
	fs    *flag.FlagSet
	usage string
}

var (
	learning     sync.Mutex
	capturing    atomic.Pointer[capture]
	defaultsLine = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9._-]*)( [^\t\n ]+)?$`)
	defaultsRe   = regexp.MustCompile(`(?m)^  -([A-Za-z0-9][A-Za-z0-9._-]*)( [^\t\n ]+)?(\t.*)?\n(?:    \t)?`)
)

// learn runs the command with --help to find its flags: from the FlagSet
// newFlagSet made, or else from the flag package's PrintDefaults lines in
// what it printed. Only commands that parse flags first and return on
// flag.ErrHelp may be registered (see command).
func learn(ctx context.Context, c command) spec {
	if c.rawArgs { // it would take --help as its input
		return spec{help: fmt.Sprintf("Usage: piv %s ARGS...\n\n%s.\n", c.name, c.summary)}
	}
	learning.Lock()
	defer learning.Unlock()
	cp := &capture{name: c.name}
	capturing.Store(cp)
	defer capturing.Store(nil)
	var out, errb bytes.Buffer
	func() {
		defer func() { recover() }()
		c.run(ctx, []string{"--help"}, &out, &errb)
	}()
	cp.mu.Lock()
	s := spec{fs: cp.fs, usage: cp.usage}
	cp.mu.Unlock()
	if s.fs != nil {
		s.fs.VisitAll(func(f *flag.Flag) {
			s.flags = append(s.flags, flagInfo{name: f.Name, isBool: isBoolFlag(f)})
		})
		return s
	}
	s.help = out.String()
	if s.help == "" {
		s.help = errb.String()
	}
	for _, m := range defaultsRe.FindAllStringSubmatch(s.help, -1) {
		s.flags = append(s.flags, flagInfo{name: m[1], isBool: m[2] == ""})
	}
	return s
}

func (s spec) names() []string {
	var n []string
	for _, f := range s.flags {
		n = append(n, f.name)
	}
	return n
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

const globalFlagsLine = "Global flags: -q/--quiet (no progress), -v/--verbose (verbose progress), -h/--help.\n"

// printHelp writes a command's help to stdout: its usage text, then its
// flags with the double dash users type, then piv's global flags.
func printHelp(ctx context.Context, c command, stdout io.Writer) error {
	s := learn(ctx, c)
	if s.fs == nil {
		if s.help == "" {
			s.help = fmt.Sprintf("Usage: piv %s\n\n%s.\n", c.name, c.summary)
		}
		// The flag package lists flags with one dash; users type two.
		io.WriteString(stdout, defaultsLine.ReplaceAllString(s.help, "  --$1$2"))
		io.WriteString(stdout, "\n"+globalFlagsLine)
		return nil
	}
	var b strings.Builder
	b.WriteString(strings.TrimRight(s.usage, "\n"))
	b.WriteString("\n")
	if len(s.flags) > 0 {
		b.WriteString("\nFlags:\n")
		writeFlags(&b, s.fs)
	}
	b.WriteString("\n" + globalFlagsLine)
	io.WriteString(stdout, b.String())
	return nil
}

func writeFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		typ, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if typ != "" {
			line += " " + typ
		}
		def := ""
		switch f.DefValue {
		case "", "false", "0", "0s", "[]":
		default:
			if g, ok := f.Value.(flag.Getter); ok {
				if _, isString := g.Get().(string); isString {
					def = fmt.Sprintf(" (default %q)", f.DefValue)
					break
				}
			}
			def = fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n%s", line, wrap(usage+def, "        ", 80))
	})
}

// wrap fills text into lines of at most width columns (a longer word gets
// a line of its own), each starting with indent.
func wrap(text, indent string, width int) string {
	var b strings.Builder
	line := indent
	for _, word := range strings.Fields(text) {
		if line != indent && len(line)+1+len(word) > width {
			b.WriteString(line + "\n")
			line = indent
		}
		if line != indent {
			line += " "
		}
		line += word
	}
	b.WriteString(line + "\n")
	return b.String()
}

// explainFlagErr makes the flag package's own errors from a command that
// parses with a FlagSet piv did not make read like the others: one line,
// a did-you-mean, the pointer to the help.
func explainFlagErr(ctx context.Context, c command, err error) error {
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitUsage || strings.Contains(ee.msg, "did you mean") {
		return err
	}
	if m := regexp.MustCompile(`flag provided but not defined: (-+)(\S+)`).FindStringSubmatch(ee.msg); m != nil {
		return usageErr("%s: unknown flag --%s%s; see 'piv %s --help'", c.name, m[2], didYouMean(m[2], learn(ctx, c).names(), "--"), c.name)
	}
	if m := regexp.MustCompile(`flag needs an argument: -+(\S+)`).FindStringSubmatch(ee.msg); m != nil {
		return usageErr("%s: --%s needs a value; see 'piv %s --help'", c.name, m[1], c.name)
	}
	return err
}

// didYouMean suggests the candidate closest to what was typed: one it is a
// prefix of, else one within a small edit distance (a transposition counts
// as one edit: "rnu" is one from "run").
func didYouMean(typed string, candidates []string, prefix string) string {
	if typed == "" {
		return ""
	}
	best, bestD := "", 1<<30
	var prefixed []string
	for _, c := range candidates {
		if strings.HasPrefix(c, typed) {
			prefixed = append(prefixed, c)
		}
		if d := editDistance(typed, c); d < bestD {
			best, bestD = c, d
		}
	}
	if len(prefixed) == 1 {
		return " (did you mean " + prefix + prefixed[0] + "?)"
	}
	limit := 1
	if len(typed) >= 5 {
		limit = 2
	}
	if best != "" && bestD <= limit {
		return " (did you mean " + prefix + best + "?)"
	}
	sort.Strings(prefixed)
	if len(prefixed) > 1 {
		for i := range prefixed {
			prefixed[i] = prefix + prefixed[i]
		}
		return " (did you mean one of " + strings.Join(prefixed, ", ") + "?)"
	}
	return ""
}

// editDistance is the optimal string alignment distance (Levenshtein plus
// adjacent transpositions).
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := 0; j <= len(b); j++ {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
