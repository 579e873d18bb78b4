package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/piv"
	"github.com/piv-gate/piv/pkg/session"
)

// parseInterleaved parses flags that may come before or after positional
// arguments (`piv run quote --node app-02` as well as `piv run --node app-02
// quote`): Go's flag package stops at the first positional one.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, blankFlags(fs)
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

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
		return usageErr("%s given an empty value (an unset variable?): give a value or leave the flag out; see 'piv %s --help'", strings.Join(bad, ", "), fs.Name())
	}
	return nil
}

// flagErr turns a FlagSet error into the right exit: --help is not an error.
func flagErr(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return usageErr("%v", err)
}

// newFlagSet is a private FlagSet whose errors and usage go to stderr.
func newFlagSet(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fmt.Fprintln(stderr, "\nFlags:")
		fs.PrintDefaults()
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

// loadApp finds one app's definition and checks what the binary can check
// beyond the file itself: that its suites are compiled in.
func loadApp(dir, name string) (*config.App, error) {
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
