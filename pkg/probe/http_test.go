package probe

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
)

func TestHTTPStatusBodyJSON(t *testing.T) {
	ln := listen(t, "127.0.0.2", 0)
	quoteNode(t, ln, app.Options{Node: "app-01", Version: "2.4.1"})
	tg := pinned(t, ln.Addr().String())
	client := tg.HTTPClient(nil)

	f := HTTP(t.Context(), client, tg.URLFor("/version"))
	if f.Err != "" || f.Status != 200 || f.ServedBy != "app-01" {
		t.Fatalf("got %+v", f)
	}
	if v := f.JSON("version").String(); v != "2.4.1" {
		t.Errorf(`JSON("version") = %q`, v)
	}
	if f.JSON("no.such").Exists() {
		t.Error("missing path exists")
	}
	if f.Header.Get("Content-Type") != "application/json" || f.Truncated {
		t.Errorf("header %v truncated %v", f.Header, f.Truncated)
	}

	down := HTTP(t.Context(), client, tg.URLFor("/nope"))
	if down.Status != 404 || down.Err != "" {
		t.Errorf("a 404 is a fact, not an error: %+v", down)
	}
}

func TestHTTPBodyIsCapped(t *testing.T) {
	ln := listen(t, "127.0.0.2", 0)
	big := bytes.Repeat([]byte("x"), MaxBody+10)
	_, lf := testPKI(t)
	serveTLS(t, ln, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(big) }), tlsConfig(lf.TLSCertificate()))
	tg := pinned(t, ln.Addr().String())
	f := HTTP(t.Context(), tg.HTTPClient(nil), tg.URLFor("/"))
	if f.Err != "" || len(f.Body) != MaxBody || !f.Truncated {
		t.Fatalf("len %d truncated %v err %q", len(f.Body), f.Truncated, f.Err)
	}
}

// TestHTTPPinning: two nodes share the service identity; a target pinned to
// 127.0.0.3 reaches that node alone, with the service host name in Host and
// SNI.
func TestHTTPPinning(t *testing.T) {
	lns := listenAll(t, "127.0.0.2", "127.0.0.3")
	quoteNode(t, lns[0], app.Options{Node: "node-2"})
	quoteNode(t, lns[1], app.Options{Node: "node-3"})
	tg := pinned(t, lns[1].Addr().String())
	client := tg.HTTPClient(nil)
	for range 3 {
		f := HTTP(t.Context(), client, tg.URLFor("/whoami"))
		if f.Err != "" || f.Status != 200 {
			t.Fatalf("got %+v", f)
		}
		if f.ServedBy != "node-3" || f.JSON("node").String() != "node-3" {
			t.Errorf("served by %q / %q, want node-3", f.ServedBy, f.JSON("node"))
		}
		if h := f.JSON("host").String(); h != tg.URL.Host || !strings.HasPrefix(h, "quote.test:") {
			t.Errorf("Host = %q, want %q", h, tg.URL.Host)
		}
		if sni := f.JSON("sni").String(); sni != host {
			t.Errorf("SNI = %q", sni)
		}
	}
}

func TestHTTPRefused(t *testing.T) {
	ln := listen(t, "127.0.0.2", 0)
	addr := ln.Addr().String()
	ln.Close()
	tg := pinned(t, addr)
	f := HTTP(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"))
	if f.Status != 0 || f.Err != "connection refused" {
		t.Fatalf("got %+v", f)
	}
}

func TestHTTPWrongCertificateReason(t *testing.T) {
	ca, _ := testPKI(t)
	other, err := ca.Issue([]string{"other.test"}, ca.Cert.NotBefore, ca.Cert.NotAfter)
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t, "127.0.0.2", 0)
	serveTLS(t, ln, http.NotFoundHandler(), tlsConfig(other.TLSCertificate()))
	tg := pinned(t, ln.Addr().String())
	f := HTTP(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"))
	if f.Err != "certificate is for other.test, not quote.test" {
		t.Fatalf("Err = %q", f.Err)
	}
}
