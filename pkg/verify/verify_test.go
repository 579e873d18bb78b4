package verify

import (
	"crypto/tls"
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
	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/probe"
	"github.com/piv-gate/piv/pkg/target"
)

// The judgements are tested on facts gathered from real TLS servers on
// 127.0.0.2, so each case is an answer a real node can give.

var (
	pkiOnce sync.Once
	testCA  *pki.CA
	leaf    *pki.Leaf
)

func serve(t *testing.T, h http.HandlerFunc) target.Target {
	t.Helper()
	pkiOnce.Do(func() {
		var err error
		if testCA, err = pki.NewCA("verify test CA"); err != nil {
			panic(err)
		}
		if leaf, err = testCA.Issue([]string{"quote.test"}, time.Now().Add(-time.Hour), time.Now().AddDate(0, 0, 30)); err != nil {
			panic(err)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ErrorLog: log.New(io.Discard, "", 0),
		TLSConfig: &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	u, _ := url.Parse("https://quote.test:" + port)
	return target.Target{Scope: target.ScopeNode, Name: "app-01", URL: u, Address: ln.Addr().String(), RootCAs: testCA.Pool()}
}

func answer(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		io.WriteString(w, body)
	}
}

func get(t *testing.T, tg target.Target, path string) probe.HTTPFact {
	t.Helper()
	return probe.HTTP(t.Context(), tg.HTTPClient(nil), tg.URLFor(path))
}

var health = &config.Health{Path: "/health", Status: 200, JSON: config.Expectations{{Path: "status", Want: "UP"}}}

func TestHealthJudgesOnlyWholeJSONAnswers(t *testing.T) {
	maintenance := `<html><body><h1>Down for maintenance</h1><script>var s = {"status":"UP"};</script></body></html>`
	cases := []struct {
		name string
		h    http.HandlerFunc
		want []string // substrings of the failure; nil: passes
	}{
		{"json", answer("application/json", `{"status":"UP"}`), nil},
		{"json with charset", answer("application/json; charset=utf-8", `{"status":"UP"}`), nil},
		{"vendor json", answer("application/vnd.spring-boot.actuator.v3+json", `{"status":"UP"}`), nil},
		{"untyped json (Go sniffs text/plain)", answer("", `{"status":"UP"}`), nil},
		{"html page embedding the JSON", answer("text/html; charset=utf-8", maintenance),
			[]string{"expected a JSON body, got Content-Type text/html; charset=utf-8", "seen: status 200, Content-Type text/html; charset=utf-8", "Down for maintenance"}},
		{"truncated JSON", answer("application/json", `{"status":"UP","checks":{"db":"UP"`),
			[]string{"the body is not valid JSON", "seen: status 200, Content-Type application/json, 34 bytes", `body: {"status":"UP","checks":{"db":"UP"`}},
		{"JSON then HTML", answer("text/plain", `{"status":"UP"}<html>`), []string{"not valid JSON"}},
		{"empty body", answer("application/json", ""), []string{"expected a JSON body, got an empty body", "body: (empty)"}},
		{"never-ending body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"status":"UP","pad":"`)
			for r.Context().Err() == nil {
				if _, err := w.Write([]byte(strings.Repeat("x", 4096))); err != nil {
					return
				}
			}
		}, []string{"GET /health on node app-01", "body exceeds 262144 bytes", "more than 262144 bytes"}},
		{"wrong value", answer("application/json", `{"status":"DOWN"}`), []string{`expected status = "UP", got "DOWN"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := serve(t, c.h)
			err := Health(get(t, tg, "/health"), health, tg)
			if c.want == nil {
				if err != nil {
					t.Fatalf("want pass, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("passed")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("failure lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestVersionNeedsAWholeJSONAnswer(t *testing.T) {
	v := &config.Version{Path: "/version", JSON: "version"}
	tg := serve(t, answer("text/html", `<p>{"version":"2.4.1"}</p>`))
	if got, err := Version(get(t, tg, "/version"), v, "2.4.1", tg); err == nil || got != "" || !strings.Contains(err.Error(), "Content-Type text/html") {
		t.Fatalf("got %q, %v", got, err)
	}
	tg = serve(t, answer("application/json", `{"version":"2.4.1"`))
	if _, err := Version(get(t, tg, "/version"), v, "2.4.1", tg); err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("%v", err)
	}
	tg = serve(t, answer("application/json", `{"version":"2.4.1"}`))
	if got, err := Version(get(t, tg, "/version"), v, "2.4.1", tg); err != nil || got != "2.4.1" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestLatencyNeedsEverySampleHealthy(t *testing.T) {
	tech := config.Technical{Health: health, Latency: &config.Latency{Path: "/health", Samples: 5, P95: config.Duration(time.Minute)}}
	tg := serve(t, answer("text/html", `{"status":"UP"}`))
	accept := func(h probe.HTTPFact) string { return LatencyAnswer(h, tech, tg) }
	f := probe.Latency(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"), 5, probe.Timeouts{}, accept)
	err := Latency(f, tech.Latency, tg)
	if err == nil || !strings.Contains(err.Error(), "0 of 5 samples taken before one failed") || !strings.Contains(err.Error(), "Content-Type text/html") {
		t.Fatalf("%v", err)
	}

	tg = serve(t, answer("application/json", `{"status":"UP"}`))
	accept = func(h probe.HTTPFact) string { return LatencyAnswer(h, tech, tg) }
	f = probe.Latency(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"), 5, probe.Timeouts{}, accept)
	if err := Latency(f, tech.Latency, tg); err != nil {
		t.Fatalf("%v", err)
	}
	// Fewer samples than asked for is not a smaller sample.
	f.Samples, f.Stopped = f.Samples[:3], "cancelled after 3 of 5 samples"
	if err := Latency(f, tech.Latency, tg); err == nil || !strings.Contains(err.Error(), "only 3 of 5 samples taken: cancelled") {
		t.Fatalf("%v", err)
	}
}
