package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/piv"
)

const completionUsage = `Usage: piv completion bash|zsh|fish

Prints a shell completion script: commands, each command's flags, app names
from the config folder where a command takes APP, node names after --node
(from that app's definition). The script asks piv itself ('piv __complete
WORDS...'), so it follows the binary it completes: a team's own gate binary
completes its own commands.

Install:
  bash:  source <(piv completion bash)        # or save it in /etc/bash_completion.d/piv
  zsh:   piv completion zsh > "${fpath[1]}/_piv"   # or source <(piv completion zsh) after compinit
  fish:  piv completion fish > ~/.config/fish/completions/piv.fish
`

func init() {
	register(command{name: "completion", summary: "print a bash, zsh or fish completion script", run: runCompletion})
	register(command{name: "__complete", summary: "completion candidates for the words of a command line (used by the scripts)",
		run: runComplete, hidden: true, rawArgs: true})
}

func runCompletion(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("completion", completionUsage, stderr)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) != 1 {
		return usageErr("completion needs one shell: bash, zsh or fish; see 'piv completion --help'")
	}
	prog := progName()
	fn := "_" + regexp.MustCompile(`[^A-Za-z0-9_]`).ReplaceAllString(prog, "_")
	var script string
	switch pos[0] {
	case "bash":
		script = bashCompletion
	case "zsh":
		script = zshCompletion
	case "fish":
		script = fishCompletion
	default:
		return usageErr("completion: unknown shell %q (want bash, zsh or fish)%s", pos[0], didYouMean(pos[0], []string{"bash", "zsh", "fish"}, ""))
	}
	io.WriteString(stdout, strings.NewReplacer("PROG", prog, "FUNC", fn).Replace(script))
	return nil
}

// The scripts pass the words typed so far (the one under the cursor last,
// possibly empty) to `PROG __complete` and offer what it prints, one
// candidate a line, already filtered by what was typed. A first line
// ":files" or ":dirs" asks the shell for its own file or folder completion.
const bashCompletion = `# bash completion for PROG (PROG completion bash)
FUNC_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}" IFS=$'\n'
    local -a out
    out=($(PROG __complete "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
    case "${out[0]}" in
    :files) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
    :dirs) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
    *) COMPREPLY=("${out[@]}") ;;
    esac
}
complete -F FUNC_complete PROG
`

const zshCompletion = `#compdef PROG
# zsh completion for PROG (PROG completion zsh)
FUNC() {
    local -a out
    out=("${(@f)$(PROG __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    case "${out[1]}" in
    :files) _files ;;
    :dirs) _files -/ ;;
    *) [[ -n "${out[1]}" ]] && compadd -- "${out[@]}" ;;
    esac
}
if [[ "${funcstack[1]}" == "FUNC" ]]; then
    FUNC "$@"
else
    compdef FUNC PROG
fi
`

const fishCompletion = `# fish completion for PROG (PROG completion fish)
function _FUNC_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l out (PROG __complete $words (commandline -ct) 2>/dev/null)
    switch "$out[1]"
        case :files
            __fish_complete_path (commandline -ct)
        case :dirs
            __fish_complete_directories (commandline -ct)
        case '*'
            printf '%s\n' $out
    end
end
complete -c PROG -f -a '(_FUNC_complete)'
`

func runComplete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	for _, c := range complete(ctx, args) {
		fmt.Fprintln(stdout, c)
	}
	return nil
}

// complete returns the candidates for the last word of words (the command
// line after the program name).
func complete(ctx context.Context, words []string) []string {
	if len(words) == 0 {
		words = []string{""}
	}
	// bash splits --node=web at the "=" (COMP_WORDBREAKS): join it back.
	var joined []string
	for i, w := range words {
		if w == "=" && i > 0 && strings.HasPrefix(words[i-1], "-") && i < len(words)-1 {
			continue
		}
		joined = append(joined, w)
	}
	words = joined
	cur, before := words[len(words)-1], words[:len(words)-1]
	globals := []string{"--quiet", "--verbose", "--help", "-q", "-v", "-h"}
	var rest []string
	for _, w := range before {
		if ok, _ := takeGlobal(w); !ok {
			rest = append(rest, w)
		}
	}
	// piv's own flags, then the command.
	for len(rest) > 0 && strings.HasPrefix(rest[0], "-") {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		if strings.HasPrefix(cur, "-") {
			return matching(cur, append(globals, "--version"))
		}
		return matching(cur, commandNames())
	}
	c, ok := lookup(rest[0])
	if !ok || c.hidden {
		return nil
	}
	s := learn(ctx, c)
	// Walk the command's words: which are flag values, which positional.
	var pos []string
	values := map[string]string{}
	valueOf := ""
	for _, w := range rest[1:] {
		if valueOf != "" {
			values[valueOf], valueOf = w, ""
			continue
		}
		if strings.HasPrefix(w, "-") && len(w) > 1 {
			name, v, hasValue := strings.Cut(strings.TrimLeft(w, "-"), "=")
			if f, ok := s.flag(name); ok && !f.isBool {
				if hasValue {
					values[name] = v
				} else {
					valueOf = name
				}
			}
			continue
		}
		pos = append(pos, w)
	}
	if valueOf != "" {
		return completeValue(s, valueOf, cur, pos, values)
	}
	// zsh and fish keep --node=we as one word: complete the value after "=".
	if name, val, ok := strings.Cut(strings.TrimLeft(cur, "-"), "="); ok && strings.HasPrefix(cur, "-") {
		if f, known := s.flag(name); known && !f.isBool {
			var out []string
			for _, v := range completeValue(s, name, val, pos, values) {
				if strings.HasPrefix(v, ":") {
					return nil
				}
				out = append(out, cur[:len(cur)-len(val)]+v)
			}
			return out
		}
	}
	if strings.HasPrefix(cur, "-") {
		var flags []string
		for _, f := range s.flags {
			flags = append(flags, "--"+f.name)
		}
		return matching(cur, append(flags, globals...))
	}
	switch c.name {
	case "help":
		if len(pos) == 0 {
			return matching(cur, commandNames())
		}
		return nil
	case "completion":
		if len(pos) == 0 {
			return matching(cur, []string{"bash", "zsh", "fish"})
		}
		return nil
	}
	switch arg := firstArg(s, c.name); {
	case arg == "APP" && len(pos) == 0:
		return matching(cur, appNames(configDir(values["config"])))
	case arg == "" || arg == "APP" || strings.HasPrefix(arg, "TARGET") || strings.HasPrefix(arg, "URL"):
		return nil
	}
	return []string{":files"}
}

func (s spec) flag(name string) (flagInfo, bool) {
	for _, f := range s.flags {
		if f.name == name {
			return f, true
		}
	}
	return flagInfo{}, false
}

// firstArg is the first argument word of a command's synopsis
// ("Usage: piv run APP [...]" gives APP).
func firstArg(s spec, name string) string {
	text := s.usage
	if text == "" {
		text = s.help
	}
	line, _, _ := strings.Cut(text, "\n")
	_, after, ok := strings.Cut(line, "piv "+name)
	if !ok {
		return ""
	}
	f := strings.Fields(after)
	if len(f) == 0 {
		return ""
	}
	arg := strings.Trim(f[0], "[]")
	if strings.HasPrefix(arg, "-") || arg == "flags" {
		return ""
	}
	return arg
}

// completeValue: node names for --node, folders for the folder flags, the
// choices a command's usage spells as "--NAME a|b|c", else files.
func completeValue(s spec, flagName, cur string, pos []string, values map[string]string) []string {
	text := s.usage + s.help
	if m := regexp.MustCompile(`--` + regexp.QuoteMeta(flagName) + `[ =]([a-z0-9-]+(?:\|[a-z0-9-]+)+)`).FindStringSubmatch(text); m != nil {
		return matching(cur, strings.Split(m[1], "|"))
	}
	switch flagName {
	case "node":
		if len(pos) == 0 {
			return nil
		}
		app, err := config.Find(configDir(values["config"]), pos[0])
		if err != nil {
			return nil
		}
		var names []string
		for _, n := range app.Nodes {
			names = append(names, n.Name)
		}
		return matching(cur, names)
	case "config", "out", "reports", "remediations":
		return []string{":dirs"}
	case "label-filter":
		return matching(cur, piv.KnownLabels())
	}
	return []string{":files"}
}

// appNames are the apps defined in the config folder (files that do not
// parse are skipped: completion is no place for their errors).
func appNames(dir string) []string {
	files, err := config.Files(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, f := range files {
		if app, _ := config.LoadPartial(f); app != nil && app.App != "" {
			names = append(names, app.App)
		}
	}
	return names
}

func matching(prefix string, candidates []string) []string {
	var out []string
	for _, c := range candidates {
		if strings.HasPrefix(c, prefix) {
			out = append(out, c)
		}
	}
	return out
}
