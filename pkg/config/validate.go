package config

import (
	"crypto/x509"
	"fmt"
	"github.com/piv-gate/piv/pkg/timeouts"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

var appName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Defaults applied when a key is omitted. Named here, in one place.
const (
	DefaultHealthStatus   = 200
	DefaultVersionJSON    = "version"
	DefaultMinTLSVersion  = "1.2"
	DefaultLatencySamples = 20
	DefaultSettleTimeout  = 0 // no settling unless asked (--settle or settle.timeout)
	DefaultConsecutive    = 3
)

var tlsVersions = map[string]bool{"1.0": true, "1.1": true, "1.2": true, "1.3": true}

func (a *App) defaultAndValidate() Errors {
	var errs Errors
	bad := func(msg string, path ...string) {
		errs = append(errs, &Error{File: a.File, Line: a.lines.line(path...), Msg: msg})
	}

	switch {
	case a.App == "":
		bad("app: missing: name the application, e.g. app: quote", "app")
	case !appName.MatchString(a.App):
		bad(fmt.Sprintf("app: %q: use lower-case letters, digits, - and _ (it names report folders)", a.App), "app")
	}

	if a.Exposure != "" && a.Exposure != "external" && a.Exposure != "internal" {
		bad(fmt.Sprintf("exposure: %q: want external or internal (the remediation SLA: 5 or 30 days)", a.Exposure), "exposure")
	}

	// service
	if a.Service.URL == "" {
		bad("service.url: missing: the URL customers use, e.g. https://quote.example:443", "service")
	} else if u, err := url.Parse(a.Service.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		bad(fmt.Sprintf("service.url: %q is not an http(s) URL with a host name", a.Service.URL), "service", "url")
	} else if n, err := strconv.Atoi(u.Port()); u.Port() != "" && (err != nil || n < 1 || n > 65535) {
		bad(fmt.Sprintf("service.url: %q: port %s is not a TCP port (1 to 65535)", a.Service.URL, u.Port()), "service", "url")
	} else {
		if u.Port() == "" {
			if u.Scheme == "https" {
				u.Host = net.JoinHostPort(u.Hostname(), "443")
			} else {
				u.Host = net.JoinHostPort(u.Hostname(), "80")
			}
		}
		u.Path = ""
		u.RawQuery = ""
		a.ServiceURL = u
	}
	if a.Service.Address != "" {
		if _, _, err := splitAddress(a.Service.Address); err != nil {
			bad("service.address: "+err.Error(), "service", "address")
		}
	}
	if a.Service.CA != "" {
		p := a.Rel(a.Service.CA)
		pem, err := os.ReadFile(p)
		switch {
		case err != nil:
			bad(fmt.Sprintf("service.ca: cannot read %s: %v", p, unwrapPath(err)), "service", "ca")
		default:
			// A pool of its own only to check the file (App.Roots adds it to
			// the system pool when a connection first needs it).
			if !x509.NewCertPool().AppendCertsFromPEM(pem) {
				bad(fmt.Sprintf("service.ca: %s holds no PEM certificate", p), "service", "ca")
			}
			a.Service.CA, a.CAPEM = p, pem
			a.roots = sync.OnceValue(func() *x509.CertPool { return buildRoots(pem) })
		}
	}

	// nodes
	names := map[string]bool{}
	for i, n := range a.Nodes {
		idx := strconv.Itoa(i)
		switch {
		case n.Name == "":
			bad(fmt.Sprintf("nodes[%d].name: missing", i), "nodes", idx)
		case names[n.Name]:
			bad(fmt.Sprintf("nodes[%d].name: %q is used twice", i, n.Name), "nodes", idx, "name")
		}
		names[n.Name] = true
		if n.Address == "" {
			bad(fmt.Sprintf("nodes[%d].address: missing: the node's own host or host:port", i), "nodes", idx)
		} else if _, _, err := splitAddress(n.Address); err != nil {
			bad(fmt.Sprintf("nodes[%d].address: %v", i, err), "nodes", idx, "address")
		}
	}

	// technical
	t := &a.Technical
	if t.Ports == nil && a.ServiceURL != nil {
		p, _ := strconv.Atoi(a.ServiceURL.Port())
		t.Ports = []int{p}
	}
	for i, p := range t.Ports {
		if p < 1 || p > 65535 {
			bad(fmt.Sprintf("technical.ports[%d]: %d is not a TCP port", i, p), "technical", "ports", strconv.Itoa(i))
		}
	}
	if h := t.Health; h != nil {
		if h.Path == "" {
			bad("technical.health.path: missing, e.g. /health", "technical", "health")
		} else if h.Path[0] != '/' {
			bad(fmt.Sprintf("technical.health.path: %q must start with /", h.Path), "technical", "health", "path")
		}
		if h.Status == 0 && a.lines.has("technical", "health", "status") {
			bad("technical.health.status: 0 is not an HTTP status (omit the key for 200)", "technical", "health", "status")
		} else if h.Status == 0 {
			h.Status = DefaultHealthStatus
		} else if h.Status < 100 || h.Status > 599 {
			bad(fmt.Sprintf("technical.health.status: %d is not an HTTP status", h.Status), "technical", "health", "status")
		}
	}
	if v := t.Version; v != nil {
		if v.Path == "" {
			bad("technical.version.path: missing, e.g. /version", "technical", "version")
		} else if v.Path[0] != '/' {
			bad(fmt.Sprintf("technical.version.path: %q must start with /", v.Path), "technical", "version", "path")
		}
		if v.JSON == "" {
			v.JSON = DefaultVersionJSON
		}
	}
	if a.ServiceURL != nil && a.ServiceURL.Scheme == "https" && t.TLS == nil {
		t.TLS = &TLS{} // an https service always gets its certificate checked
	}
	if tl := t.TLS; tl != nil {
		if a.ServiceURL != nil && a.ServiceURL.Scheme != "https" {
			bad("technical.tls: the service URL is not https", "technical", "tls")
		}
		if tl.MinVersion == "" {
			tl.MinVersion = DefaultMinTLSVersion
		} else if !tlsVersions[tl.MinVersion] {
			bad(fmt.Sprintf("technical.tls.minVersion: %q: want \"1.2\" or \"1.3\"", tl.MinVersion), "technical", "tls", "minVersion")
		}
		if tl.MinDaysValid < 0 {
			bad("technical.tls.minDaysValid: must not be negative", "technical", "tls", "minDaysValid")
		}
	}
	if l := t.Latency; l != nil {
		if l.Path == "" {
			if t.Health != nil {
				l.Path = t.Health.Path
			} else {
				bad("technical.latency.path: missing", "technical", "latency")
			}
		} else if l.Path[0] != '/' {
			bad(fmt.Sprintf("technical.latency.path: %q must start with /", l.Path), "technical", "latency", "path")
		}
		if l.Samples == 0 && a.lines.has("technical", "latency", "samples") {
			bad(fmt.Sprintf("technical.latency.samples: 0: want 1 to 1000 (omit the key for %d)", DefaultLatencySamples), "technical", "latency", "samples")
		} else if l.Samples == 0 {
			l.Samples = DefaultLatencySamples
		} else if l.Samples < 1 || l.Samples > 1000 {
			bad(fmt.Sprintf("technical.latency.samples: %d: want 1 to 1000", l.Samples), "technical", "latency", "samples")
		}
		if l.P95 == 0 && a.lines.has("technical", "latency", "p95") {
			bad("technical.latency.p95: 0 is no budget: give one, e.g. 250ms", "technical", "latency", "p95")
		} else if l.P95 == 0 {
			bad("technical.latency.p95: missing: the budget, e.g. 250ms", "technical", "latency")
		}
	}

	// settle
	if a.Settle.Consecutive == 0 && a.lines.has("settle", "consecutive") {
		bad(fmt.Sprintf("settle.consecutive: 0: want 1 to 100 (omit the key for %d)", DefaultConsecutive), "settle", "consecutive")
	} else if a.Settle.Consecutive == 0 {
		a.Settle.Consecutive = DefaultConsecutive
	} else if a.Settle.Consecutive < 1 || a.Settle.Consecutive > 100 {
		bad(fmt.Sprintf("settle.consecutive: %d: want 1 to 100", a.Settle.Consecutive), "settle", "consecutive")
	}
	if a.Settle.Timeout > 0 && t.Health == nil {
		bad("settle: needs technical.health to know when the target is up", "settle")
	}

	// suites
	seen := map[string]bool{}
	for i, s := range a.Suites {
		if seen[s] {
			bad(fmt.Sprintf("suites[%d]: %q listed twice", i, s), "suites", strconv.Itoa(i))
		}
		seen[s] = true
	}

	if a.Ephemeral != nil {
		errs = append(errs, a.validateEphemeral()...)
	}
	return errs
}

func (a *App) validateEphemeral() Errors {
	var errs Errors
	bad := func(msg string, path ...string) {
		errs = append(errs, &Error{File: a.File, Line: a.lines.line(path...), Msg: msg})
	}
	e := a.Ephemeral
	switch {
	case e.Port == 0 && !a.lines.has("ephemeral", "port"):
		bad("ephemeral.port: missing: the container port the service listens on", "ephemeral")
	case e.Port < 1 || e.Port > 65535:
		bad(fmt.Sprintf("ephemeral.port: %d is not a TCP port (1 to 65535)", e.Port), "ephemeral", "port")
	}
	for i, p := range e.Ports {
		if p < 1 || p > 65535 {
			bad(fmt.Sprintf("ephemeral.ports[%d]: %d is not a TCP port (1 to 65535)", i, p), "ephemeral", "ports", strconv.Itoa(i))
		}
	}
	a.validateWait(&errs, e.Wait, "ephemeral", "wait")
	if e.Wait.Timeout == 0 {
		e.Wait.Timeout = Duration(timeouts.Default.EphemeralWait)
	}
	if e.Wait.Path == "" && a.Technical.Health != nil {
		e.Wait.Path = a.Technical.Health.Path
	}
	for i := range e.Files {
		f := &e.Files[i]
		if f.Source == "" || f.Target == "" {
			bad(fmt.Sprintf("ephemeral.files[%d]: needs source and target", i), "ephemeral", "files", strconv.Itoa(i))
			continue
		}
		f.Source = a.Rel(f.Source)
		switch {
		case f.Mode == 0 && a.lines.has("ephemeral", "files", strconv.Itoa(i), "mode"):
			bad(fmt.Sprintf("ephemeral.files[%d].mode: 0 gives no one access (omit the key for 0o644)", i), "ephemeral", "files", strconv.Itoa(i), "mode")
		case f.Mode == 0:
			f.Mode = 0o644
		case f.Mode < 0 || f.Mode > 0o7777:
			bad(fmt.Sprintf("ephemeral.files[%d].mode: %#o is not a file mode", i, f.Mode), "ephemeral", "files", strconv.Itoa(i), "mode")
		}
	}
	names := map[string]bool{}
	for i := range e.Dependencies {
		d := &e.Dependencies[i]
		idx := strconv.Itoa(i)
		if d.Name == "" || d.Image == "" {
			bad(fmt.Sprintf("ephemeral.dependencies[%d]: needs name and image", i), "ephemeral", "dependencies", idx)
		}
		if names[d.Name] {
			bad(fmt.Sprintf("ephemeral.dependencies[%d]: name %q used twice", i, d.Name), "ephemeral", "dependencies", idx, "name")
		}
		names[d.Name] = true
		a.validateWait(&errs, d.Wait, "ephemeral", "dependencies", idx, "wait")
		if d.Wait.Timeout == 0 {
			d.Wait.Timeout = Duration(timeouts.Default.EphemeralWait)
		}
	}
	return errs
}

// validateWait checks a readiness condition's port (the path and log are
// checked for blank values with every other key).
func (a *App) validateWait(errs *Errors, w Wait, path ...string) {
	if w.Path != "" && w.Path[0] != '/' {
		*errs = append(*errs, &Error{File: a.File, Line: a.lines.line(append(path, "path")...),
			Msg: fmt.Sprintf("%s.path: %q must start with /", dotted(path), w.Path)})
	}
	if w.Port != 0 || a.lines.has(append(path, "port")...) {
		if w.Port < 1 || w.Port > 65535 {
			*errs = append(*errs, &Error{File: a.File, Line: a.lines.line(append(path, "port")...),
				Msg: fmt.Sprintf("%s.port: %d is not a TCP port (1 to 65535)", dotted(path), w.Port)})
		}
	}
}

// dotted renders a key path as messages write it: ephemeral.dependencies[0].wait.
func dotted(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// Rel resolves p against the definition's folder unless it is absolute.
func (a *App) Rel(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(filepath.Dir(a.File), p)
}

// splitAddress accepts host or host:port.
func splitAddress(s string) (host, port string, err error) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return "", "", fmt.Errorf("%q: bad port", s)
		}
		if h == "" {
			return "", "", fmt.Errorf("%q: missing host", s)
		}
		return h, p, nil
	}
	if s == "" || regexp.MustCompile(`[\s/]`).MatchString(s) {
		return "", "", fmt.Errorf("%q is not a host or host:port", s)
	}
	return s, "", nil
}

// lineIndex finds the line of a key path in the parsed YAML tree.
type lineIndex struct{ root *yaml.Node }

// line returns the line of the deepest node on path that exists (1 if none).
func (li lineIndex) line(path ...string) int {
	n := li.root
	if n == nil {
		return 0
	}
	line := n.Line
	for _, key := range path {
		next := child(n, key)
		if next == nil {
			break
		}
		n = next
		line = n.Line
	}
	return line
}

// has reports whether the exact key path is present in the file, to tell a
// value given as 0 from one left out.
func (li lineIndex) has(path ...string) bool {
	n := li.root
	for _, key := range path {
		if n == nil {
			return false
		}
		n = child(n, key)
	}
	return n != nil
}

func (li lineIndex) where(file string, path ...string) string {
	return fmt.Sprintf("%s:%d", file, li.line(path...))
}

// child finds key in a mapping (returning the key node for its line) or index
// in a sequence.
func child(n *yaml.Node, key string) *yaml.Node {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				v := n.Content[i+1]
				if v.Kind == yaml.ScalarNode {
					return v
				}
				// keep descending into the value, but report its key's line
				// if the caller stops here
				cp := *v
				cp.Line = n.Content[i].Line
				return &cp
			}
		}
	case yaml.SequenceNode:
		if i, err := strconv.Atoi(key); err == nil && i >= 0 && i < len(n.Content) {
			return n.Content[i]
		}
	}
	return nil
}
