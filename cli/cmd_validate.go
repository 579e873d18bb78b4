package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/piv-gate/piv/pkg/config"
)

const validateUsage = `Usage: piv validate [PATH...]

Checks app definitions without running anything: YAML syntax, unknown keys,
durations, nodes, TLS settings, the CA file, and that every suite named is
compiled into piv. PATH is a file or a folder of *.yaml (default: the config
folder: $PIV_CONFIG, else ./fixtures/apps). Prints "ok" per file or every
problem as file:line: message; exits 0 when all are valid, 2 otherwise.
`

func init() {
	register(command{name: "validate", summary: "check app definitions (file:line errors), run nothing", run: runValidate})
}

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("validate", validateUsage, stderr)
	cfg := fs.String("config", "", "config folder when no PATH is given")
	paths, err := parseInterleaved(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(paths) == 0 {
		paths = []string{configDir(*cfg)}
		if err := checkConfigDir(paths[0]); err != nil {
			return err
		}
	}
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return usageErr("%s: %v", p, err)
		}
		if st.IsDir() {
			fs, err := config.Files(p)
			if err != nil {
				return usageErr("%v", err)
			}
			files = append(files, fs...)
		} else {
			files = append(files, p)
		}
	}
	bad := 0
	seen := map[string]string{}
	for _, f := range files {
		// Every problem in one pass: the suites are checked even when the
		// definition has other problems, as far as it decoded.
		app, err := config.LoadPartial(f)
		if app != nil && app.Suites != nil {
			if serr := checkSuites(app); serr != nil {
				err = errors.Join(err, serr)
			}
		}
		if err == nil && seen[app.App] != "" {
			err = fmt.Errorf("%s: app %q is already defined in %s", app.Where("app"), app.App, seen[app.App])
		}
		if err != nil {
			bad++
			fmt.Fprintln(stdout, err)
			continue
		}
		seen[app.App] = f
		fmt.Fprintf(stdout, "%s: ok (app %s, %d nodes, suites %v)\n", f, app.App, len(app.Nodes), app.Suites)
	}
	if bad > 0 {
		return usageErr("%d of %d definition(s) invalid", bad, len(files))
	}
	return nil
}
