package verify

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/probe"
	"github.com/piv-gate/piv/pkg/target"
)

// serveVersions is a node on 127.0.0.2 accepting TLS versions min..max
// (0: crypto/tls's default), with the quote.test leaf.
func serveVersions(t *testing.T, min, max uint16) target.Target {
	t.Helper()
	serve(t, answer("", "")) // the shared CA and leaf
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.NotFoundHandler(), ErrorLog: log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}, MinVersion: min, MaxVersion: max}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	u, _ := url.Parse("https://quote.test:" + port)
	return target.Target{Scope: target.ScopeNode, Name: "app-01", URL: u, Address: ln.Addr().String(), RootCAs: testCA.Pool()}
}

func judgeVersion(t *testing.T, tg target.Target, min string) error {
	t.Helper()
	f := probe.TLS(t.Context(), tg, probe.Timeouts{})
	below := probe.TLSBelow(t.Context(), tg, probe.VersionID(min), probe.Timeouts{})
	return TLSVersion(f, &below, min, tg)
}

func TestTLSVersionRefusesANodeThatAlsoAcceptsOlderVersions(t *testing.T) {
	cases := []struct {
		name     string
		min, max uint16
		want     string // "" passes
		minimum  string
	}{
		{"1.2 and 1.3 only", tls.VersionTLS12, 0, "", "1.2"},
		{"1.3 only", tls.VersionTLS13, 0, "", "1.3"},
		{"1.0 to 1.3", tls.VersionTLS10, 0, "accepts 1.1, expected at least 1.2: a client offering only 1.0, 1.1 got in (it negotiated 1.3", "1.2"},
		{"1.1 to 1.3", tls.VersionTLS11, 0, "accepts 1.1, expected at least 1.2", "1.2"},
		{"1.2 to 1.3, minimum 1.3", tls.VersionTLS12, 0, "accepts 1.2, expected at least 1.3: a client offering only 1.0, 1.1, 1.2 got in", "1.3"},
		{"1.2 only, minimum 1.3", tls.VersionTLS12, tls.VersionTLS12, "negotiated 1.2, expected at least 1.3", "1.3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := judgeVersion(t, serveVersions(t, c.min, c.max), c.minimum)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("want pass, got %v", err)
			case c.want != "" && err == nil:
				t.Fatal("passed")
			case c.want != "" && !strings.Contains(err.Error(), c.want):
				t.Fatalf("failure lacks %q:\n%v", c.want, err)
			}
		})
	}
}

func TestTLSVersionWithoutEvidenceBelowTheMinimumFails(t *testing.T) {
	tg := serveVersions(t, tls.VersionTLS12, 0)
	f := probe.TLS(t.Context(), tg, probe.Timeouts{})
	if err := TLSVersion(f, nil, "1.2", tg); err == nil || !strings.Contains(err.Error(), "no handshake below 1.2 was tried") {
		t.Errorf("not gathered: %v", err)
	}
	timedOut := probe.TLSBelowFact{Addr: tg.DialAddress(), Offered: []string{"1.0", "1.1"}, Err: "timed out after 5s"}
	if err := TLSVersion(f, &timedOut, "1.2", tg); err == nil || !strings.Contains(err.Error(), "neither completed nor was refused (timed out after 5s)") {
		t.Errorf("timed out: %v", err)
	}
	// With a minimum of 1.0 there is nothing below to try.
	if err := TLSVersion(f, nil, "1.0", tg); err != nil {
		t.Errorf("minimum 1.0: %v", err)
	}
}
