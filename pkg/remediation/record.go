// Package remediation loads remediation records (DESIGN.md "Remediation
// records"): what "fixed" means for one vulnerability fix, which apps it
// concerns and when the SLA clock started. It also gathers the facts a
// record needs from one target and judges them, so that the gate (suites/
// remediation) and its tests share one definition of "fixed". Errors carry
// file:line as config.Error does, because a record is written by hand.
package remediation

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/piv-gate/piv/pkg/config"
)

// SLA per exposure (the case study: 5 days external, 30 days internal).
const (
	SLAExternal = 5 * 24 * time.Hour
	SLAInternal = 30 * 24 * time.Hour
)

// Record is one remediation record after validation.
type Record struct {
	ID       string   `yaml:"remediation"`
	CVEs     []string `yaml:"cves"`
	Detected string   `yaml:"detected"`
	// Exposure is external or internal; empty means "each app's own
	// exposure from its definition".
	Exposure string   `yaml:"exposure"`
	SLA      string   `yaml:"sla"` // override: a Go duration or N days ("72h", "5d")
	Apps     []string `yaml:"apps"`
	Fixed    Fixed    `yaml:"fixed"`

	File         string        `yaml:"-"`
	DetectedAt   time.Time     `yaml:"-"`
	SLAOverride  time.Duration `yaml:"-"` // 0: from exposure
	root         *yaml.Node
	orderHeaders []string
}

// Fixed is what "fixed" means, checked on every target.
type Fixed struct {
	Components []Component       `yaml:"components"`
	TLS        *TLSFix           `yaml:"tls"`
	Headers    map[string]string `yaml:"headers"`
	Refused    []Refused         `yaml:"refused"`
}

// Component is a version the app reports, from a gjson path of an
// endpoint's JSON body or from a response header.
type Component struct {
	Name    string `yaml:"name"`
	Path    string `yaml:"path"`    // endpoint, e.g. /version
	JSON    string `yaml:"json"`    // gjson path in the body, e.g. components.openssl
	Header  string `yaml:"header"`  // or: a response header carrying the version
	Pattern string `yaml:"pattern"` // optional regexp; its first group is the version ("nginx/(\S+)")
	Version string `yaml:"version"` // constraint, e.g. ">= 3.0.15" or ">= 1:3.0.11-1~deb12u3"
	// Scheme is how versions compare: semver (default) or debian.
	Scheme string `yaml:"scheme"`

	constraint *Constraint
	pattern    *regexp.Regexp
}

// TLSFix lists protocol versions that must now be refused.
type TLSFix struct {
	Refuse []string `yaml:"refuse"`
}

// Refused is a path that must now answer one of Status.
type Refused struct {
	Path   string `yaml:"path"`
	Status []int  `yaml:"status"`
}

// DefaultRefusedStatus is what "refused" means when a path names no status.
var DefaultRefusedStatus = []int{401, 403, 404}

var tlsNames = map[string]bool{"1.0": true, "1.1": true, "1.2": true, "1.3": true}

// Load reads and validates a record file.
func Load(path string) (*Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, &config.Error{File: path, Msg: fmt.Sprintf("cannot read remediation record: %v", err)}
	}
	return Parse(path, data)
}

var yamlLine = regexp.MustCompile(`^line (\d+): (.*)$`)
var unknownField = regexp.MustCompile(`field (\S+) not found in type remediation\.(\w+)`)

var knownKeys = map[string]string{
	"Record":    "remediation, cves, detected, exposure, sla, apps, fixed",
	"Fixed":     "components, tls, headers, refused",
	"Component": "name, path, json, header, pattern, version, scheme",
	"TLSFix":    "refuse",
	"Refused":   "path, status",
}

// Parse is Load on bytes already read; path names them in errors.
func Parse(path string, data []byte) (*Record, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, config.Errors{{File: path, Msg: "empty file: a remediation record needs remediation, detected, apps and fixed"}}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlErrors(path, err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, config.Errors{{File: path, Line: 1, Msg: "expected a mapping with keys remediation, cves, detected, exposure, apps, fixed"}}
	}
	r := &Record{File: path, root: root.Content[0]}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(r); err != nil {
		return nil, yamlErrors(path, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, config.Errors{{File: path, Line: extra.Line, Msg: "more than one YAML document: one remediation record per file"}}
	}
	r.File = path
	if errs := r.validate(); len(errs) > 0 {
		return nil, errs
	}
	return r, nil
}

func yamlErrors(path string, err error) error {
	var te *yaml.TypeError
	var msgs []string
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{"invalid YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	var out config.Errors
	for _, m := range msgs {
		e := &config.Error{File: path, Msg: m}
		if sub := yamlLine.FindStringSubmatch(strings.TrimPrefix(m, "invalid YAML: ")); sub != nil {
			e.Line, _ = strconv.Atoi(sub[1])
			e.Msg = sub[2]
		}
		if sub := unknownField.FindStringSubmatch(e.Msg); sub != nil {
			e.Msg = fmt.Sprintf("unknown key %q (known keys here: %s)", sub[1], knownKeys[sub[2]])
		}
		e.Msg = strings.Replace(e.Msg, "cannot unmarshal", "wrong type:", 1)
		out = append(out, e)
	}
	return out
}

var cvePattern = regexp.MustCompile(`^(CVE-\d{4}-\d{4,}|GHSA(-[23456789cfghjmpqrvwx]{4}){3})$`)
var dayDuration = regexp.MustCompile(`^(\d+)d$`)

func (r *Record) validate() config.Errors {
	var errs config.Errors
	bad := func(msg string, path ...string) {
		errs = append(errs, &config.Error{File: r.File, Line: r.Line(path...), Msg: msg})
	}
	if strings.TrimSpace(r.ID) == "" {
		bad("remediation: missing: the record's id (a change or ticket number, e.g. CHG-2026-0412)", "remediation")
	}
	for i, c := range r.CVEs {
		if !cvePattern.MatchString(c) {
			bad(fmt.Sprintf("cves[%d]: %q is not a CVE (CVE-YYYY-NNNN) or GHSA id", i, c), "cves", strconv.Itoa(i))
		}
	}
	if r.Detected == "" {
		bad("detected: missing: when the vulnerability was detected, RFC 3339 with a zone (2026-11-28T09:00:00Z): the SLA clock starts here", "detected")
	} else if t, err := time.Parse(time.RFC3339, r.Detected); err != nil {
		bad(fmt.Sprintf("detected: %q: want RFC 3339 with a zone, e.g. 2026-11-28T09:00:00Z", r.Detected), "detected")
	} else {
		r.DetectedAt = t.UTC()
	}
	switch r.Exposure {
	case "", "external", "internal":
	default:
		bad(fmt.Sprintf("exposure: %q: want external (5 days) or internal (30 days)", r.Exposure), "exposure")
	}
	if r.SLA != "" {
		d, err := time.ParseDuration(r.SLA)
		if m := dayDuration.FindStringSubmatch(r.SLA); m != nil {
			n, _ := strconv.Atoi(m[1])
			d, err = time.Duration(n)*24*time.Hour, nil
		}
		if err != nil || d <= 0 {
			bad(fmt.Sprintf("sla: %q: want a positive duration such as 72h or 5d", r.SLA), "sla")
		}
		r.SLAOverride = d
	}
	if len(r.Apps) == 0 {
		bad("apps: missing: the affected applications (their app definitions give the nodes)", "apps")
	}
	seen := map[string]bool{}
	for i, a := range r.Apps {
		if seen[a] {
			bad(fmt.Sprintf("apps[%d]: %q is listed twice", i, a), "apps", strconv.Itoa(i))
		}
		seen[a] = true
	}

	f := &r.Fixed
	names := map[string]bool{}
	for i := range f.Components {
		c := &f.Components[i]
		at := func(k string) []string { return []string{"fixed", "components", strconv.Itoa(i), k} }
		if c.Name == "" {
			bad(fmt.Sprintf("fixed.components[%d].name: missing (e.g. openssl)", i), at("name")...)
		} else if names[c.Name] {
			bad(fmt.Sprintf("fixed.components[%d].name: %q is listed twice", i, c.Name), at("name")...)
		}
		names[c.Name] = true
		if c.Path == "" || !strings.HasPrefix(c.Path, "/") {
			bad(fmt.Sprintf("fixed.components[%d].path: %q: want the endpoint that reports the version, e.g. /version", i, c.Path), at("path")...)
		}
		switch {
		case c.JSON == "" && c.Header == "":
			bad(fmt.Sprintf("fixed.components[%d]: give json (a gjson path in the body) or header (a response header) to read the version from", i), at("name")...)
		case c.JSON != "" && c.Header != "":
			bad(fmt.Sprintf("fixed.components[%d]: json and header are exclusive: the version comes from one place", i), at("header")...)
		}
		if c.Pattern != "" {
			re, err := regexp.Compile(c.Pattern)
			if err != nil || re.NumSubexp() < 1 {
				bad(fmt.Sprintf("fixed.components[%d].pattern: %q: want a regexp with one group capturing the version", i, c.Pattern), at("pattern")...)
			}
			c.pattern = re
		}
		if c.Scheme == "" {
			c.Scheme = SchemeSemver
		}
		if c.Version == "" {
			bad(fmt.Sprintf("fixed.components[%d].version: missing: the fixed version constraint, e.g. \">= 3.0.15\"", i), at("version")...)
		} else if k, err := ParseConstraint(c.Scheme, c.Version); err != nil {
			bad(fmt.Sprintf("fixed.components[%d].version: %v", i, err), at("version")...)
		} else {
			c.constraint = k
		}
	}
	if f.TLS != nil {
		if len(f.TLS.Refuse) == 0 {
			bad("fixed.tls.refuse: empty: list the protocol versions that must be refused, e.g. [\"1.0\", \"1.1\"]", "fixed", "tls")
		}
		for i, v := range f.TLS.Refuse {
			if !tlsNames[v] {
				bad(fmt.Sprintf("fixed.tls.refuse[%d]: %q: want 1.0, 1.1, 1.2 or 1.3 (quoted: 1.0 unquoted is a number)", i, v), "fixed", "tls", "refuse", strconv.Itoa(i))
			}
		}
	}
	for k, v := range f.Headers {
		if k == "" || strings.ContainsAny(k, " :\t") {
			bad(fmt.Sprintf("fixed.headers: %q is not a header name", k), "fixed", "headers", k)
		}
		if v == "" {
			bad(fmt.Sprintf("fixed.headers.%s: empty: want present, absent, or the exact value", k), "fixed", "headers", k)
		}
		r.orderHeaders = append(r.orderHeaders, k)
	}
	sort.Strings(r.orderHeaders)
	for i := range f.Refused {
		p := &f.Refused[i]
		if p.Path == "" || !strings.HasPrefix(p.Path, "/") {
			bad(fmt.Sprintf("fixed.refused[%d].path: %q: want a path such as /debug/vars", i, p.Path), "fixed", "refused", strconv.Itoa(i), "path")
		}
		for j, s := range p.Status {
			if s < 300 || s > 599 {
				bad(fmt.Sprintf("fixed.refused[%d].status[%d]: %d is not a refusal (want 3xx-5xx, e.g. 401, 403, 404)", i, j, s), "fixed", "refused", strconv.Itoa(i), "status")
			}
		}
		if len(p.Status) == 0 {
			p.Status = append([]int(nil), DefaultRefusedStatus...)
		}
	}
	if len(r.Items()) == 0 {
		// Nothing passes by absence: a record that checks nothing would
		// "verify" every node.
		bad("fixed: nothing to check: give components, tls.refuse, headers or refused", "fixed")
	}
	return errs
}

// Line is the line of a key path in the record (the nearest existing
// ancestor's when the path does not exist), for messages found after loading.
func (r *Record) Line(path ...string) int {
	n := r.root
	if n == nil {
		return 0
	}
	line := n.Line
	for _, key := range path {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					next = n.Content[i+1]
					line = n.Content[i].Line
				}
			}
		case yaml.SequenceNode:
			if i, err := strconv.Atoi(key); err == nil && i >= 0 && i < len(n.Content) {
				next = n.Content[i]
				line = next.Line
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}

// Where is "file:line" for a key path.
func (r *Record) Where(path ...string) string { return fmt.Sprintf("%s:%d", r.File, r.Line(path...)) }

// HasApp reports whether the record names app.
func (r *Record) HasApp(app string) bool {
	for _, a := range r.Apps {
		if a == app {
			return true
		}
	}
	return false
}

// SLAFor is the SLA that applies to an app of the given exposure (from its
// definition): the record's sla override, else the record's exposure, else
// the app's. An unknown exposure is an error: the clock cannot be guessed.
func (r *Record) SLAFor(appExposure string) (time.Duration, string, error) {
	if r.SLAOverride > 0 {
		return r.SLAOverride, "sla " + r.SLA, nil
	}
	exp := r.Exposure
	if exp == "" {
		exp = appExposure
	}
	switch exp {
	case "external":
		return SLAExternal, "external (5 days)", nil
	case "internal":
		return SLAInternal, "internal (30 days)", nil
	}
	return 0, "", fmt.Errorf("%s: no exposure: set exposure (external|internal) or sla in the record, or exposure in the app definition", r.Where("exposure"))
}
