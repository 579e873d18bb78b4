package cli

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
)

type pivResult struct {
	code           int
	stdout, stderr string
}

func pivExec(t *testing.T, args ...string) pivResult {
	t.Helper()
	cmd := exec.Command(pivBin, args...)
	cmd.Dir = t.TempDir()
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	r := pivResult{stdout: so.String(), stderr: se.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return r
}

// The conventions hold for every registered command, whoever wrote it and
// however it builds its FlagSet: help to stdout with exit 0 in all three
// spellings; an unknown flag, a mistyped flag and a flag without its value
// are one line on stderr naming the command, with the pointer to its help.
func TestHelpAndFlagErrorsForEveryCommand(t *testing.T) {
	ctx := context.Background()
	for _, name := range commandNames() {
		c, _ := lookup(name)
		t.Run(name, func(t *testing.T) {
			var helps []string
			for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
				r := pivExec(t, args...)
				if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, "Usage: piv "+name) {
					t.Errorf("piv %s: want exit 0, usage on stdout, nothing on stderr; got exit %d\nstdout:\n%s\nstderr:\n%s",
						strings.Join(args, " "), r.code, r.stdout, r.stderr)
				}
				helps = append(helps, r.stdout)
			}
			if helps[0] != helps[1] || helps[0] != helps[2] {
				t.Errorf("piv %s --help, -h and piv help %s differ", name, name)
			}
			pointer := "; see 'piv " + name + " --help'\n"
			oneLine := func(r pivResult, args []string, want string) {
				t.Helper()
				if r.code != 2 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 ||
					!strings.HasPrefix(r.stderr, "piv: "+name+": ") || !strings.Contains(r.stderr, want) || !strings.HasSuffix(r.stderr, pointer) {
					t.Errorf("piv %s: want exit 2 and one line 'piv: %s: …%s…%s'; got exit %d\nstdout:\n%s\nstderr:\n%s",
						strings.Join(args, " "), name, want, strings.TrimSuffix(pointer, "\n"), r.code, r.stdout, r.stderr)
				}
			}
			args := []string{name, "--no-such-flag-anywhere"}
			oneLine(pivExec(t, args...), args, "unknown flag --no-such-flag-anywhere")

			s := learn(ctx, c)
			for _, f := range s.flags {
				typo := f.name[:len(f.name)-1]
				if _, defined := s.flag(typo); !defined && len(typo) > 1 {
					args := []string{name, "--" + typo}
					oneLine(pivExec(t, args...), args, "unknown flag --"+typo+" (did you mean ")
				}
				if !f.isBool {
					args := []string{name, "--" + f.name}
					oneLine(pivExec(t, args...), args, "--"+f.name+" needs a value")
				}
			}
			if name != "help" && name != "completion" && name != "version" && len(s.flags) == 0 {
				t.Errorf("piv learnt no flags of %s", name)
			}
		})
	}
}

// didYouMean: prefixes, edits and transpositions; nothing for a stranger.
func TestHelpDidYouMean(t *testing.T) {
	flags := []string{"node", "service", "expect-version", "label-filter", "allow-mutating", "out", "format", "focus"}
	for typed, want := range map[string]string{
		"nod":          " (did you mean --node?)",
		"noed":         " (did you mean --node?)",
		"expect":       " (did you mean --expect-version?)",
		"lable-filter": " (did you mean --label-filter?)",
		"sevrice":      " (did you mean --service?)",
		"fo":           " (did you mean one of --focus, --format?)",
		"deploy":       "",
		"x":            "",
	} {
		if got := didYouMean(typed, flags, "--"); got != want {
			t.Errorf("didYouMean(%q) = %q, want %q", typed, got, want)
		}
	}
}

// onlyMutating decides from every label combination, not from the text.
func TestHelpOnlyMutating(t *testing.T) {
	for filter, want := range map[string]bool{
		"mutating":                       true,
		"mutating && functional":         true,
		"!technical && mutating":         true,
		"mutating || smoke":              false,
		"functional":                     false,
		"!mutating":                      false,
		"mutating && !mutating":          false, // selects nothing at all: not a mutating problem
		"(smoke || browser) && mutating": true,
	} {
		if got := onlyMutating(filter); got != want {
			t.Errorf("onlyMutating(%q) = %v, want %v", filter, got, want)
		}
	}
}

// cli.Main is a library too: -q reaches the children of this invocation
// through the environment, which is put back afterwards.
func TestHelpQuietLeavesTheEnvironmentAsItWas(t *testing.T) {
	t.Setenv(envProgress, "verbose")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-q", "version"}, &out, &out); err != nil {
		t.Fatal(err)
	}
	if got := os.Getenv(envProgress); got != "verbose" {
		t.Fatalf("%s=%q after piv -q version, want it back to verbose", envProgress, got)
	}
	if err := run(context.Background(), []string{"version", "-v", "-q"}, &out, &out); exitCodeOf(err) != exitUsage {
		t.Fatalf("-v with -q: %v, want a usage error", err)
	}
}
