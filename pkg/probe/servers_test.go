package probe

import (
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
	"github.com/piv-gate/piv/internal/pki"
	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/target"
)

const host = "quote.test"

var (
	pkiOnce sync.Once
	testCA  *pki.CA
	leaf    *pki.Leaf
)

// testPKI is one CA and one valid quote.test leaf shared by the package's
// tests and benchmarks.
func testPKI(tb testing.TB) (*pki.CA, *pki.Leaf) {
	tb.Helper()
	pkiOnce.Do(func() {
		var err error
		if testCA, err = pki.NewCA("probe test CA"); err != nil {
			panic(err)
		}
		now := time.Now()
		if leaf, err = testCA.Issue([]string{host}, now.Add(-time.Hour), now.AddDate(0, 0, 30)); err != nil {
			panic(err)
		}
	})
	return testCA, leaf
}

// serveTLS serves h with cert on ln until the test ends.
func serveTLS(tb testing.TB, ln net.Listener, h http.Handler, cfg *tls.Config) {
	tb.Helper()
	// The TCP port probe connects and closes without a handshake, which the
	// server would log on every run; that is expected, so discard it.
	srv := &http.Server{Handler: h, TLSConfig: cfg, ErrorLog: log.New(io.Discard, "", 0)}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	tb.Cleanup(func() { srv.Close() })
}

// listen listens on ip:port; port 0 picks one.
func listen(tb testing.TB, ip string, port int) net.Listener {
	tb.Helper()
	ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
	if err != nil {
		tb.Fatal(err)
	}
	return ln
}

// listenAll finds one port free on every ip (as a real fleet has: every node
// serves the same port on its own address) and listens there.
func listenAll(tb testing.TB, ips ...string) []net.Listener {
	tb.Helper()
	for attempt := 0; attempt < 50; attempt++ {
		first := listen(tb, ips[0], 0)
		port := first.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{first}
		for _, ip := range ips[1:] {
			ln, err := net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
			if err != nil {
				if !errors.Is(err, syscall.EADDRINUSE) {
					tb.Fatal(err)
				}
				break
			}
			lns = append(lns, ln)
		}
		if len(lns) == len(ips) {
			return lns
		}
		for _, ln := range lns {
			ln.Close()
		}
	}
	tb.Fatalf("no port free on all of %v", ips)
	return nil
}

// acceptAndClose keeps a plain TCP port answering (technical.ports beyond
// the service port) without filling the accept queue.
func acceptAndClose(tb testing.TB, ln net.Listener) {
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func tlsConfig(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// quoteNode serves the demo app on ln with the shared quote.test leaf.
func quoteNode(tb testing.TB, ln net.Listener, opt app.Options) {
	tb.Helper()
	_, lf := testPKI(tb)
	serveTLS(tb, ln, app.NewHandler(opt), &tls.Config{Certificates: []tls.Certificate{lf.TLSCertificate()}})
}

// pinned is a node target: the service URL https://quote.test:PORT, every
// connection to addr, trusting the test CA.
func pinned(tb testing.TB, addr string) target.Target {
	tb.Helper()
	ca, _ := testPKI(tb)
	_, port, _ := net.SplitHostPort(addr)
	u, _ := url.Parse("https://" + host + ":" + port)
	return target.Target{Scope: target.ScopeNode, Name: addr, URL: u, Address: addr, RootCAs: ca.Pool()}
}

// fleet is the demo topology in miniature: nodes on 127.0.0.2-4 sharing a
// service port and a second plain TCP port, and an app definition for it.
type fleet struct {
	app     *config.App
	targets []target.Target // app-01..03, then the service (pinned to app-01)
	nodes   []net.Listener  // the service-port listeners, by node
}

func startFleet(tb testing.TB, latency time.Duration) *fleet {
	tb.Helper()
	ca, _ := testPKI(tb)
	ips := []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"}
	lns := listenAll(tb, ips...)
	extra := listenAll(tb, ips...)
	port := lns[0].Addr().(*net.TCPAddr).Port
	u, _ := url.Parse("https://" + host + ":" + strconv.Itoa(port))
	a := &config.App{
		App:        "quote",
		Service:    config.Service{URL: u.String(), Address: lns[0].Addr().String()},
		ServiceURL: u,
		RootCAs:    ca.Pool(),
		Technical: config.Technical{
			Ports:   []int{port, extra[0].Addr().(*net.TCPAddr).Port},
			Health:  &config.Health{Path: "/health", Status: 200, JSON: config.Expectations{{Path: "status", Want: "UP"}}},
			Version: &config.Version{Path: "/version", JSON: "version"},
			Latency: &config.Latency{Path: "/health", Samples: 5},
		},
	}
	f := &fleet{app: a, nodes: lns}
	for i, ip := range ips {
		name := "app-0" + strconv.Itoa(i+1)
		a.Nodes = append(a.Nodes, config.Node{Name: name, Address: ip})
		quoteNode(tb, lns[i], app.Options{Node: name, Latency: latency})
		acceptAndClose(tb, extra[i])
		f.targets = append(f.targets, target.ForNode(a, a.Nodes[i]))
	}
	f.targets = append(f.targets, target.ForService(a))
	return f
}
