package cli

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/piv-gate/piv/pkg/gate"
)

// False passes of the technical PIV found by attack (F2, F6, F7): a whole
// piv process against real TLS servers on loopback that answer ambiguously,
// redirect off the node, or also accept old TLS versions.

// F2: a document with a repeated key reads UP to gjson (first value) and DOWN
// to encoding/json and JSON.parse (last); it is not a valid answer.
func TestTechnicalDuplicateJSONKeysFail(t *testing.T) {
	n := serveNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/health":
			io.WriteString(w, `{"status":"UP","checks":{"db":"UP"},"status":"DOWN","checks":{"db":"DOWN"}}`)
		case "/version":
			io.WriteString(w, `{"version":"2.4.1","version":"1.0.0"}`)
		}
	}))
	r := runTechGate(t, evidenceApp(t, n, 3))
	wantExit(t, r, 1)
	wantFailed(t, r, "technical health /health", `duplicate key "status" at the top level`, `"status":"DOWN"`)
	wantFailed(t, r, "technical version", `duplicate key "version" at the top level`)
	wantFailed(t, r, "technical latency", `duplicate key "status"`)
	c := checkNamed(t, r.gate, "technical health /health")
	if _, ok := c.Observed["json"]; ok || c.Observed["jsonDuplicateKey"] == nil {
		t.Errorf("observed %v: want jsonDuplicateKey and no json values", c.Observed)
	}
	if c := checkNamed(t, r.gate, "technical version"); c.Observed["version"] != "" {
		t.Errorf("a version was read out of an ambiguous document: %v", c.Observed)
	}
}

// F6: a node that redirects /health and /version to another port of its host
// (another server there answers well) or to plain HTTP is not judged by what
// that other server says.
func TestTechnicalRedirectOffTheNodeFails(t *testing.T) {
	for _, scheme := range []string{"https", "http"} {
		t.Run(scheme, func(t *testing.T) {
			other := serveOther(t, scheme == "https")
			port := strconv.Itoa(other.Addr().(*net.TCPAddr).Port)
			n := serveNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, scheme+"://evidence.test:"+port+r.URL.Path, http.StatusFound)
			}))
			r := runTechGate(t, evidenceApp(t, n, 3))
			wantExit(t, r, 1)
			loc := scheme + "://evidence.test:" + port
			wantFailed(t, r, "technical health /health", "redirected to "+loc+"/health (status 302), not followed")
			wantFailed(t, r, "technical version", "redirected to "+loc+"/version")
			if c := checkNamed(t, r.gate, "technical health /health"); c.Observed["redirectNotFollowed"] != loc+"/health" {
				t.Errorf("observed %v", c.Observed)
			}
		})
	}
}

// F6: a redirect on the node's own origin is followed, and the evidence says
// where the answer came from.
func TestTechnicalSameOriginRedirectRecordsTheFinalURL(t *testing.T) {
	n := serveNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/health":
			http.Redirect(w, r, "/health/live", http.StatusFound)
		case "/health/live":
			io.WriteString(w, `{"status":"UP"}`)
		case "/version":
			io.WriteString(w, `{"version":"2.4.1"}`)
		}
	}))
	r := runTechGate(t, evidenceApp(t, n, 3))
	wantExit(t, r, 0)
	c := checkNamed(t, r.gate, "technical health /health")
	port := strconv.Itoa(n.ln.Addr().(*net.TCPAddr).Port)
	if c.Observed["url"] != "https://evidence.test:"+port+"/health" || c.Observed["finalUrl"] != "https://evidence.test:"+port+"/health/live" {
		t.Errorf("observed %v", c.Observed)
	}
}

// F7: a node that accepts TLS 1.0 to 1.3 negotiates 1.3 with piv; the
// minimum (1.2) holds only if a client offering 1.0 and 1.1 is refused.
func TestTechnicalTLSBelowTheMinimumFails(t *testing.T) {
	n := serveNodeTLS(t, tls.VersionTLS10)
	r := runTechGate(t, evidenceApp(t, n, 3))
	wantExit(t, r, 1)
	wantFailed(t, r, "technical tls protocol is at least 1.2", "accepts 1.1, expected at least 1.2", "a client offering only 1.0, 1.1 got in", "negotiated 1.3")
	c := checkNamed(t, r.gate, "technical tls protocol")
	below, _ := c.Observed["belowMinimum"].(map[string]any)
	versions, _ := below["versions"].(map[string]any)
	if below["accepted"] != "1.1" || versions["1.1"] != "accepted" || versions["1.0"] == nil || c.Observed["tlsVersion"] != "1.3" {
		t.Errorf("observed %v", c.Observed)
	}

	ok := serveNodeTLS(t, tls.VersionTLS12)
	r = runTechGate(t, evidenceApp(t, ok, 3))
	wantExit(t, r, 0)
	c = checkNamed(t, r.gate, "technical tls protocol")
	below, _ = c.Observed["belowMinimum"].(map[string]any)
	versions, _ = below["versions"].(map[string]any)
	if c.State != gate.Passed || versions["1.0"] != "refused" || versions["1.1"] != "refused" || below["refused"] == nil {
		t.Errorf("%s: observed %v", c.State, c.Observed)
	}
}

// serveOther is a healthy server on 127.0.0.21 (TLS with the evidence
// certificate, or plain HTTP): what a redirect off the node would reach.
func serveOther(t *testing.T, withTLS bool) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.21:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"UP"}`)
	}), ErrorLog: log.New(io.Discard, "", 0)}
	if withTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{techCert(t)}}
		go func() { _ = srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { _ = srv.Serve(ln) }()
	}
	t.Cleanup(func() { srv.Close() })
	return ln
}

// serveNodeTLS is a healthy node accepting TLS minVersion up to 1.3.
func serveNodeTLS(t *testing.T, minVersion uint16) *techNode {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.21:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"UP"}`)
	}), ErrorLog: log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{techCert(t)}, MinVersion: minVersion}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close() })
	return &techNode{ln: ln, requests: map[string]int{}}
}
