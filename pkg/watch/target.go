package watch

import (
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Target is one thing to sample: a URL, and optionally the address to
// connect to instead of the URL's host (curl --connect-to semantics: the
// Host header, TLS SNI and certificate verification still use the URL's
// host name, so a node can be watched exactly as customers reach it).
type Target struct {
	Name    string // label in reports: NAME= prefix, else the URL's host
	URL     string
	Address string // host:port actually dialled
	Pinned  bool   // Address came from @ADDR or --connect-to, not from the URL
	// Judged targets decide the verdict; the others (piv watch --observe,
	// typically one per node) are recorded and charted only: a node is
	// expected to go down while it is being redeployed.
	Judged bool

	u *url.URL
}

// ParseTarget reads "[NAME=]URL[@ADDR]". ADDR is host:port or host (the
// URL's port then). Examples:
//
//	https://quote.test:8443/health
//	lb=https://quote.test:8443/health
//	app-01=https://quote.test:8443/health@127.0.0.2
//	app-01=https://quote.test:8443/health@127.0.0.2:9443
func ParseTarget(spec string) (Target, error) {
	t := Target{Judged: true}
	rest := spec
	if i := strings.Index(rest, "="); i > 0 && !strings.ContainsAny(rest[:i], ":/") {
		t.Name, rest = rest[:i], rest[i+1:]
	}
	var addr string
	if i := strings.LastIndex(rest, "@"); i >= 0 && !strings.Contains(rest[i+1:], "/") {
		rest, addr = rest[:i], rest[i+1:]
		if addr == "" {
			return Target{}, fmt.Errorf("target %q: empty address after @", spec)
		}
	}
	u, err := url.Parse(rest)
	if err != nil {
		return Target{}, fmt.Errorf("target %q: %v", spec, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Target{}, fmt.Errorf("target %q: scheme must be http or https", spec)
	}
	if u.User != nil {
		return Target{}, fmt.Errorf("target %q: credentials in the URL are not supported", spec)
	}
	if u.Hostname() == "" {
		return Target{}, fmt.Errorf("target %q: no host in URL", spec)
	}
	if u.Path == "" {
		u.Path = "/"
	}
	u.Fragment = ""
	t.u = u
	t.URL = u.String()
	if t.Name == "" {
		t.Name = u.Hostname()
	}
	t.Address = net.JoinHostPort(u.Hostname(), urlPort(u))
	if addr != "" {
		a, err := withPort(addr, urlPort(u))
		if err != nil {
			return Target{}, fmt.Errorf("target %q: address %q: %v", spec, addr, err)
		}
		t.Address, t.Pinned = a, true
	}
	return t, nil
}

// ConnectTo applies a curl-style --connect-to rule "HOST1:PORT1:HOST2:PORT2"
// to t when t is not already pinned and HOST1:PORT1 matches the URL (an
// empty HOST1 or PORT1 matches any). It reports whether the rule applied.
func (t *Target) ConnectTo(rule string) (bool, error) {
	f, err := splitConnectTo(rule)
	if err != nil {
		return false, err
	}
	if t.Pinned || t.u == nil {
		return false, nil
	}
	if f[0] != "" && !strings.EqualFold(f[0], t.u.Hostname()) {
		return false, nil
	}
	if f[1] != "" && f[1] != urlPort(t.u) {
		return false, nil
	}
	host, port := f[2], f[3]
	if host == "" {
		host = t.u.Hostname()
	}
	if port == "" {
		port = urlPort(t.u)
	}
	t.Address, t.Pinned = net.JoinHostPort(host, port), true
	return true, nil
}

// splitConnectTo splits "H1:P1:H2:P2", allowing [v6] hosts.
func splitConnectTo(rule string) ([4]string, error) {
	var f [4]string
	s := rule
	for i := 0; i < 4; i++ {
		if i%2 == 0 && strings.HasPrefix(s, "[") {
			j := strings.Index(s, "]")
			if j < 0 {
				return f, fmt.Errorf("--connect-to %q: unclosed [", rule)
			}
			f[i], s = s[1:j], s[j+1:]
			if i < 3 {
				if !strings.HasPrefix(s, ":") {
					return f, fmt.Errorf("--connect-to %q: want HOST1:PORT1:HOST2:PORT2", rule)
				}
				s = s[1:]
			}
			continue
		}
		if i == 3 {
			f[i], s = s, ""
			break
		}
		j := strings.Index(s, ":")
		if j < 0 {
			return f, fmt.Errorf("--connect-to %q: want HOST1:PORT1:HOST2:PORT2", rule)
		}
		f[i], s = s[:j], s[j+1:]
	}
	if strings.Contains(f[3], ":") || s != "" {
		return f, fmt.Errorf("--connect-to %q: want HOST1:PORT1:HOST2:PORT2", rule)
	}
	return f, nil
}

func urlPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

func withPort(addr, def string) (string, error) {
	if h, p, err := net.SplitHostPort(addr); err == nil {
		if h == "" || p == "" {
			return "", fmt.Errorf("want host:port")
		}
		return addr, nil
	}
	h := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	if strings.ContainsAny(h, "[]/") {
		return "", fmt.Errorf("want host:port")
	}
	return net.JoinHostPort(h, def), nil
}
