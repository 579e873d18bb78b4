package verify

import (
	"crypto/tls"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/target"
)

// healthy serves a passing health and version answer on ln (TLS when
// withTLS), as another server on the node's host would.
func healthy(t *testing.T, ln net.Listener, withTLS bool) {
	t.Helper()
	srv := &http.Server{ErrorLog: log.New(io.Discard, "", 0), Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"UP","version":"2.4.1"}`)
	})}
	if withTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}}
		go func() { _ = srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { _ = srv.Serve(ln) }()
	}
	t.Cleanup(func() { srv.Close() })
}

// offOrigin is a node whose every path redirects to the same path on
// another port of its host, where a healthy server answers.
func offOrigin(t *testing.T, scheme string) (target.Target, string) {
	t.Helper()
	other, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(other.Addr().String())
	base := scheme + "://quote.test:" + port
	tg := serve(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, base+r.URL.Path, http.StatusFound)
	})
	healthy(t, other, scheme == "https")
	return tg, base
}

func TestRedirectOffTheTargetFailsWithTheLocation(t *testing.T) {
	for _, scheme := range []string{"https", "http"} {
		t.Run(scheme, func(t *testing.T) {
			tg, base := offOrigin(t, scheme)
			err := Health(get(t, tg, "/health"), health, tg)
			if err == nil || !strings.Contains(err.Error(), "redirected to "+base+"/health") {
				t.Errorf("health: %v", err)
			}
			v := &config.Version{Path: "/version", JSON: "version"}
			got, err := Version(get(t, tg, "/version"), v, "2.4.1", tg)
			if err == nil || got != "" || !strings.Contains(err.Error(), "redirected to "+base+"/version") {
				t.Errorf("version: got %q, %v", got, err)
			}
		})
	}
}

func TestRedirectOnTheTargetIsJudgedWhereItLanded(t *testing.T) {
	tg := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			http.Redirect(w, r, "/health/live", http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"DOWN"}`)
	})
	err := Health(get(t, tg, "/health"), health, tg)
	if err == nil || !strings.Contains(err.Error(), "seen: status 200 from "+tg.URLFor("/health/live")+" (after 1 redirects)") {
		t.Errorf("%v", err)
	}
}
