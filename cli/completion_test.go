package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// completionScript writes `piv completion SHELL` to a file.
func completionScript(t *testing.T, shell string) string {
	t.Helper()
	out, err := exec.Command(pivBin, "completion", shell).Output()
	if err != nil {
		t.Fatalf("piv completion %s: %v", shell, err)
	}
	p := filepath.Join(t.TempDir(), "piv."+shell)
	if err := os.WriteFile(p, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func needShell(t *testing.T, shell string) string {
	t.Helper()
	p, err := exec.LookPath(shell)
	if err != nil {
		t.Skipf("%s is not installed: its completion script is not checked (apt-get install -y %s)", shell, shell)
	}
	return p
}

// Each script is valid for its shell (parsed, not run).
func TestCompletionScriptsParse(t *testing.T) {
	for shell, check := range map[string][]string{
		"bash": {"-n"},
		"zsh":  {"-n"},
		"fish": {"--no-execute"},
	} {
		t.Run(shell, func(t *testing.T) {
			sh := needShell(t, shell)
			script := completionScript(t, shell)
			if out, err := exec.Command(sh, append(check, script)...).CombinedOutput(); err != nil {
				t.Fatalf("%s %v %s: %v\n%s", shell, check, script, err, out)
			}
		})
	}
}

// pathWithPiv is $PATH with the test's piv first, as the scripts call `piv`.
func pathWithPiv() string {
	return "PATH=" + filepath.Dir(pivBin) + string(os.PathListSeparator) + os.Getenv("PATH")
}

// The bash script, sourced in a real bash, completes what a user types:
// commands, flags, the apps of --config, the nodes of the app.
func TestCompletionBashCompletes(t *testing.T) {
	bash := needShell(t, "bash")
	script := completionScript(t, "bash")
	apps, _ := filepath.Abs(filepath.Join("testdata", "transcripts", "apps"))
	for _, tc := range []struct {
		words []string // the last is the word under the cursor
		want  string
	}{
		{[]string{"piv", "va"}, "validate"},
		{[]string{"piv", "run", "--exp"}, "--expect-version"},
		{[]string{"piv", "-q", "run", "--config", apps, ""}, "shop"},
		{[]string{"piv", "run", "--config", apps, "shop", "--node", ""}, "web-01 web-02"},
		{[]string{"piv", "completion", "f"}, "fish"},
		// bash splits --node=web at "=" (COMP_WORDBREAKS)
		{[]string{"piv", "run", "--config", apps, "shop", "--node", "=", "web-0"}, "web-01 web-02"},
	} {
		var quoted []string
		for _, w := range tc.words {
			quoted = append(quoted, "'"+w+"'")
		}
		prog := "source " + script + "\nCOMP_WORDS=(" + strings.Join(quoted, " ") + ")\nCOMP_CWORD=" +
			strconv.Itoa(len(tc.words)-1) + "\n_piv_complete\necho \"${COMPREPLY[*]}\"\n"
		cmd := exec.Command(bash, "--norc", "--noprofile", "-c", prog)
		cmd.Env = append(os.Environ(), pathWithPiv())
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != tc.want {
			t.Errorf("bash completion of %q: got %q (%v), want %q", tc.words, got, err, tc.want)
		}
	}
}

// The fish script, loaded in a real fish, completes the same way
// (complete -C asks fish what it would offer).
func TestCompletionFishCompletes(t *testing.T) {
	fish := needShell(t, "fish")
	script := completionScript(t, "fish")
	apps, _ := filepath.Abs(filepath.Join("testdata", "transcripts", "apps"))
	for line, want := range map[string]string{
		"piv va":                         "validate",
		"piv run --config " + apps + " ": "shop",
		"piv run --config " + apps + " shop --node ": "web-01\nweb-02",
	} {
		cmd := exec.Command(fish, "--no-config", "-c", "source "+script+"; complete -C'"+line+"'")
		cmd.Env = append(os.Environ(), pathWithPiv(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != want {
			t.Errorf("fish completion of %q: got %q (%v), want %q", line, got, err, want)
		}
	}
}

// The zsh script, sourced in a real zsh, hands the right candidates to
// compadd (stubbed to print them: a completion widget needs a terminal).
func TestCompletionZshCompletes(t *testing.T) {
	zsh := needShell(t, "zsh")
	script := completionScript(t, "zsh")
	apps, _ := filepath.Abs(filepath.Join("testdata", "transcripts", "apps"))
	for words, want := range map[string]string{
		"piv va":                           "validate",
		"piv run --config " + apps + " ''": "shop",
		"piv run --config " + apps + " shop --node ''": "web-01\nweb-02",
	} {
		n := len(shellWords(t, words))
		prog := `compdef() {}; compadd() { [[ $1 == -- ]] && shift; print -l -- "$@" }; source ` + script +
			"; words=(" + words + "); CURRENT=" + strconv.Itoa(n) + "; _piv"
		cmd := exec.Command(zsh, "-f", "-c", prog)
		cmd.Env = append(os.Environ(), pathWithPiv())
		out, err := cmd.CombinedOutput()
		if got := strings.TrimSpace(string(out)); err != nil || got != want {
			t.Errorf("zsh completion of %q: got %q (%v), want %q", words, got, err, want)
		}
	}
}

// A team's own gate binary gets a script for its own name (function names
// made of it are valid identifiers), calling itself.
func TestCompletionUsesTheBinarysName(t *testing.T) {
	bash := needShell(t, "bash")
	dir := t.TempDir()
	gate := filepath.Join(dir, "claims-gate")
	if err := os.Symlink(pivBin, gate); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(gate, "completion", "bash").Output()
	if err != nil {
		t.Fatal(err)
	}
	script := string(out)
	for _, want := range []string{"complete -F _claims_gate_complete claims-gate\n", "$(claims-gate __complete "} {
		if !strings.Contains(script, want) {
			t.Errorf("script lacks %q:\n%s", want, script)
		}
	}
	p := filepath.Join(dir, "claims-gate.bash")
	os.WriteFile(p, out, 0o644)
	if out, err := exec.Command(bash, "-n", p).CombinedOutput(); err != nil {
		t.Fatalf("bash -n: %v\n%s", err, out)
	}
}
