package probe

import (
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/target"
)

// Misbehaving servers: each is a real TLS server on 127.0.0.2 with the
// shared quote.test certificate.

func serveHandler(t *testing.T, h http.HandlerFunc) target.Target {
	t.Helper()
	ln := listen(t, "127.0.0.2", 0)
	_, lf := testPKI(t)
	serveTLS(t, ln, h, tlsConfig(lf.TLSCertificate()))
	return pinned(t, ln.Addr().String())
}

// serveHTTP1 is serveHandler without HTTP/2, for handlers that hijack the
// connection to write a malformed response.
func serveHTTP1(t *testing.T, h http.HandlerFunc) target.Target {
	t.Helper()
	ln := listen(t, "127.0.0.2", 0)
	_, lf := testPKI(t)
	srv := &http.Server{Handler: h, TLSConfig: tlsConfig(lf.TLSCertificate()),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close() })
	return pinned(t, ln.Addr().String())
}

// neverEnding writes a JSON-looking body that never ends.
func neverEnding(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"status":"UP","pad":"`)
	chunk := []byte(strings.Repeat("x", 4096))
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// slowDrip sends its headers, then one byte per tick, forever.
func slowDrip(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(200)
	w.(http.Flusher).Flush()
	tick := time.NewTicker(50 * time.Millisecond)
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
}

// shortBody promises 100 bytes and closes the connection after 30.
func shortBody(w http.ResponseWriter, r *http.Request) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	io.WriteString(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n")
	io.WriteString(buf, `{"status":"UP","checks":{"db":`)
	buf.Flush()
}

func TestHTTPNeverEndingBodyStopsAtTheBound(t *testing.T) {
	tg := serveHandler(t, neverEnding)
	f := HTTP(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"))
	if !f.Truncated || f.Complete || len(f.Body) != MaxBody || f.Status != 200 {
		t.Fatalf("truncated %v complete %v len %d status %d err %q", f.Truncated, f.Complete, len(f.Body), f.Status, f.Err)
	}
	if got, want := f.Incomplete(), "body exceeds 262144 bytes"; got != want {
		t.Fatalf("Incomplete() = %q, want %q", got, want)
	}
}

func TestHTTPShortBodyIsIncomplete(t *testing.T) {
	tg := serveHTTP1(t, shortBody)
	f := HTTP(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"))
	if f.Complete || f.Status != 200 || f.BodyErr != "connection closed by server" {
		t.Fatalf("complete %v status %d bodyErr %q err %q", f.Complete, f.Status, f.BodyErr, f.Err)
	}
	if got, want := f.Incomplete(), "body incomplete after 30 bytes: connection closed by server"; got != want {
		t.Fatalf("Incomplete() = %q, want %q", got, want)
	}
}

// The exchange deadline covers the body: headers then a byte at a time
// ends as a timed-out body read, whatever the caller's own deadline.
func TestHTTPSlowDripEndsAtTheExchangeDeadline(t *testing.T) {
	tg := serveHandler(t, slowDrip)
	f := HTTPWithin(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"), 300*time.Millisecond)
	if f.Complete || f.Status != 200 || !strings.HasPrefix(f.BodyErr, "timed out after ") {
		t.Fatalf("complete %v status %d bodyErr %q err %q", f.Complete, f.Status, f.BodyErr, f.Err)
	}
	if !strings.HasPrefix(f.Incomplete(), "body incomplete after ") {
		t.Fatalf("Incomplete() = %q", f.Incomplete())
	}
}

func TestHTTPCompleteBody(t *testing.T) {
	tg := serveHandler(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"UP"}`)
	})
	f := HTTP(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"))
	if !f.Complete || f.Incomplete() != "" || f.ContentType != "application/json" || string(f.Body) != `{"status":"UP"}` {
		t.Fatalf("%+v", f)
	}
	o := f.Observed("status", "missing")
	if o["status"] != 200 || o["contentType"] != "application/json" || o["bodyBytes"] != 15 {
		t.Fatalf("observed %v", o)
	}
	if js := o["json"].(map[string]any); js["status"] != "UP" || js["missing"] != nil {
		t.Fatalf("observed json %v", js)
	}
}

// silentTLS completes TLS handshakes and never answers HTTP; it counts the
// connections it accepted.
func silentTLS(t *testing.T, ln net.Listener) *atomic.Int64 {
	t.Helper()
	_, lf := testPKI(t)
	cfg := tlsConfig(lf.TLSCertificate())
	var n atomic.Int64
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			go func() {
				defer c.Close()
				tc := tls.Server(c, cfg)
				if tc.Handshake() != nil {
					return
				}
				io.Copy(io.Discard, tc) // read the request, answer nothing
			}()
		}
	}()
	return &n
}

// A node that completes TLS but never answers costs one exchange deadline,
// not one per sample: sampling stops at the first failure and says why.
func TestLatencyStopsAtTheFirstFailedSample(t *testing.T) {
	ln := listen(t, "127.0.0.2", 0)
	conns := silentTLS(t, ln)
	tg := pinned(t, ln.Addr().String())
	f := Latency(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"), 20, Timeouts{Exchange: 200 * time.Millisecond}, nil)
	if len(f.Samples) != 0 || f.Errors != 1 || !strings.Contains(f.FirstErr, "timed out") {
		t.Fatalf("%+v", f)
	}
	if f.Stopped != "sample 1 of 20 failed, so the remaining 19 were not sent" {
		t.Fatalf("Stopped = %q", f.Stopped)
	}
	if got := conns.Load(); got != 1 {
		t.Fatalf("server saw %d connections, want 1", got)
	}
}

// A rejected answer stops sampling too; accepted ones count.
func TestLatencyAcceptJudgesEachSample(t *testing.T) {
	var served atomic.Int64
	tg := serveHandler(t, func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1) == 3 {
			w.WriteHeader(503)
		}
	})
	accept := func(h HTTPFact) string {
		if h.Status != 200 {
			return "status " + http.StatusText(h.Status)
		}
		return ""
	}
	f := Latency(t.Context(), tg.HTTPClient(nil), tg.URLFor("/"), 10, Timeouts{}, accept)
	if len(f.Samples) != 2 || f.Errors != 1 || f.FirstErr != "status Service Unavailable" || served.Load() != 3 {
		t.Fatalf("%+v (served %d)", f, served.Load())
	}
}

// Gathering against a silent node with samples: 20 stays bounded in
// requests: one connection per probe, the latency probe's first sample
// included, and no more.
func TestGatherSilentNodeIsBounded(t *testing.T) {
	ca, _ := testPKI(t)
	ln := listen(t, "127.0.0.2", 0)
	conns := silentTLS(t, ln)
	tg := pinned(t, ln.Addr().String())
	port := ln.Addr().(*net.TCPAddr).Port
	a := &config.App{App: "quote", ServiceURL: tg.URL, RootCAs: ca.Pool(), Technical: config.Technical{
		Ports:   []int{port},
		Health:  &config.Health{Path: "/health", Status: 200},
		Version: &config.Version{Path: "/version", JSON: "version"},
		Latency: &config.Latency{Path: "/health", Samples: 20},
	}}
	facts := Gather(t.Context(), a, []target.Target{tg}, Options{Latency: true, Timeouts: Timeouts{Exchange: 200 * time.Millisecond}})
	tf := facts.Targets[tg.Name]
	if !strings.Contains(tf.Health.Incomplete(), "timed out") || !strings.Contains(tf.Version.Incomplete(), "timed out") {
		t.Fatalf("health %+v version %+v", tf.Health, tf.Version)
	}
	if tf.Latency.Errors != 1 || len(tf.Latency.Samples) != 0 || tf.Latency.Stopped == "" {
		t.Fatalf("latency %+v", tf.Latency)
	}
	// port + TLS + health + version + one latency sample
	if got := conns.Load(); got > 5 {
		t.Fatalf("server saw %d connections, want at most 5", got)
	}
}
