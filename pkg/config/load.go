package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is one problem in a definition, positioned for a human and an editor.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.File == "" {
		return e.Msg
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors is every problem found in one pass, so a user fixes them all at once.
type Errors []*Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// lineErrors is what the custom YAML unmarshalers return: a *yaml.TypeError,
// which yaml.v3 collects and then goes on decoding, so that one bad value
// does not hide the problems after it (any other error stops the decoder).
// Its messages are "line N: …", which yamlMessage positions.
func lineErrors(errs ...string) error {
	if len(errs) == 0 {
		return nil
	}
	return &yaml.TypeError{Errors: errs}
}

func lineMsg(line int, msg string) string { return fmt.Sprintf("line %d: %s", line, msg) }

// UnmarshalYAML accepts Go durations only: "90" is ambiguous (seconds? ms?).
// A negative duration is an error: no bound or budget is negative.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return lineErrors(lineMsg(n.Line, "expected a duration such as 250ms or 2m"))
	}
	v, err := time.ParseDuration(strings.TrimSpace(n.Value))
	if err != nil {
		return lineErrors(lineMsg(n.Line, fmt.Sprintf("bad duration %q: want a Go duration such as 250ms, 30s or 2m", n.Value)))
	}
	if v < 0 {
		return lineErrors(lineMsg(n.Line, fmt.Sprintf("duration %q is negative", n.Value)))
	}
	*d = Duration(v)
	return nil
}

// UnmarshalYAML keeps the file order of a {gjson-path: value} mapping.
func (es *Expectations) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return lineErrors(lineMsg(n.Line, "json: expected a mapping of gjson path to expected value, e.g. { status: UP }"))
	}
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode {
			errs = append(errs, lineMsg(v.Line, fmt.Sprintf("json: %q: expected a single value (string, number or boolean)", k.Value)))
			continue
		}
		*es = append(*es, Expectation{Path: k.Value, Want: v.Value, Line: k.Line})
	}
	return lineErrors(errs...)
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)
var unknownField = regexp.MustCompile(`^field (\S+) not found in type config\.(\w+)$`)

// Load reads, defaults and validates one definition file.
func Load(path string) (*App, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))}
	}
	return Parse(path, data)
}

// Parse is Load on bytes already read; path names them in errors and anchors
// relative paths (service.ca, ephemeral files).
func Parse(path string, data []byte) (*App, error) {
	a, errs := parse(path, data)
	if len(errs) > 0 {
		return nil, errs
	}
	return a, nil
}

// LoadPartial is Load for `piv validate`: on problems it also returns the
// definition as far as it decoded (nil when the file cannot be read or
// parsed), so that checks made outside this package (the suites compiled
// into the binary) are reported in the same pass. The partial definition is
// for reporting only: never run a gate from it.
func LoadPartial(path string) (*App, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &Error{File: path, Msg: fmt.Sprintf("cannot read: %v", unwrapPath(err))}
	}
	a, errs := parse(path, data)
	if len(errs) > 0 {
		return a, errs
	}
	return a, nil
}

// parse reads, defaults and validates; a is nil only when the file is not a
// YAML mapping at all.
func parse(path string, data []byte) (*App, Errors) {
	a := &App{File: path}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, Errors{{File: path, Msg: "empty file: an app definition needs at least app and service.url"}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, asErrors(yamlErrors(path, err))
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		line := 1
		if len(root.Content) > 0 {
			line = root.Content[0].Line
		}
		return nil, Errors{{File: path, Line: line, Msg: "expected a mapping with keys app, service, nodes, technical, …"}}
	}
	a.lines = lineIndex{root: root.Content[0]}
	// Every problem is reported in one pass: values given empty, then what
	// the decoder found (unknown keys, wrong types, bad durations: yaml.v3
	// collects these and decodes the rest), then what validation finds in
	// what did decode. Only a syntax error stops early: nothing after it
	// can be trusted.
	errs := blankValues(path, root.Content[0])
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	decodeLines := map[int]bool{}
	if err := dec.Decode(a); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return nil, asErrors(yamlErrors(path, err))
		}
		for _, e := range asErrors(yamlErrors(path, err)) {
			decodeLines[e.Line] = true
			errs = append(errs, e)
		}
	}
	// A second document in the same file would be silently ignored: refuse it.
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		errs = append(errs, &Error{File: path, Line: extra.Line, Msg: "more than one YAML document: one application per file"})
	}
	a.File = path
	// Validation sees a partly decoded definition when the decoder found
	// problems: skip what it says about a value the decoder or the blank
	// check already reported (same line, or same key), so each problem is
	// said once.
	blankKeys := map[string]bool{}
	for _, e := range errs {
		blankKeys[keyOf(e.Msg)] = true
	}
	for _, e := range a.defaultAndValidate() {
		if decodeLines[e.Line] || blankKeys[keyOf(e.Msg)] {
			continue
		}
		errs = append(errs, e)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return a, errs
	}
	return a, nil
}

// keyOf is the key path an error message starts with ("technical.health.path"
// of "technical.health.path: missing").
func keyOf(msg string) string {
	k, _, ok := strings.Cut(msg, ": ")
	if !ok || strings.ContainsAny(k, " \"") {
		return msg
	}
	return k
}

// yamlErrors turns yaml.v3's messages into file:line errors with user words.
func yamlErrors(path string, err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var out Errors
		for _, m := range te.Errors {
			out = append(out, yamlMessage(path, m))
		}
		return out
	}
	e := yamlMessage(path, strings.TrimPrefix(err.Error(), "yaml: "))
	e.Msg = "invalid YAML: " + e.Msg
	return Errors{e}
}

func yamlMessage(path, m string) *Error {
	e := &Error{File: path, Msg: m}
	if sub := yamlLine.FindStringSubmatch(m); sub != nil {
		e.Line, _ = strconv.Atoi(sub[1])
		e.Msg = sub[2]
	}
	if sub := unknownField.FindStringSubmatch(e.Msg); sub != nil {
		e.Msg = fmt.Sprintf("unknown key %q in %s (known keys: %s)", sub[1], section(sub[2]), strings.Join(knownKeys[sub[2]], ", "))
	}
	if strings.Contains(e.Msg, "cannot unmarshal !!") {
		e.Msg = strings.Replace(e.Msg, "cannot unmarshal", "wrong type:", 1)
	}
	return e
}

func section(typ string) string {
	if typ == "App" {
		return "the app definition"
	}
	return strings.ToLower(typ[:1]) + typ[1:]
}

var knownKeys = map[string][]string{
	"App":        {"app", "service", "nodes", "technical", "settle", "suites", "settings", "ephemeral", "owner", "exposure"},
	"Service":    {"url", "ca", "address"},
	"Node":       {"name", "address"},
	"Owner":      {"team", "tribe", "contact"},
	"Technical":  {"ports", "health", "version", "tls", "latency"},
	"Health":     {"path", "status", "json"},
	"Version":    {"path", "json"},
	"TLS":        {"minDaysValid", "minVersion"},
	"Latency":    {"path", "samples", "p95"},
	"Settle":     {"timeout", "consecutive"},
	"Ephemeral":  {"port", "ports", "env", "cmd", "files", "wait", "dependencies"},
	"File":       {"source", "target", "mode"},
	"Wait":       {"path", "port", "log", "timeout"},
	"Dependency": {"name", "image", "env", "cmd", "wait"},
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// LoadDir loads every *.yaml / *.yml in dir, sorted by name. App names must be
// unique across the folder.
func LoadDir(dir string) ([]*App, error) {
	files, err := Files(dir)
	if err != nil {
		return nil, err
	}
	var apps []*App
	var errs Errors
	seen := map[string]string{}
	for _, f := range files {
		a, err := Load(f)
		if err != nil {
			errs = append(errs, asErrors(err)...)
			continue
		}
		if prev, dup := seen[a.App]; dup {
			errs = append(errs, &Error{File: f, Line: a.lines.line("app"), Msg: fmt.Sprintf("app %q is already defined in %s", a.App, prev)})
			continue
		}
		seen[a.App] = f
		apps = append(apps, a)
	}
	if len(errs) > 0 {
		return apps, errs
	}
	return apps, nil
}

// Files lists the definition files in dir.
func Files(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, &Error{File: dir, Msg: fmt.Sprintf("cannot read config folder: %v", unwrapPath(err))}
	}
	var files []string
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, &Error{File: dir, Msg: "no app definitions (*.yaml) in this folder"}
	}
	return files, nil
}

// Find loads the definition of one app from dir: the file whose app: is name.
func Find(dir, name string) (*App, error) {
	files, err := Files(dir)
	if err != nil {
		return nil, err
	}
	var known []string
	for _, f := range files {
		a, err := Load(f)
		if err != nil {
			// A broken file that is not ours should not stop this app's gate,
			// unless it might be ours: its base name matches.
			if strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)) == name {
				return nil, err
			}
			continue
		}
		if a.App == name {
			return a, nil
		}
		known = append(known, a.App)
	}
	return nil, &Error{File: dir, Msg: fmt.Sprintf("no app %q here (apps defined: %s)", name, strings.Join(known, ", "))}
}

func asErrors(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return Errors{{Msg: err.Error()}}
}
