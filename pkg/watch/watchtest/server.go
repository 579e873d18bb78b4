// Package watchtest is a real loopback HTTPS server that tests can stop and
// restart on the same address, to give piv watch real outages to see: no
// mocks, real sockets, refused connects and resets from the kernel.
package watchtest

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/piv-gate/piv/internal/pki"
)

// Host is the name the server's certificate is issued for; clients connect
// to Addr while keeping Host in the URL (SNI and Host header), as piv does
// with a pinned node.
const Host = "quote.test"

// Server is a stoppable, restartable HTTPS server on a fixed loopback
// address.
type Server struct {
	Addr   string // host:port, fixed across restarts
	CAPEM  []byte
	CAPool *x509.CertPool

	tlsConf *tls.Config

	mu      sync.Mutex
	srv     *http.Server
	ln      net.Listener
	conns   map[*tls.Conn]struct{}
	hold    bool           // new keepalive-stream requests block until Stop
	served  map[string]int // answered requests by X-Piv-Watch-Stream
	held    chan struct{}
	release chan struct{}
}

// Start listens on host:0 (for example 127.0.0.2:0) with a certificate for
// Host and the loopback IP, issued by a fresh CA, and serves 200 "ok" on
// every path.
func Start(host string) (*Server, error) {
	ca, err := pki.NewCA("piv watchtest CA")
	if err != nil {
		return nil, err
	}
	leaf, err := ca.Issue([]string{Host, host}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		return nil, err
	}
	s := &Server{
		CAPEM:   ca.CertPEM,
		CAPool:  ca.Pool(),
		tlsConf: &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}},
		held:    make(chan struct{}, 1),
		served:  map[string]int{},
	}
	if err := s.listen(net.JoinHostPort(host, "0")); err != nil {
		return nil, err
	}
	return s, nil
}

// URL is https://Host:port/health; connect to Addr.
func (s *Server) URL() string {
	_, port, _ := net.SplitHostPort(s.Addr)
	return "https://" + Host + ":" + port + "/health"
}

// Target is the piv watch target spec NAME=URL@ADDR for this server.
func (s *Server) Target(name string) string { return name + "=" + s.URL() + "@" + s.Addr }

// WriteCA writes the CA certificate into dir and returns its path.
func (s *Server) WriteCA(dir string) (string, error) {
	p := filepath.Join(dir, "ca.pem")
	return p, os.WriteFile(p, s.CAPEM, 0o644)
}

func (s *Server) listen(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Addr = ln.Addr().String()
	s.ln = ln
	s.conns = map[*tls.Conn]struct{}{}
	s.release = make(chan struct{})
	release := s.release
	s.srv = &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			s.mu.Lock()
			hold := s.hold && r.Header.Get("X-Piv-Watch-Stream") == "keepalive"
			s.mu.Unlock()
			if hold {
				select {
				case s.held <- struct{}{}:
				default:
				}
				<-release
				return
			}
			s.mu.Lock()
			s.served[r.Header.Get("X-Piv-Watch-Stream")]++
			s.mu.Unlock()
			w.Write([]byte("ok\n"))
		}),
		ConnState: func(c net.Conn, st http.ConnState) {
			tc, ok := c.(*tls.Conn)
			if !ok {
				return
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if st == http.StateNew {
				s.conns[tc] = struct{}{}
			} else if st == http.StateClosed || st == http.StateHijacked {
				delete(s.conns, tc)
			}
		},
		ErrorLog: nullLogger(),
	}
	srv, tl := s.srv, tls.NewListener(ln, s.tlsConf)
	go srv.Serve(tl)
	return nil
}

// Served is how many requests of a piv watch stream ("fresh",
// "keepalive") the server has answered, over all its restarts.
func (s *Server) Served(stream string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.served[stream]
}

// HoldKeepAlive makes the next requests of piv watch's keepalive stream
// block in the handler, and returns a channel that receives when one is
// held: a test can then Stop the server with that request in flight, and
// the sampler sees the reset a customer mid-request would see.
func (s *Server) HoldKeepAlive() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hold = true
	return s.held
}

// Stop closes the listener and resets every open connection (SO_LINGER 0:
// an RST, as when a process is killed), so new connects are refused and
// requests in flight fail.
func (s *Server) Stop() {
	s.mu.Lock()
	ln, srv, release := s.ln, s.srv, s.release
	if ln == nil {
		s.mu.Unlock()
		return
	}
	s.ln = nil
	conns := s.conns
	s.conns = map[*tls.Conn]struct{}{}
	s.hold = false
	s.mu.Unlock()
	ln.Close()
	for c := range conns {
		if tc, ok := c.NetConn().(*net.TCPConn); ok {
			tc.SetLinger(0)
		}
		c.NetConn().Close()
	}
	srv.Close()
	close(release)
}

// Restart listens again on the same address.
func (s *Server) Restart() error {
	var err error
	for i := 0; i < 50; i++ { // bounded: the port is ours, but the kernel may lag a close
		if err = s.listen(s.Addr); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("restart on %s: %w", s.Addr, err)
}

// Close stops the server for good (idempotent).
func (s *Server) Close() { s.Stop() }

func nullLogger() *log.Logger { return log.New(io.Discard, "", 0) }
