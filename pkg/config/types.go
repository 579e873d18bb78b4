// Package config loads, defaults and validates app definitions: one YAML file
// per application (DESIGN.md). Every error a user can cause carries
// file:line, and unknown keys are errors, never silently ignored, because a
// misspelt check that is ignored is a check that never runs.
package config

import (
	"crypto/x509"
	"net/url"
	"time"
)

// App is one application's definition after defaults and validation.
type App struct {
	App       string            `yaml:"app"`
	Service   Service           `yaml:"service"`
	Nodes     []Node            `yaml:"nodes"`
	Technical Technical         `yaml:"technical"`
	Settle    Settle            `yaml:"settle"`
	Suites    []string          `yaml:"suites"`
	Settings  map[string]string `yaml:"settings"` // free per-app values for suites (piv.Setting)
	Ephemeral *Ephemeral        `yaml:"ephemeral"`
	// Owner is who is told when the app's gate fails (piv merge groups by it).
	Owner *Owner `yaml:"owner"`
	// Exposure is external or internal: the remediation SLA clock (5 / 30 days).
	Exposure string `yaml:"exposure"`

	// File is the definition's path; Dir its folder (relative paths resolve there).
	File string `yaml:"-"`
	// ServiceURL is Service.URL parsed.
	ServiceURL *url.URL `yaml:"-"`
	// CAPEM is the raw service.ca file (checked to hold a certificate), for
	// Roots and for tools (a browser) that need it.
	CAPEM []byte `yaml:"-"`
	// RootCAs, when set, is the trust pool Roots returns as it is (a
	// definition built in code, in a test); Load leaves it nil.
	RootCAs *x509.CertPool `yaml:"-"`

	// roots builds the pool once (set by Load; a func, so App stays copyable).
	roots func() *x509.CertPool

	lines lineIndex
}

// Service is what customers use, through the load balancer.
type Service struct {
	URL string `yaml:"url"`
	CA  string `yaml:"ca"` // resolved to an absolute path by Load
	// Address, when set, is where service-scope connections go (the load
	// balancer's host:port) while Host and SNI stay the URL's host: for
	// service names that do not resolve from where piv runs.
	Address string `yaml:"address"`
}

// Owner is the team accountable for an app: the case study's "clear ownership".
type Owner struct {
	Team    string `yaml:"team"`
	Tribe   string `yaml:"tribe"`
	Contact string `yaml:"contact"`
}

// Node is one member of the pool.
type Node struct {
	Name    string `yaml:"name"`
	Address string `yaml:"address"` // host or host:port; the URL's port when omitted
}

// Technical is the generic PIV driven by configuration.
type Technical struct {
	Ports   []int    `yaml:"ports"`
	Health  *Health  `yaml:"health"`
	Version *Version `yaml:"version"`
	TLS     *TLS     `yaml:"tls"`
	Latency *Latency `yaml:"latency"`
}

type Health struct {
	Path   string       `yaml:"path"`
	Status int          `yaml:"status"`
	JSON   Expectations `yaml:"json"`
}

type Version struct {
	Path string `yaml:"path"`
	JSON string `yaml:"json"` // gjson path of the running version
}

type TLS struct {
	MinDaysValid int    `yaml:"minDaysValid"`
	MinVersion   string `yaml:"minVersion"` // "1.0" … "1.3"
}

type Latency struct {
	Path    string   `yaml:"path"`
	Samples int      `yaml:"samples"`
	P95     Duration `yaml:"p95"`
}

type Settle struct {
	Timeout     Duration `yaml:"timeout"`
	Consecutive int      `yaml:"consecutive"`
}

// Expectation is one gjson path and the value it must have, in file order.
type Expectation struct {
	Path string
	Want string // the scalar as written (compared to gjson's String())
	Line int
}

type Expectations []Expectation

// Duration is a Go duration string in YAML ("250ms", "2m").
type Duration time.Duration

func (d Duration) D() time.Duration { return time.Duration(d) }

// Ephemeral says how to start the app from a container image (piv run --image).
type Ephemeral struct {
	Port         int               `yaml:"port"`  // container port the service URL maps to
	Ports        []int             `yaml:"ports"` // further ports to expose (technical.ports)
	Env          map[string]string `yaml:"env"`
	Cmd          []string          `yaml:"cmd"`
	Files        []File            `yaml:"files"`
	Wait         Wait              `yaml:"wait"`
	Dependencies []Dependency      `yaml:"dependencies"`
}

// File is copied into a container before it starts.
type File struct {
	Source string `yaml:"source"` // relative to the definition's folder
	Target string `yaml:"target"`
	Mode   int64  `yaml:"mode"`
}

// Wait bounds how long a container may take to be ready and how to tell.
type Wait struct {
	Path    string   `yaml:"path"` // HTTP(S) path that must answer 2xx (app)
	Port    int      `yaml:"port"` // TCP port that must accept (dependency)
	Log     string   `yaml:"log"`  // a log line that must appear (dependency)
	Timeout Duration `yaml:"timeout"`
}

// Dependency is a container the app needs (a database, a stub), reachable
// from the app by Name on the run's private network.
type Dependency struct {
	Name  string            `yaml:"name"`
	Image string            `yaml:"image"`
	Env   map[string]string `yaml:"env"`
	Cmd   []string          `yaml:"cmd"`
	Wait  Wait              `yaml:"wait"`
}

// NodeByName returns the node, or false.
func (a *App) NodeByName(name string) (Node, bool) {
	for _, n := range a.Nodes {
		if n.Name == name {
			return n, true
		}
	}
	return Node{}, false
}

// Where returns "file:line" for a key path such as ("nodes", "1", "address"),
// falling back to the nearest ancestor that exists, so that errors found after
// loading (an unknown node on the command line) still point into the file.
func (a *App) Where(path ...string) string {
	return a.lines.where(a.File, path...)
}

// Roots is the private trust root from service.ca added to the system pool,
// or nil for the system pool alone. It is built on first use, not when the
// definition is read: loading the system pool costs 15-60 ms here, and a
// process that never connects (the supervising parent, piv list, piv
// validate) should not pay it.
func (a *App) Roots() *x509.CertPool {
	if a.RootCAs != nil {
		return a.RootCAs
	}
	if a.roots == nil {
		return buildRoots(a.CAPEM)
	}
	return a.roots()
}

func buildRoots(pem []byte) *x509.CertPool {
	if len(pem) == 0 {
		return nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	pool.AppendCertsFromPEM(pem)
	return pool
}
