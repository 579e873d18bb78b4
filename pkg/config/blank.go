package config

import (
	"fmt"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// An empty value is not an absent one. A pipeline that renders
// `health: {path: "${HEALTH_PATH}"}` with the variable unset, or
// `suites: [${SUITES}]` with none, has not asked for the default: it has lost
// a check, and piv must not quietly verify less than the file seems to say.
// So a key given with an empty, blank or null value is an error that says
// so, and so is an empty list where the list is what gets verified. Omitting
// the key is how to ask for the default.

// emptyAllowed are keys whose values may be empty because they configure
// what runs rather than what is verified: a container's environment
// variable set to "" and its command's arguments are the container's own
// business, and free settings/environment mappings may be empty.
func emptyAllowed(path string) bool {
	for _, p := range []string{"ephemeral.env.", "ephemeral.cmd[", "ephemeral.dependencies[*].env.", "ephemeral.dependencies[*].cmd["} {
		if matchPath(path, p) {
			return true
		}
	}
	return false
}

// emptyListIsLoss are the collections whose emptiness drops checks.
var emptyListIsLoss = map[string]string{
	"technical.ports":       "omit the key to check the service URL's port",
	"technical.health.json": "omit the key to judge the status alone",
	"suites":                "omit the key if the app has no functional suites",
	"nodes":                 "omit the key if the app has no nodes to gate one by one",
}

// blankValues walks the document and reports every empty value and empty
// key, each at its own line.
func blankValues(file string, root *yaml.Node) Errors {
	var errs Errors
	bad := func(line int, msg string) { errs = append(errs, &Error{File: file, Line: line, Msg: msg}) }
	var walk func(n *yaml.Node, path string)
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.MappingNode:
			if len(n.Content) == 0 && emptyListIsLoss[path] != "" {
				bad(n.Line, fmt.Sprintf("%s: empty: %s", path, emptyListIsLoss[path]))
			}
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				kp := join(path, k.Value)
				if blank(k) {
					bad(k.Line, fmt.Sprintf("%s: empty key", join(path, `""`)))
					continue
				}
				walk(v, kp)
			}
		case yaml.SequenceNode:
			if len(n.Content) == 0 && emptyListIsLoss[path] != "" {
				bad(n.Line, fmt.Sprintf("%s: empty list: %s", path, emptyListIsLoss[path]))
			}
			for i, item := range n.Content {
				walk(item, path+"["+strconv.Itoa(i)+"]")
			}
		case yaml.ScalarNode:
			if path != "" && blank(n) && !emptyAllowed(path) {
				what := "empty value"
				if n.Tag == "!!null" && n.Value != "" {
					what = fmt.Sprintf("no value (%s)", n.Value)
				} else if n.Tag == "!!null" {
					what = "no value"
				} else if n.Value != "" {
					what = fmt.Sprintf("blank value %q", n.Value)
				}
				bad(n.Line, fmt.Sprintf("%s: %s: an empty value is not the default: give one, or omit the key where a default exists", path, what))
			}
		}
	}
	walk(root, "")
	return errs
}

// blank is true for a null scalar or a string of only white space.
func blank(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && (n.Tag == "!!null" || strings.TrimSpace(n.Value) == "")
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// matchPath reports whether path starts with pattern, where "[*]" in the
// pattern matches any index.
func matchPath(path, pattern string) bool {
	for {
		star := strings.Index(pattern, "[*]")
		if star < 0 {
			return strings.HasPrefix(path, pattern)
		}
		if !strings.HasPrefix(path, pattern[:star+1]) {
			return false
		}
		path = path[star+1:]
		end := strings.IndexByte(path, ']')
		if end < 0 {
			return false
		}
		path, pattern = path[end:], pattern[star+2:]
	}
}
