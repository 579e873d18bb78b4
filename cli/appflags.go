package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/piv"
	"github.com/piv-gate/piv/pkg/session"
)

// parseInterleaved parses flags that may come before or after positional
// arguments (`piv run quote --node app-02` as well as `piv run --node app-02
// quote`): Go's flag package stops at the first positional one. Flags take
// the std package's syntax: -node or --node, `--node app-02` or
// `--node=app-02`, bare booleans.
//
// Errors are one line naming the command, with a did-you-mean for an
// unknown flag and a pointer to the help; the flag package's own usage dump
// is never printed.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	if err := scanFlags(fs, args); err != nil {
		return nil, err
	}
	usage := fs.Usage
	fs.Usage = func() {} // the flag package calls it on every error
	defer func() { fs.Usage = usage }()
	counts, restore := countSets(fs)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			restore()
			return nil, parseErr(fs, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			restore()
			if err := repeatedFlags(fs, counts); err != nil {
				return nil, err
			}
			if err := blankFlags(fs); err != nil {
				return nil, err
			}
			return pos, mutatingHint(fs)
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// countSets counts, while the command line is parsed, how often each
// single-valued flag is given (the flag package's own types; a flag type of
// piv's that appends, like --reports or --connect-to, is repeatable).
// restore puts the original values back, so help and introspection see the
// flag package's own types.
func countSets(fs *flag.FlagSet) (map[string]*int, func()) {
	counts := map[string]*int{}
	orig := map[string]flag.Value{}
	fs.VisitAll(func(f *flag.Flag) {
		g, ok := f.Value.(flag.Getter)
		if !ok {
			return
		}
		n := new(int)
		counts[f.Name], orig[f.Name] = n, f.Value
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			f.Value = countedBool{countedValue{g, n}}
		} else {
			f.Value = countedValue{g, n}
		}
	})
	return counts, func() {
		fs.VisitAll(func(f *flag.Flag) {
			if v, ok := orig[f.Name]; ok {
				f.Value = v
			}
		})
	}
}

type countedValue struct {
	flag.Getter
	n *int
}

func (c countedValue) Set(s string) error { *c.n++; return c.Getter.Set(s) }

type countedBool struct{ countedValue }

func (countedBool) IsBoolFlag() bool { return true }

// repeatedFlags refuses a single-valued flag given more than once: the
// flag package would keep the last silently (--node down --node app-01
// verified app-01 and passed).
func repeatedFlags(fs *flag.FlagSet, counts map[string]*int) error {
	var bad []string
	fs.VisitAll(func(f *flag.Flag) {
		if n := counts[f.Name]; n != nil && *n > 1 {
			bad = append(bad, fmt.Sprintf("--%s (%d times)", f.Name, *n))
		}
	})
	if len(bad) > 0 {
		return usageErr("%s: %s given more than once: give each once; see 'piv %s --help'", fs.Name(), strings.Join(bad, ", "), fs.Name())
	}
	return nil
}

// scanFlags finds, before the flag package does, the mistakes it reports
// badly: an unknown flag (with the closest known one), a flag given no
// value, and a flag whose value is the next flag (`--node --expect-version
// 2.4.1`, what an unset, unquoted $NODE leaves), which the flag package
// would silently take as the value. It follows the flag package's grammar
// and parseInterleaved's "--" (which protects the next argument only).
func scanFlags(fs *flag.FlagSet, args []string) error {
	isFlag := func(a string) (string, bool) {
		if len(a) < 2 || a[0] != '-' || strings.HasPrefix(a, "---") {
			return "", false
		}
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		return name, name != ""
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			continue
		}
		name, ok := isFlag(a)
		if !ok {
			continue
		}
		_, _, hasValue := strings.Cut(a, "=")
		f := fs.Lookup(name)
		if f == nil {
			if name == "h" || name == "help" {
				return nil // flag.ErrHelp from Parse
			}
			var known []string
			fs.VisitAll(func(f *flag.Flag) { known = append(known, f.Name) })
			return usageErr("%s: unknown flag %s%s; see 'piv %s --help'", fs.Name(), a, didYouMean(name, known, "--"), fs.Name())
		}
		if hasValue || isBoolFlag(f) {
			continue
		}
		if i+1 == len(args) {
			return usageErr("%s: --%s needs a value; see 'piv %s --help'", fs.Name(), name, fs.Name())
		}
		if next, ok := isFlag(args[i+1]); ok && (fs.Lookup(next) != nil || next == "h" || next == "help") {
			return usageErr("%s: --%s needs a value, got the flag %s (an unset variable?); see 'piv %s --help'", fs.Name(), name, args[i+1], fs.Name())
		}
		i++
	}
	return nil
}

// parseErr words what the flag package's Parse found (scanFlags found the
// rest): a bad value, with what the flag wants.
func parseErr(fs *flag.FlagSet, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	m := badValue.FindStringSubmatch(err.Error())
	if m == nil {
		return usageErr("%s: %s; see 'piv %s --help'", fs.Name(), flagDashes.ReplaceAllString(err.Error(), "$1 --$2"), fs.Name())
	}
	val, name, why := m[1], m[2], m[3]
	if f := fs.Lookup(name); f != nil {
		if g, ok := f.Value.(flag.Getter); ok {
			switch g.Get().(type) {
			case time.Duration:
				why = "want a duration such as 250ms, 90s or 2m"
			case int, int64, uint, uint64:
				why = "want a whole number"
			case float64:
				why = "want a number"
			case bool:
				why = "want true or false"
			}
		}
	}
	return usageErr("%s: invalid value %q for --%s: %s; see 'piv %s --help'", fs.Name(), val, name, why, fs.Name())
}

var badValue = regexp.MustCompile(`^invalid (?:boolean )?value "(.*)" for (?:flag )?-([^:\s]+): (.*)$`)

// blankFlags refuses a string flag given an empty or blank value: in a
// pipeline that is an unset variable ($NODE), and treating it as absent
// would silently verify something else (--node "" became the service gate).
func blankFlags(fs *flag.FlagSet) error {
	var bad []string
	fs.Visit(func(f *flag.Flag) {
		if g, ok := f.Value.(flag.Getter); ok {
			if s, ok := g.Get().(string); ok && strings.TrimSpace(s) == "" {
				bad = append(bad, "--"+f.Name)
			}
		}
	})
	if len(bad) > 0 {
		return usageErr("%s: %s given an empty value (an unset variable?): give a value or leave the flag out; see 'piv %s --help'", fs.Name(), strings.Join(bad, ", "), fs.Name())
	}
	return nil
}

// mutatingHint: a --label-filter that can only select specs labelled
// mutating, without --allow-mutating, selects nothing (mutating specs are
// left out unless asked). Rather than an inconclusive run, say what to add.
// Applies to every command with both flags (run, list).
func mutatingHint(fs *flag.FlagSet) error {
	lf, am := fs.Lookup("label-filter"), fs.Lookup("allow-mutating")
	if lf == nil || am == nil || am.Value.String() == "true" || strings.TrimSpace(lf.Value.String()) == "" {
		return nil
	}
	if onlyMutating(lf.Value.String()) {
		return usageErr("%s: --label-filter %q can only select specs labelled mutating, which are left out unless asked: add --allow-mutating (they create data)", fs.Name(), lf.Value.String())
	}
	return nil
}

// onlyMutating reports whether every label set the filter selects holds
// mutating (and some set is selected): tried over every combination of
// the registered labels and the labels the filter names.
func onlyMutating(filter string) bool {
	match, err := types.ParseLabelFilter(filter)
	if err != nil {
		return false // the command reports the bad filter itself
	}
	universe := piv.KnownLabels()
	for _, w := range strings.FieldsFunc(filter, func(r rune) bool { return strings.ContainsRune("!&|(), ", r) }) {
		if w != "" && !strings.HasPrefix(w, "/") && !slices.Contains(universe, w) {
			universe = append(universe, w)
		}
	}
	if len(universe) > 14 {
		return false
	}
	withMutating := false
	for set := 0; set < 1<<len(universe); set++ {
		var labels []string
		for i, l := range universe {
			if set&(1<<i) != 0 {
				labels = append(labels, l)
			}
		}
		if match(labels) {
			if !slices.Contains(labels, "mutating") {
				return false
			}
			withMutating = true
		}
	}
	return withMutating
}

// flagErr turns a FlagSet error into the right exit: --help is not an
// error (the dispatcher prints the help before a command sees --help, so
// ErrHelp comes only from piv learning a command's flags). The flag
// package's messages name the flag with one dash; users type two.
func flagErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return err
	}
	return usageErr("%s", flagDashes.ReplaceAllString(err.Error(), "$1 --$2"))
}

var flagDashes = regexp.MustCompile(`(for flag|for|defined:|argument:) -([A-Za-z0-9][A-Za-z0-9._-]*)`)

// newFlagSet is a private FlagSet for a command: errors come back from
// parseInterleaved as one line (never the flag package's usage dump), and
// `piv CMD --help` renders usage and the flags to stdout. An explicit
// fs.Usage() (a command's own "wrong arguments") prints the synopsis and
// the pointer to the help on stderr.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		synopsis, _, _ := strings.Cut(usage, "\n")
		fmt.Fprintf(stderr, "%s\nRun 'piv %s --help' for flags and examples.\n", synopsis, name)
	}
	// While piv learns a command, the FlagSet it makes is the command's: the
	// one named like it, else the first.
	if c := capturing.Load(); c != nil {
		c.mu.Lock()
		if c.fs == nil || name == c.name && c.fs.Name() != c.name {
			c.fs, c.usage = fs, usage
		}
		c.mu.Unlock()
	}
	return fs
}

// configDir: --config, else $PIV_CONFIG, else ./fixtures/apps (DESIGN.md).
func configDir(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if v := os.Getenv("PIV_CONFIG"); v != "" {
		return v
	}
	return "fixtures/apps"
}

// checkConfigDir: a config folder that is not there is the usual first
// mistake outside the repository (the default ./fixtures/apps only exists in
// it); say where piv looked, as an absolute path, and how to point it
// elsewhere.
func checkConfigDir(dir string) error {
	st, err := os.Stat(dir)
	if err == nil && st.IsDir() {
		return nil
	}
	abs, aerr := filepath.Abs(dir)
	if aerr != nil {
		abs = dir
	}
	from := "--config"
	switch {
	case dir == "fixtures/apps" && os.Getenv("PIV_CONFIG") == "":
		from = "the default ./fixtures/apps: neither --config nor $PIV_CONFIG was given"
	case dir == os.Getenv("PIV_CONFIG"):
		from = "$PIV_CONFIG"
	}
	what := "no app definitions folder"
	if err == nil {
		what = "not a folder"
	}
	return usageErr("%s at %s (%s); point piv at the folder of app definitions with --config DIR or PIV_CONFIG=DIR", what, abs, from)
}

// loadApp finds one app's definition and checks what the binary can check
// beyond the file itself: that its suites are compiled in.
func loadApp(dir, name string) (*config.App, error) {
	if err := checkConfigDir(dir); err != nil {
		return nil, err
	}
	app, err := config.Find(dir, name)
	if err != nil {
		return nil, usageErr("%v", err)
	}
	if err := checkSuites(app); err != nil {
		return nil, usageErr("%v", err)
	}
	return app, nil
}

func checkSuites(app *config.App) error {
	known := piv.RegisteredSuites()
	var errs config.Errors
	for i, s := range app.Suites {
		if strings.TrimSpace(s) == "" {
			continue // an empty entry is config's error already (file:line)
		}
		found := false
		for _, k := range known {
			found = found || k == s
		}
		if !found {
			errs = append(errs, &config.Error{Msg: fmt.Sprintf("%s: suites[%d]: no suite %q is compiled into this binary (it has: %s). "+
				"An app's own suites run in its team's gate binary: a main that calls cli.Main and blank-imports the suite package "+
				"(see docs/team-gate.md and examples/team-gate)", app.Where("suites", fmt.Sprint(i)), i, s, strings.Join(known, ", "))})
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

func nodeNames(app *config.App) string { return session.NodeNames(app) }
