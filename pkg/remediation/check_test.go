package remediation

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piv-gate/piv/internal/pki"
	"github.com/piv-gate/piv/pkg/target"
)

const host = "quote.test"

var (
	pkiOnce sync.Once
	testCA  *pki.CA
	leaf    *pki.Leaf
)

func testPKI(tb testing.TB) (*pki.CA, *pki.Leaf) {
	pkiOnce.Do(func() {
		var err error
		if testCA, err = pki.NewCA("remediation test CA"); err != nil {
			panic(err)
		}
		now := time.Now()
		if leaf, err = testCA.Issue([]string{host}, now.Add(-time.Hour), now.AddDate(0, 0, 30)); err != nil {
			panic(err)
		}
	})
	return testCA, leaf
}

// server is one real HTTPS node: what it reports and which protocols it
// speaks are set per test.
type server struct {
	openssl  string // components.openssl in /version; "" leaves it out
	hsts     bool
	debugOn  bool
	minTLS   uint16
	plain    bool // plain HTTP
	serverHd string
	broken   bool // / answers 503
}

func (s server) start(t *testing.T) target.Target {
	t.Helper()
	ca, lf := testPKI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		comps := ""
		if s.openssl != "" {
			comps = fmt.Sprintf(`, "components": {"openssl": %q}`, s.openssl)
		}
		w.Header().Set("Content-Type", "application/json")
		if s.serverHd != "" {
			w.Header().Set("Server", s.serverHd)
		}
		fmt.Fprintf(w, `{"version": "2.4.1"%s}`, comps)
	})
	mux.HandleFunc("/debug/vars", func(w http.ResponseWriter, r *http.Request) {
		if !s.debugOn {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, `{"cmdline": ["quoteapp"]}`)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.serverHd != "" {
			w.Header().Set("Server", s.serverHd)
		}
		if s.broken {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if s.hsts {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		io.WriteString(w, "<html>quote</html>")
	})
	srv := &http.Server{Handler: mux, ErrorLog: log.New(io.Discard, "", 0)}
	scheme := "https"
	if s.plain {
		scheme = "http"
		go srv.Serve(ln)
	} else {
		min := s.minTLS
		if min == 0 {
			min = tls.VersionTLS12
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{lf.TLSCertificate()}, MinVersion: min}
		go srv.ServeTLS(ln, "", "")
	}
	t.Cleanup(func() { srv.Close() })
	u, _ := url.Parse(fmt.Sprintf("%s://%s:%d", scheme, host, ln.Addr().(*net.TCPAddr).Port))
	return target.Target{Scope: target.ScopeNode, Name: "app-01", URL: u, Address: ln.Addr().String(), RootCAs: ca.Pool()}
}

func outcomes(t *testing.T, rec *Record, tg target.Target) map[string]Outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m := map[string]Outcome{}
	for _, o := range Evaluate(rec, Gather(ctx, rec, tg)) {
		m[o.Item.Key] = o
	}
	return m
}

func mustRecord(t *testing.T, y string) *Record {
	t.Helper()
	r, err := Parse("rec.yaml", []byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// wantFail asserts a failure whose message carries what was expected and
// what was seen.
func wantFail(t *testing.T, o Outcome, expected, seen string) {
	t.Helper()
	if o.Pass {
		t.Fatalf("%s passed, want a failure (observed %v)", o.Item.Key, o.Observed)
	}
	if !strings.Contains(o.Message, "expected "+expected) || !strings.Contains(o.Message, "seen "+seen) {
		t.Fatalf("%s: message %q\nwant \"expected %s\" and \"seen %s\"", o.Item.Key, o.Message, expected, seen)
	}
}

func wantPass(t *testing.T, o Outcome) {
	t.Helper()
	if !o.Pass {
		t.Fatalf("%s failed: %s", o.Item.Key, o.Message)
	}
	if o.Observed["seen"] == nil {
		t.Fatalf("%s passed without evidence: %v", o.Item.Key, o.Observed)
	}
}

func TestRemediationComponentTooOldAndFixed(t *testing.T) {
	rec := mustRecord(t, goodRecord)
	o := outcomes(t, rec, server{openssl: "3.0.9"}.start(t))["component openssl"]
	wantFail(t, o, ">= 3.0.15 (semver)", "3.0.9")
	if o.Observed["seen"] != "3.0.9" || o.Observed["expected"] != ">= 3.0.15" {
		t.Fatalf("observed %v", o.Observed)
	}
	o = outcomes(t, rec, server{openssl: "3.0.15"}.start(t))["component openssl"]
	wantPass(t, o)
	if o.Observed["seen"] != "3.0.15" {
		t.Fatalf("observed %v", o.Observed)
	}
}

func TestRemediationDebianComponentFromHeader(t *testing.T) {
	rec := mustRecord(t, `remediation: CHG-1
detected: 2026-11-28T09:00:00Z
apps: [quote]
fixed:
  components:
    - { name: openssl, path: /version, header: Server, pattern: 'openssl/([^)\s]+)', scheme: debian, version: ">= 1:3.0.11-1~deb12u2" }
`)
	o := outcomes(t, rec, server{serverHd: "quote (openssl/1:3.0.11-1~deb12u1)"}.start(t))["component openssl"]
	wantFail(t, o, ">= 1:3.0.11-1~deb12u2 (debian)", "1:3.0.11-1~deb12u1")
	wantPass(t, outcomes(t, rec, server{serverHd: "quote (openssl/1:3.0.11-1~deb12u2)"}.start(t))["component openssl"])
}

func TestRemediationComponentNotReportedFails(t *testing.T) {
	rec := mustRecord(t, goodRecord)
	o := outcomes(t, rec, server{}.start(t))["component openssl"]
	wantFail(t, o, ">= 3.0.15 (semver)", "nothing: /version does not report components.openssl")
}

func TestRemediationTLSOfferedAndRefused(t *testing.T) {
	rec := mustRecord(t, goodRecord)
	old := outcomes(t, rec, server{minTLS: tls.VersionTLS10}.start(t))
	wantFail(t, old["tls 1.0"], "refused", "offered")
	wantFail(t, old["tls 1.1"], "refused", "offered")
	if old["tls 1.1"].Observed["seen"] != "offered" {
		t.Fatalf("observed %v", old["tls 1.1"].Observed)
	}
	fixed := outcomes(t, rec, server{minTLS: tls.VersionTLS12}.start(t))
	wantPass(t, fixed["tls 1.0"])
	wantPass(t, fixed["tls 1.1"])
	if fixed["tls 1.1"].Observed["seen"] != "refused" || fixed["tls 1.1"].Observed["baseline"] != "TLS 1.3" {
		t.Fatalf("observed %v", fixed["tls 1.1"].Observed)
	}
}

// A target that speaks no TLS at all refuses every TLS version: that is not
// evidence of the fix.
func TestRemediationTLSRefusedByAbsenceFails(t *testing.T) {
	rec := mustRecord(t, goodRecord)
	tg := server{plain: true}.start(t)
	tg.URL.Scheme = "https" // the definition says https; the node answers plain HTTP
	o := outcomes(t, rec, tg)["tls 1.1"]
	if o.Pass {
		t.Fatalf("tls 1.1 passed on a node without TLS: %v", o.Observed)
	}
	if !strings.Contains(o.Message, "expected refused") {
		t.Fatalf("message %q", o.Message)
	}
}

func TestRemediationHeaderMissingAndPresent(t *testing.T) {
	rec := mustRecord(t, goodRecord)
	wantFail(t, outcomes(t, rec, server{}.start(t))["header Strict-Transport-Security"], "present", "absent")
	o := outcomes(t, rec, server{hsts: true}.start(t))["header Strict-Transport-Security"]
	wantPass(t, o)
	if o.Observed["seen"] != "max-age=31536000" {
		t.Fatalf("observed %v", o.Observed)
	}
	absent := mustRecord(t, strings.Replace(goodRecord, "Strict-Transport-Security: present", "Server: absent", 1))
	wantPass(t, outcomes(t, absent, server{}.start(t))["header Server"])
	wantFail(t, outcomes(t, absent, server{broken: true}.start(t))["header Server"], "absent", "nothing: GET / answered 503")
	wantFail(t, outcomes(t, absent, server{serverHd: "quote/2.4"}.start(t))["header Server"], "absent", `"quote/2.4"`)
}

func TestRemediationPathOpenAndRefused(t *testing.T) {
	rec := mustRecord(t, goodRecord)
	o := outcomes(t, rec, server{debugOn: true}.start(t))["refused /debug/vars"]
	wantFail(t, o, "refused (401, 403, 404)", "200")
	if o.Observed["seen"] != "open" || o.Observed["status"] != 200 {
		t.Fatalf("observed %v", o.Observed)
	}
	o = outcomes(t, rec, server{}.start(t))["refused /debug/vars"]
	wantPass(t, o)
	if o.Observed["status"] != 404 {
		t.Fatalf("observed %v", o.Observed)
	}
}

// A node that is down shows no fix: every item fails, none passes by absence.
func TestRemediationNodeDownFailsEverything(t *testing.T) {
	rec := mustRecord(t, goodRecord)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	u, _ := url.Parse("https://" + host + ":" + strings.Split(addr, ":")[1])
	ca, _ := testPKI(t)
	for key, o := range outcomes(t, rec, target.Target{Scope: target.ScopeNode, Name: "app-09", URL: u, Address: addr, RootCAs: ca.Pool()}) {
		if o.Pass {
			t.Errorf("%s passed on a node that is down", key)
		}
	}
}
