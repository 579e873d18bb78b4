package cli

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
	"github.com/piv-gate/piv/pkg/gate"
)

// Issue 8, classes 2, 3 and 10 on the technical PIV: a whole piv process
// against real TLS servers on loopback that misbehave the ways a node can.

var (
	techPKIOnce sync.Once
	techCA      *pki.CA
	techLeaf    *pki.Leaf
)

// techNode is one node of a one-node app "evidence" on 127.0.0.21; it counts
// the connections it accepted and the requests per path it received.
type techNode struct {
	ln       net.Listener
	conns    atomic.Int64
	mu       sync.Mutex
	requests map[string]int
}

func (n *techNode) count(path string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.requests[path]
}

func techCert(t *testing.T) tls.Certificate {
	t.Helper()
	techPKIOnce.Do(func() {
		var err error
		if techCA, err = pki.NewCA("piv technical evidence test CA"); err != nil {
			panic(err)
		}
		if techLeaf, err = techCA.Issue([]string{"evidence.test"}, time.Now().Add(-time.Hour), time.Now().AddDate(0, 0, 90)); err != nil {
			panic(err)
		}
	})
	return techLeaf.TLSCertificate()
}

// serveNode serves h over TLS (HTTP/1.1 and h2, as net/http does).
func serveNode(t *testing.T, h http.Handler) *techNode {
	t.Helper()
	n := &techNode{requests: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.21:0")
	if err != nil {
		t.Fatal(err)
	}
	n.ln = ln
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n.mu.Lock()
			n.requests[r.URL.Path]++
			n.mu.Unlock()
			h.ServeHTTP(w, r)
		}),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{techCert(t)}},
		ErrorLog:  log.New(io.Discard, "", 0),
		ConnState: func(c net.Conn, s http.ConnState) {
			if s == http.StateNew {
				n.conns.Add(1)
			}
		},
	}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close() })
	return n
}

// silentNode completes every TLS handshake and never answers HTTP.
func silentNode(t *testing.T) *techNode {
	t.Helper()
	n := &techNode{requests: map[string]int{}}
	ln, err := net.Listen("tcp", "127.0.0.21:0")
	if err != nil {
		t.Fatal(err)
	}
	n.ln = ln
	cfg := &tls.Config{Certificates: []tls.Certificate{techCert(t)}}
	var open sync.WaitGroup
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close(); open.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.conns.Add(1)
			open.Add(1)
			go func() {
				defer open.Done()
				defer c.Close()
				tc := tls.Server(c, cfg)
				if tc.Handshake() != nil {
					return
				}
				go func() { <-done; c.Close() }()
				io.Copy(io.Discard, tc) // the request is read, never answered
			}()
		}
	}()
	return n
}

// evidenceApp writes the definition of app "evidence" with one node, n, and
// its CA; samples is technical.latency.samples.
func evidenceApp(t *testing.T, n *techNode, samples int) string {
	t.Helper()
	techCert(t)
	dir := t.TempDir()
	port := n.ln.Addr().(*net.TCPAddr).Port
	y := fmt.Sprintf(`app: evidence
service:
  url: https://evidence.test:%d
  ca: ca.pem
  address: %s
nodes:
  - name: node-1
    address: %s
technical:
  health:
    path: /health
    json: { status: UP }
  version:
    path: /version
  tls: { minDaysValid: 21 }
  latency: { path: /health, samples: %d, p95: 5s }
`, port, n.ln.Addr().String(), n.ln.Addr().String(), samples)
	if err := os.WriteFile(filepath.Join(dir, "evidence.yaml"), []byte(y), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), techCA.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runTechGate(t *testing.T, dir string) runOut {
	t.Helper()
	return pivRun(t, nil, nil, "run", "evidence", "--node", "node-1", "--config", dir, "--label-filter", "technical")
}

func checkNamed(t *testing.T, g *gate.Result, prefix string) gate.Check {
	t.Helper()
	if g == nil {
		t.Fatal("no gate.json")
	}
	for _, c := range g.Checks {
		if strings.HasPrefix(c.Name, prefix) {
			return c
		}
	}
	t.Fatalf("no check named %q…", prefix)
	return gate.Check{}
}

// mux answers /version well and /health with health.
func mux(health http.HandlerFunc) http.Handler {
	m := http.NewServeMux()
	m.HandleFunc("/version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"version":"2.4.1"}`)
	})
	m.HandleFunc("/health", health)
	return m
}

func wantFailed(t *testing.T, r runOut, prefix string, wants ...string) {
	t.Helper()
	c := checkNamed(t, r.gate, prefix)
	if c.State != gate.Failed || c.Failure == nil {
		t.Fatalf("%s: state %s, want failed\n%s", c.Name, c.State, r.explain())
	}
	for _, w := range wants {
		if !strings.Contains(c.Failure.Message, w) {
			t.Errorf("%s: failure lacks %q:\n%s", c.Name, w, c.Failure.Message)
		}
	}
}

// Class 2: a 200 HTML maintenance page that embeds {"status":"UP"} is not a
// healthy answer, for health and for latency.
func TestTechnicalHTMLMaintenancePageFails(t *testing.T) {
	n := serveNode(t, mux(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<html><h1>Back soon</h1><script>window.health = {"status":"UP"}</script></html>`)
	}))
	r := runTechGate(t, evidenceApp(t, n, 5))
	wantExit(t, r, 1)
	if r.gate.Verdict != gate.Fail {
		t.Fatalf("verdict %s", r.gate.Verdict)
	}
	wantFailed(t, r, "technical health /health", "expected a JSON body, got Content-Type text/html", "seen: status 200", "Back soon")
	wantFailed(t, r, "technical latency", "0 of 5 samples taken before one failed", "Content-Type text/html")
}

// Class 2: a truncated JSON body (valid HTTP, the document cut) fails.
func TestTechnicalTruncatedJSONFails(t *testing.T) {
	n := serveNode(t, mux(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"UP","checks":{"db":"UP"`)
	}))
	r := runTechGate(t, evidenceApp(t, n, 5))
	wantExit(t, r, 1)
	wantFailed(t, r, "technical health /health", "not valid JSON", `{"status":"UP","checks":{"db":"UP"`)
	wantFailed(t, r, "technical latency", "not valid JSON")
}

// Class 2: a never-ending body fails with its size, not judged on its start;
// the latency check does not pass on it either.
func TestTechnicalNeverEndingBodyFails(t *testing.T) {
	n := serveNode(t, mux(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"UP","pad":"`)
		chunk := []byte(strings.Repeat("x", 8192))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	r := runTechGate(t, evidenceApp(t, n, 20))
	wantExit(t, r, 1)
	wantFailed(t, r, "technical health /health", "body exceeds 262144 bytes", "Content-Type application/json")
	wantFailed(t, r, "technical latency", "body exceeds 262144 bytes")
	// health + the first latency sample, then sampling stopped.
	if got := n.count("/health"); got > 2 {
		t.Errorf("/health was asked %d times, want at most 2", got)
	}
}

// Class 3: headers then a byte a second fails at the probe's deadline, well
// inside --timeout (exit 1, not 3), and latency stops after one sample.
func TestTechnicalSlowDripFailsPromptly(t *testing.T) {
	t.Parallel()
	n := serveNode(t, mux(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				if _, err := w.Write([]byte(" ")); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		}
	}))
	r := runTechGate(t, evidenceApp(t, n, 20))
	wantExit(t, r, 1)
	if r.gate.Verdict != gate.Fail {
		t.Fatalf("verdict %s: %s", r.gate.Verdict, r.gate.Reason)
	}
	wantFailed(t, r, "technical health /health", "body incomplete after", "timed out after")
	wantFailed(t, r, "technical latency", "0 of 20 samples taken before one failed", "the remaining 19 were not sent")
	if got := n.count("/health"); got > 2 {
		t.Errorf("/health was asked %d times, want at most 2 (health + one latency sample)", got)
	}
}

// Class 3: a node that completes TLS and never answers HTTP costs one
// exchange deadline per probe, not one per latency sample.
func TestTechnicalSilentNodeIsBounded(t *testing.T) {
	t.Parallel()
	n := silentNode(t)
	r := runTechGate(t, evidenceApp(t, n, 20))
	wantExit(t, r, 1)
	if r.gate.Verdict != gate.Fail {
		t.Fatalf("verdict %s: %s", r.gate.Verdict, r.gate.Reason)
	}
	wantFailed(t, r, "technical health /health", "no answer: timed out after")
	wantFailed(t, r, "technical latency", "the remaining 19 were not sent")
	// port + TLS handshake + the handshake capped below the minimum TLS
	// version + health + version + one latency sample.
	if got := n.conns.Load(); got > 6 {
		t.Errorf("the node saw %d connections, want at most 6", got)
	}
}

// Class 10: every technical check records what it saw, also on pass, and
// its own probe's duration.
func TestTechnicalPassIsEvidence(t *testing.T) {
	n := serveNode(t, app.NewHandler(app.Options{Node: "node-1", Version: "2.4.1"}))
	dir := evidenceApp(t, n, 5)
	r := runTechGate(t, dir)
	wantExit(t, r, 0)
	want := map[string][]string{
		"technical port":                         {"address", "connected", "probeSeconds"},
		"technical tls certificate is trusted":   {"subject", "issuer", "notAfter", "daysLeft", "tlsVersion", "verified", "probeSeconds"},
		"technical tls certificate is valid for": {"notAfter", "daysLeft"},
		"technical tls protocol":                 {"tlsVersion"},
		"technical health /health":               {"status", "contentType", "json", "bodyBytes", "probeSeconds"},
		"technical version reports":              {"version", "status", "contentType", "probeSeconds"},
		"technical latency":                      {"p95Seconds", "samples", "requested", "p95BudgetSeconds", "probeSeconds"},
	}
	for prefix, keys := range want {
		c := checkNamed(t, r.gate, prefix)
		if c.State != gate.Passed {
			t.Errorf("%s: %s", c.Name, c.State)
		}
		for _, k := range keys {
			if _, ok := c.Observed[k]; !ok {
				t.Errorf("%s: observed lacks %q: %v", c.Name, k, c.Observed)
			}
		}
		if secs, _ := c.Observed["probeSeconds"].(float64); c.DurationSeconds != secs || secs <= 0 {
			t.Errorf("%s: durationSeconds %v, probeSeconds %v: want the probe's own, > 0", c.Name, c.DurationSeconds, c.Observed["probeSeconds"])
		}
	}
	h := checkNamed(t, r.gate, "technical health /health").Observed
	if h["status"] != float64(200) || !strings.HasPrefix(fmt.Sprint(h["contentType"]), "application/json") {
		t.Errorf("health observed %v", h)
	}
	if js, _ := h["json"].(map[string]any); js["status"] != "UP" {
		t.Errorf("health observed json %v", h["json"])
	}
	tl := checkNamed(t, r.gate, "technical tls certificate is trusted").Observed
	if tl["tlsVersion"] != "1.3" || !strings.Contains(fmt.Sprint(tl["issuer"]), "piv technical evidence test CA") {
		t.Errorf("tls observed %v", tl)
	}
	if d, _ := tl["daysLeft"].(float64); d < 89 || d > 90 {
		t.Errorf("daysLeft %v, want about 90", tl["daysLeft"])
	}
	if v := checkNamed(t, r.gate, "technical version").Observed["version"]; v != "2.4.1" {
		t.Errorf("version observed %v", v)
	}
	l := checkNamed(t, r.gate, "technical latency").Observed
	if l["samples"] != float64(5) || l["requested"] != float64(5) {
		t.Errorf("latency observed %v", l)
	}

	// The service gate's pool checks record what each node answered.
	r = pivRun(t, nil, nil, "run", "evidence", "--service", "--config", dir, "--label-filter", "technical")
	wantExit(t, r, 0)
	if v, _ := checkNamed(t, r.gate, "technical version is the same on every node").Observed["versions"].(map[string]any); v["node-1"] != "2.4.1" {
		t.Errorf("versions per node: %v", v)
	}
	nodes, _ := checkNamed(t, r.gate, "technical health every node").Observed["nodes"].(map[string]any)
	if n1, _ := nodes["node-1"].(map[string]any); n1["status"] != float64(200) {
		t.Errorf("health per node: %v", nodes)
	}
	tlsNodes, _ := checkNamed(t, r.gate, "technical tls every node").Observed["nodes"].(map[string]any)
	if n1, _ := tlsNodes["node-1"].(map[string]any); n1["subject"] != "CN=evidence.test" {
		t.Errorf("tls per node: %v", tlsNodes)
	}
}

// Issue 9 item 7: piv validate reports every problem of a file in one run,
// each with file:line.
func TestValidateReportsEveryProblemInOnePass(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "six.yaml")
	os.WriteFile(f, []byte(`app: six
service:
  url: https://six.test:99999
  bogus: 1
nodes:
  - {name: "", address: 127.0.0.2}
technical:
  health: {path: /health, status: 0}
  version: {path: /version, json: " "}
  latency: {p95: 90}
settle: {timeout: -5s}
suites: ["", no-such-suite]
`), 0o644)
	r := pivRun(t, nil, nil, "validate", f)
	wantExit(t, r, 2)
	for _, w := range []string{
		f + `:3: service.url: "https://six.test:99999": port 99999 is not a TCP port`,
		f + `:4: unknown key "bogus" in service`,
		f + `:6: nodes[0].name: empty value`,
		f + `:8: technical.health.status: 0 is not an HTTP status`,
		f + `:9: technical.version.json: blank value " "`,
		f + `:10: bad duration "90"`,
		f + `:11: duration "-5s" is negative`,
		f + `:12: suites[0]: empty value`,
		f + `:12: suites[1]: no suite "no-such-suite" is compiled into this binary`,
	} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("stdout lacks %s\n%s", w, r.stdout)
		}
	}
}

// piv.Observe redacts secrets from values, nested values and keys, and a
// value that cannot be serialised becomes a note, not a broken gate.json.
func TestObserveRedactsSecrets(t *testing.T) {
	const value = "observe-s3cret-value"
	n := serveNode(t, app.NewHandler(app.Options{Node: "node-1"}))
	dir := evidenceApp(t, n, 1)
	f := filepath.Join(dir, "evidence.yaml")
	y, _ := os.ReadFile(f)
	os.WriteFile(f, append(y, "suites: [observetest]\n"...), 0o644)
	r := pivRun(t, nil, []string{"PIV_OBSERVE_SECRET=" + value}, "run", "evidence", "--node", "node-1", "--config", dir, "--label-filter", "functional")
	wantExit(t, r, 0)
	o := checkNamed(t, r.gate, "observetest observations").Observed
	if o["plain"] != "seen" || o["token"] != "[REDACTED]" || !strings.Contains(fmt.Sprint(o["unserialisable"]), "not serialisable") {
		t.Errorf("observed %v", o)
	}
	if nested, _ := o["nested"].(map[string]any); nested["header"] != "Bearer [REDACTED]" {
		t.Errorf("nested %v", o["nested"])
	}
	if strings.Contains(r.stdout+r.stderr, value) {
		t.Fatalf("secret printed:\n%s", r.explain())
	}
	filepath.Walk(r.out, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), value) {
				t.Errorf("secret written to %s", p)
			}
		}
		return nil
	})
}
