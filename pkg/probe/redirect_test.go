package probe

import (
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
)

// A node's /health that redirects elsewhere on the same host must not be
// judged by what the other port answers: that is another server (an old
// instance, a plain-HTTP side port), not the pinned target.

// redirecting serves, on a node, a /health that redirects to location(the
// other listener's port) and passes every other path to the demo app.
func redirecting(t *testing.T, location func(port int) string) (node, other net.Listener) {
	t.Helper()
	node = listen(t, "127.0.0.2", 0)
	other = listen(t, "127.0.0.2", 0)
	port := other.Addr().(*net.TCPAddr).Port
	_, lf := testPKI(t)
	demo := app.NewHandler(app.Options{Node: "app-01"})
	serveTLS(t, node, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/health" {
			http.Redirect(w, r, location(port), http.StatusFound)
			return
		}
		demo.ServeHTTP(w, r)
	}), tlsConfig(lf.TLSCertificate()))
	return node, other
}

func TestRedirectToAnotherPortIsNotFollowed(t *testing.T) {
	node, other := redirecting(t, func(port int) string { return "https://" + host + ":" + strconv.Itoa(port) + "/health" })
	quoteNode(t, other, app.Options{Node: "impostor"}) // a healthy answer, on the wrong port
	tg := pinned(t, node.Addr().String())
	f := HTTP(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"))
	want := "https://" + host + ":" + strconv.Itoa(other.Addr().(*net.TCPAddr).Port) + "/health"
	if f.Status != http.StatusFound || f.ServedBy == "impostor" || f.Redirect != want || f.FinalURL != "" {
		t.Fatalf("followed or not recorded: status %d servedBy %q redirect %q final %q", f.Status, f.ServedBy, f.Redirect, f.FinalURL)
	}
	why := f.Incomplete()
	if !strings.Contains(why, "redirected to "+want) || !strings.Contains(why, "not followed") {
		t.Errorf("Incomplete() = %q", why)
	}
	if got := f.Observed()["redirectNotFollowed"]; got != want {
		t.Errorf("observed redirectNotFollowed = %v", got)
	}
}

func TestRedirectToPlainHTTPIsNotFollowed(t *testing.T) {
	node, other := redirecting(t, func(port int) string { return "http://" + host + ":" + strconv.Itoa(port) + "/health" })
	srv := &http.Server{Handler: app.NewHandler(app.Options{Node: "plain"})}
	go func() { _ = srv.Serve(other) }()
	t.Cleanup(func() { srv.Close() })
	tg := pinned(t, node.Addr().String())
	f := HTTP(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"))
	if f.Status != http.StatusFound || f.ServedBy == "plain" || !strings.HasPrefix(f.Redirect, "http://"+host+":") {
		t.Fatalf("followed or not recorded: status %d servedBy %q redirect %q", f.Status, f.ServedBy, f.Redirect)
	}
	if f.Incomplete() == "" {
		t.Error("a redirect not followed is judged as an answer")
	}
}

func TestRedirectOnTheSameOriginIsFollowedAndRecorded(t *testing.T) {
	node, other := redirecting(t, func(int) string { return "/whoami" })
	other.Close()
	tg := pinned(t, node.Addr().String())
	f := HTTP(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"))
	if f.Status != 200 || f.ServedBy != "app-01" || f.Redirect != "" {
		t.Fatalf("got status %d servedBy %q redirect %q err %q", f.Status, f.ServedBy, f.Redirect, f.Err)
	}
	if f.URL != tg.URLFor("/health") || f.FinalURL != tg.URLFor("/whoami") {
		t.Errorf("url %q final %q", f.URL, f.FinalURL)
	}
	obs := f.Observed()
	if obs["url"] != tg.URLFor("/health") || obs["finalUrl"] != tg.URLFor("/whoami") || obs["redirects"] != 1 {
		t.Errorf("observed %v", obs)
	}
	if f.Incomplete() != "" {
		t.Errorf("Incomplete() = %q", f.Incomplete())
	}
}
