// Package fleettest starts a demo fleet in-process for tests: quoteapp nodes
// on distinct loopback addresses (127.0.0.2, .3, .4, …) with real TLS for
// quote.test from a CA made on the spot, a round-robin TCP balancer in front
// of them, and an app definition pointing at it all. Nothing here is a mock:
// the nodes are the demo app's real handler on real sockets.
package fleettest

import (
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
	"github.com/piv-gate/piv/internal/pki"
)

// Host is the service host name every fleet serves.
const Host = "quote.test"

// Node is one running demo node.
type Node struct {
	// Seen records every request this node served: Host, SNI and X-PIV-Run.
	Seen    *Recorder
	Name    string
	Addr    string // 127.0.0.x:port
	Options app.Options
	srv     *http.Server
	ln      net.Listener
	stopped atomic.Bool
}

// Stop closes the node abruptly (listener and connections).
func (n *Node) Stop() {
	if n.stopped.CompareAndSwap(false, true) {
		n.srv.Close()
	}
}

// Fleet is a running fleet and its app definition.
type Fleet struct {
	Dir     string // holds quote.yaml and ca.pem
	CA      *pki.CA
	Nodes   []*Node
	LBAddr  string
	lb      net.Listener
	Leaf    *pki.Leaf
	lbConns sync.WaitGroup
}

// Spec describes one node to start.
type Spec struct {
	Name string
	IP   string // 127.0.0.x
	app.Options
	Cert *tls.Certificate // default: a certificate for quote.test
}

// Start starts the nodes and the balancer and writes quote.yaml into a
// temporary folder. Everything stops at the end of the test.
func Start(t testing.TB, specs []Spec, extraYAML string) *Fleet {
	t.Helper()
	ca, err := pki.NewCA("piv test CA")
	if err != nil {
		t.Fatal(err)
	}
	return StartWithCA(t, ca, specs, extraYAML)
}

// StartWithCA is Start with a given CA (to serve a certificate that CA
// issued for the wrong host).
func StartWithCA(t testing.TB, ca *pki.CA, specs []Spec, extraYAML string) *Fleet {
	t.Helper()
	leaf, err := ca.Issue([]string{Host}, time.Now().Add(-time.Hour), time.Now().Add(90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	f := &Fleet{Dir: t.TempDir(), CA: ca, Leaf: leaf}
	cert := leaf.TLSCertificate()
	for _, s := range specs {
		c := &cert
		if s.Cert != nil {
			c = s.Cert
		}
		if s.Options.Node == "" {
			s.Options.Node = s.Name
		}
		if s.Options.Version == "" {
			s.Options.Version = "2.4.1"
		}
		ln, err := net.Listen("tcp", s.IP+":0")
		if err != nil {
			t.Fatalf("listen on %s: %v (loopback addresses 127.0.0.2-4 are needed)", s.IP, err)
		}
		n := &Node{Name: s.Name, Addr: ln.Addr().String(), Options: s.Options, ln: ln, Seen: &Recorder{}}
		n.srv = &http.Server{Handler: n.Seen.wrap(app.NewHandler(s.Options)), TLSConfig: &tls.Config{Certificates: []tls.Certificate{*c}},
			ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 5 * time.Second}
		go n.srv.ServeTLS(ln, "", "")
		t.Cleanup(n.Stop)
		f.Nodes = append(f.Nodes, n)
	}
	f.startLB(t)
	if err := os.WriteFile(filepath.Join(f.Dir, "ca.pem"), ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(f.Dir, "quote.yaml"), []byte(f.YAML(extraYAML)), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// Three is the usual fleet: app-01..03 on 127.0.0.2-4 at version 2.4.1.
func Three(t testing.TB, mod func(i int, s *Spec)) *Fleet {
	specs := []Spec{{Name: "app-01", IP: "127.0.0.2"}, {Name: "app-02", IP: "127.0.0.3"}, {Name: "app-03", IP: "127.0.0.4"}}
	for i := range specs {
		if mod != nil {
			mod(i, &specs[i])
		}
	}
	return Start(t, specs, "")
}

// Port is the balancer's port, which is also the service URL's port.
func (f *Fleet) Port() string {
	_, p, _ := net.SplitHostPort(f.LBAddr)
	return p
}

// YAML is the app definition for this fleet, with extra appended.
func (f *Fleet) YAML(extra string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `app: quote
service:
  url: https://%s:%s
  ca: ca.pem
  address: %s
nodes:
`, Host, f.Port(), f.LBAddr)
	for _, n := range f.Nodes {
		fmt.Fprintf(&b, "  - name: %s\n    address: %s\n", n.Name, n.Addr)
	}
	fmt.Fprintf(&b, `technical:
  ports: [%s]
  health:
    path: /health
    status: 200
    json: { status: UP, checks.db: UP }
  version:
    path: /version
    json: version
  tls: { minDaysValid: 21, minVersion: "1.2" }
  latency: { path: /health, samples: 5, p95: 2s }
settle: { consecutive: 2 }
suites: [quote]
`, f.Port())
	b.WriteString(extra)
	return b.String()
}

// startLB is a round-robin TCP balancer (TLS passes through) on 127.0.0.1,
// skipping stopped nodes, like a load balancer with health checks.
func (f *Fleet) startLB(t testing.TB) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.lb, f.LBAddr = ln, ln.Addr().String()
	var next atomic.Uint64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				for range f.Nodes {
					n := f.Nodes[next.Add(1)%uint64(len(f.Nodes))]
					if n.stopped.Load() {
						continue
					}
					up, err := net.DialTimeout("tcp", n.Addr, 2*time.Second)
					if err != nil {
						continue
					}
					defer up.Close()
					go func() { io.Copy(up, c); up.(*net.TCPConn).CloseWrite() }()
					io.Copy(c, up)
					return
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
}

// Request is what a node saw of one request.
type Request struct {
	Method, Path, Host, SNI, PIVRun string
}

// Recorder keeps what a node served, for pinning assertions.
type Recorder struct {
	mu   sync.Mutex
	reqs []Request
}

func (r *Recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := Request{Method: req.Method, Path: req.URL.Path, Host: req.Host, PIVRun: req.Header.Get("X-PIV-Run")}
		if req.TLS != nil {
			rec.SNI = req.TLS.ServerName
		}
		r.mu.Lock()
		r.reqs = append(r.reqs, rec)
		r.mu.Unlock()
		h.ServeHTTP(w, req)
	})
}

// Requests returns a copy of what was served so far.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.reqs...)
}
