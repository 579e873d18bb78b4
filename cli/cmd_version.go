package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit are stamped at build time (make build):
//
//	-ldflags "-X github.com/piv-gate/piv/cli.version=0.4.0 -X github.com/piv-gate/piv/cli.commit=6af8682…"
//
// Unstamped, Version falls back to the module version `go install …@v0.4.0`
// records, and Commit to the VCS revision `go build` records in a checkout.
var (
	version = ""
	commit  = ""
)

const pivModule = "github.com/piv-gate/piv"

const versionUsage = `Usage: piv version   (also: piv --version)

Prints "piv VERSION (commit COMMIT, GO_VERSION)": the version and commit
stamped at build, else the module version and VCS revision Go recorded.
`

func init() {
	register(command{name: "version", summary: "print piv's version, commit and Go version", run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := newFlagSet("version", versionUsage, stderr)
		pos, err := parseInterleaved(fs, args)
		if err != nil {
			return flagErr(err)
		}
		if len(pos) > 0 {
			return usageErr("version takes no arguments (got %q); see 'piv version --help'", pos[0])
		}
		fmt.Fprintln(stdout, VersionLine())
		return nil
	}})
}

// Version is piv's version (gate.json "piv", the HTML footer).
func Version() string {
	if version != "" {
		return version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		// piv's own module version: the main module's in the generic
		// binary, a dependency's in a team's gate binary.
		v := bi.Main.Version
		if bi.Main.Path != pivModule {
			v = ""
			for _, d := range bi.Deps {
				if d.Path == pivModule {
					v = d.Version
					if d.Replace != nil {
						v = d.Replace.Version
					}
				}
			}
		}
		if v != "" && v != "(devel)" {
			return v
		}
	}
	if c := Commit(); c != "" {
		return "dev+" + short(c)
	}
	return "dev"
}

// Commit is the source revision piv was built from, or "".
func Commit() string {
	if commit != "" {
		return commit
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" && dirty {
			rev += "-dirty"
		}
		return rev
	}
	return ""
}

// VersionLine is what `piv version` and `piv --version` print.
func VersionLine() string {
	c := Commit()
	if c == "" {
		c = "unknown"
	}
	return fmt.Sprintf("piv %s (commit %s, %s)", Version(), short(c), runtime.Version())
}

func short(c string) string {
	if len(c) > 12 {
		dirty := ""
		if len(c) > 6 && c[len(c)-6:] == "-dirty" {
			dirty = "-dirty"
		}
		return c[:12] + dirty
	}
	return c
}
