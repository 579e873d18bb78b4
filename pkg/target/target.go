// Package target decides where connections go. A Target keeps the service's
// identity (URL host name for Host, SNI and certificate verification) while
// optionally pinning every TCP connection to one address: curl --connect-to
// semantics. Every probe, the suites' HTTP client and the browser get their
// connections from here, so "--node app-02 reaches only app-02" holds by
// construction rather than by each caller remembering.
package target

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"github.com/piv-gate/piv/pkg/timeouts"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/piv-gate/piv/pkg/config"
)

// Scope is what a run verifies.
type Scope string

const (
	ScopeNode    Scope = "node"
	ScopeService Scope = "service"
	ScopeImage   Scope = "image"
)

// Bounds of every connection to a target (pkg/timeouts names them).
var (
	ConnectTimeout = timeouts.Default.Connect
	TLSHandshake   = timeouts.Default.TLSHandshake
	ResponseHeader = timeouts.Default.ResponseHeader
)

// IdleConnsPerHost is how many kept-alive connections a target's client holds.
const IdleConnsPerHost = 4

// Target is one place to verify: a node, the service, or a container.
type Target struct {
	Scope Scope
	Name  string // node name, "service", or the image ref
	// URL is the service URL (scheme://host:port, no path). Its host name is
	// kept for Host, SNI and certificate checks whatever Address says.
	URL *url.URL
	// Address is host:port where connections to URL's host:port go. Empty
	// means "resolve the URL's host as usual".
	Address string
	// RootCAs verifies server certificates; nil means Roots, or the system
	// pool when Roots is nil too.
	RootCAs *x509.CertPool
	// Roots gives the app's trust pool when a connection first needs it
	// (config.App.Roots): built lazily, not when the target is made.
	Roots func() *x509.CertPool
	// Headers are added to every request made through HTTPClient
	// (X-PIV-Run, so the app's logs can tell test traffic apart).
	Headers http.Header
	// PortMap, when set, says where each port of the service host is
	// published (a container's ports on random host ports).
	PortMap map[int]string
}

// ForNode pins to one node of app.
func ForNode(app *config.App, n config.Node) Target {
	return Target{Scope: ScopeNode, Name: n.Name, URL: app.ServiceURL, Address: withPort(n.Address, app.ServiceURL.Port()), Roots: app.Roots}
}

// ForService targets the service as customers reach it (through
// service.address when the definition gives one).
func ForService(app *config.App) Target {
	t := Target{Scope: ScopeService, Name: "service", URL: app.ServiceURL, Roots: app.Roots}
	if app.Service.Address != "" {
		t.Address = withPort(app.Service.Address, app.ServiceURL.Port())
	}
	return t
}

// ForAddress targets an arbitrary address (a started container) under the
// service's identity.
func ForAddress(app *config.App, scope Scope, name, addr string) Target {
	return Target{Scope: scope, Name: name, URL: app.ServiceURL, Address: addr, Roots: app.Roots}
}

func withPort(addr, port string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(addr, port)
}

// Host is the service host name (no port): Host header, SNI, cert name.
func (t Target) Host() string { return t.URL.Hostname() }

// Port is the service port.
func (t Target) Port() int { p, _ := strconv.Atoi(t.URL.Port()); return p }

// DialAddress is where a connection for the service's port goes.
func (t Target) DialAddress() string {
	if t.Address != "" {
		return t.Address
	}
	return t.URL.Host
}

// PortAddress is where a connection for another port of the same host goes
// (technical.ports). The pinned host is kept; the service port maps to the
// pinned port, any other port is used as is.
func (t Target) PortAddress(port int) string {
	if a, ok := t.PortMap[port]; ok {
		return a
	}
	if port == t.Port() {
		return t.DialAddress()
	}
	host := t.URL.Hostname()
	if t.Address != "" {
		host, _, _ = net.SplitHostPort(t.Address)
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// Where is a short human description for messages: "node app-02 (127.0.0.3:8443)".
func (t Target) Where() string {
	switch {
	case t.Scope == ScopeService && t.Address == "":
		return "service " + t.URL.Host
	case t.Scope == ScopeService:
		return fmt.Sprintf("service %s via %s", t.URL.Host, t.Address)
	default:
		return fmt.Sprintf("%s %s (%s)", t.Scope, t.Name, t.DialAddress())
	}
}

// Dial connects like net.Dialer.DialContext but sends connections for the
// service's host:port to the pinned address. Connections to other hosts
// (a redirect off-site) are refused when pinned: nothing leaks to the pool.
func (t Target) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: ConnectTimeout, KeepAlive: 30 * time.Second}
	if t.Address == "" {
		return d.DialContext(ctx, network, addr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if host != t.URL.Hostname() {
		return nil, fmt.Errorf("pinned to %s: refusing connection to other host %s", t.Where(), addr)
	}
	p, _ := strconv.Atoi(port)
	return d.DialContext(ctx, network, t.PortAddress(p))
}

// TLSConfig verifies the chain against RootCAs and the name against the
// service host, whatever address the connection went to. Never skips
// verification.
func (t Target) TLSConfig() *tls.Config {
	roots := t.RootCAs
	if roots == nil && t.Roots != nil {
		roots = t.Roots()
	}
	return &tls.Config{ServerName: t.Host(), RootCAs: roots, MinVersion: tls.VersionTLS10}
}

// Transport is a fresh transport for this target. One per target: net/http
// pools connections by URL host, so sharing one across nodes would send
// "node" requests down another node's pooled connection.
func (t Target) Transport() *http.Transport {
	return &http.Transport{
		DialContext:           t.Dial,
		TLSClientConfig:       t.TLSConfig(),
		TLSHandshakeTimeout:   TLSHandshake,
		ResponseHeaderTimeout: ResponseHeader,
		MaxIdleConnsPerHost:   IdleConnsPerHost,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
		Proxy:                 nil, // never through an environment proxy: that would unpin
	}
}

// HTTPClient returns a client over transport that adds the target's headers.
// Redirects are followed (at most 5) only within the target's origin: the
// same scheme, host and port (SameOrigin). Another port of the same host is
// another server (an old instance, a side port) and plain HTTP is another
// protocol; following them would judge that server's answer as this
// target's. A redirect off the origin is not followed: the client returns
// the 3xx response itself, Location included, for the caller to judge.
func (t Target) HTTPClient(transport http.RoundTripper) *http.Client {
	if transport == nil {
		transport = t.Transport()
	}
	return &http.Client{
		Transport: headerRoundTripper{next: transport, headers: t.Headers},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return fmt.Errorf("stopped after 5 redirects")
			}
			if !t.SameOrigin(req.URL) {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}
}

// SameOrigin reports whether u is on the target's scheme, host and port
// (an absent port is the scheme's default), the only place its pinned
// connections and trust stand for.
func (t Target) SameOrigin(u *url.URL) bool {
	return u.Scheme == t.URL.Scheme && strings.EqualFold(u.Hostname(), t.Host()) && effectivePort(u) == effectivePort(t.URL)
}

// effectivePort is u's port, or its scheme's default when none is written.
func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch u.Scheme {
	case "https":
		return "443"
	case "http":
		return "80"
	}
	return ""
}

// URLFor joins a path to the service URL.
func (t Target) URLFor(path string) string {
	return t.URL.Scheme + "://" + t.URL.Host + path
}

type headerRoundTripper struct {
	next    http.RoundTripper
	headers http.Header
}

func (h headerRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	if len(h.headers) > 0 {
		r = r.Clone(r.Context())
		for k, vs := range h.headers {
			if r.Header.Get(k) == "" {
				r.Header[k] = vs
			}
		}
	}
	return h.next.RoundTrip(r)
}
