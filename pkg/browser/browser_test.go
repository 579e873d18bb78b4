package browser

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"image/png"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
	"github.com/piv-gate/piv/internal/pki"
	"github.com/piv-gate/piv/pkg/target"
)

const (
	serviceURL = "https://quote.test:8443"
	runID      = "run-browser-test"
	testBound  = 90 * time.Second // whole-test bound, not a timing assertion
)

// node serves the demo app over TLS on ip:0 with a certificate for hosts
// issued by ca, and returns its address.
func node(tb testing.TB, ip, name string, ca *pki.CA, hosts ...string) string {
	tb.Helper()
	leaf, err := ca.Issue(hosts, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(app.NewHandler(app.Options{Node: name, Password: "s3cr3t-Pa55"}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}}
	srv.EnableHTTP2 = true
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes the browser refuses are expected here
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return ln.Addr().String()
}

func newCA(tb testing.TB, name string) *pki.CA {
	tb.Helper()
	ca, err := pki.NewCA(name)
	if err != nil {
		tb.Fatal(err)
	}
	return ca
}

func pinned(tb testing.TB, name, addr string, ca *pki.CA) target.Target {
	tb.Helper()
	u, err := url.Parse(serviceURL)
	if err != nil {
		tb.Fatal(err)
	}
	return target.Target{Scope: target.ScopeNode, Name: name, URL: u, Address: addr, RootCAs: ca.Pool(),
		Headers: http.Header{"X-PIV-Run": {runID}}}
}

func launch(tb testing.TB, opt Options) *Browser {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	b, err := Launch(ctx, opt)
	if err != nil {
		tb.Fatalf("Launch: %v", err)
	}
	tb.Cleanup(func() {
		if err := b.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return b
}

func openPage(tb testing.TB, ctx context.Context, b *Browser, t target.Target, caPEM []byte) *rod.Page {
	tb.Helper()
	p, done, err := b.Page(ctx, t, caPEM)
	if err != nil {
		tb.Fatalf("Page(%s): %v", t.Where(), err)
	}
	tb.Cleanup(done)
	return p
}

// quoteJourney opens the quote page, asks for a quote and returns the
// premium and the serving node's name as the page shows them.
func quoteJourney(p *rod.Page, base string) (premium, servedBy string, err error) {
	if err := Navigate(context.Background(), p, base+"/"); err != nil {
		return "", "", err
	}
	p = p.Timeout(ElementTimeout)
	if err := p.MustElement("#product").Select([]string{"Motor"}, true, rod.SelectorTypeText); err != nil {
		return "", "", err
	}
	age, err := p.Element("#driverAge")
	if err != nil {
		return "", "", err
	}
	if err := age.Input("35"); err != nil {
		return "", "", err
	}
	btn, err := p.Element("#get-quote")
	if err != nil {
		return "", "", err
	}
	if err := btn.Click("left", 1); err != nil {
		return "", "", err
	}
	prem, err := p.Element("#premium")
	if err != nil {
		return "", "", err
	}
	if premium, err = prem.Text(); err != nil {
		return "", "", err
	}
	nodeEl, err := p.Element("#node")
	if err != nil {
		return "", "", err
	}
	servedBy, err = nodeEl.Text()
	return premium, servedBy, err
}

type whoami struct {
	Node, Host, SNI, PIVRun string
}

func readWhoami(tb testing.TB, p *rod.Page, base string) whoami {
	tb.Helper()
	if err := Navigate(context.Background(), p, base+"/whoami"); err != nil {
		tb.Fatalf("whoami: %v", err)
	}
	res, err := p.Timeout(ElementTimeout).Eval(`() => document.body.innerText`)
	if err != nil {
		tb.Fatal(err)
	}
	var w whoami
	if err := json.Unmarshal([]byte(res.Value.Str()), &w); err != nil {
		tb.Fatalf("whoami body %q: %v", res.Value.Str(), err)
	}
	return w
}

func TestPinnedJourneyTwoNodesOneBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	ca := newCA(t, "quote test CA")
	addr2 := node(t, "127.0.0.2", "app-01", ca, "quote.test")
	addr3 := node(t, "127.0.0.3", "app-02", ca, "quote.test")
	b := launch(t, Options{CAs: [][]byte{ca.CertPEM}})

	for _, tc := range []struct{ name, addr string }{{"app-02", addr3}, {"app-01", addr2}} {
		t.Run(tc.name, func(t *testing.T) {
			tg := pinned(t, tc.name, tc.addr, ca)
			p := openPage(t, ctx, b, tg, ca.CertPEM)
			premium, servedBy, err := quoteJourney(p, tg.URLFor(""))
			if err != nil {
				t.Fatalf("quote journey on %s: %v", tg.Where(), err)
			}
			if premium != "412.50 GBP" {
				t.Errorf("premium = %q, want 412.50 GBP", premium)
			}
			if servedBy != tc.name {
				t.Errorf("page served by %q, want %q (pinned to %s)", servedBy, tc.name, tc.addr)
			}
			info, err := p.Info()
			if err != nil {
				t.Fatal(err)
			}
			if u, _ := url.Parse(info.URL); u == nil || u.Host != "quote.test:8443" {
				t.Errorf("address bar shows %q, want the service host quote.test:8443", info.URL)
			}
			w := readWhoami(t, p, tg.URLFor(""))
			want := whoami{Node: tc.name, Host: "quote.test:8443", SNI: "quote.test", PIVRun: runID}
			if w != want {
				t.Errorf("whoami = %+v, want %+v", w, want)
			}
		})
	}
}

func TestPinnedPageRefusesOtherHosts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	ca := newCA(t, "quote test CA")
	addr := node(t, "127.0.0.2", "app-01", ca, "quote.test", "elsewhere.test")
	b := launch(t, Options{CAs: [][]byte{ca.CertPEM}})
	p := openPage(t, ctx, b, pinned(t, "app-01", addr, ca), ca.CertPEM)
	// Same node could answer for elsewhere.test, but a pinned page must not
	// reach any host but the service's.
	err := Navigate(context.Background(), p, "https://elsewhere.test:8443/whoami")
	var nav *rod.NavigationError
	if !errors.As(err, &nav) || !strings.Contains(nav.Reason, "TUNNEL") {
		t.Fatalf("navigating off-service: err = %v, want a tunnel failure", err)
	}
}

func TestCertificatesAreVerifiedAgainstTheAppCA(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	ca := newCA(t, "quote test CA")
	stranger := newCA(t, "unknown CA")
	good := node(t, "127.0.0.2", "good", ca, "quote.test")
	wrongHost := node(t, "127.0.0.3", "wrong-host", ca, "other.test")
	unknownCA := node(t, "127.0.0.4", "unknown-ca", stranger, "quote.test")
	b := launch(t, Options{CAs: [][]byte{ca.CertPEM}})

	for _, tc := range []struct {
		name, addr, reason string
	}{
		{"wrong host name", wrongHost, "net::ERR_CERT_COMMON_NAME_INVALID"},
		{"unknown CA", unknownCA, "net::ERR_CERT_AUTHORITY_INVALID"},
		{"trusted", good, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := pinned(t, tc.name, tc.addr, ca)
			p := openPage(t, ctx, b, tg, ca.CertPEM)
			err := Navigate(context.Background(), p, tg.URLFor("/whoami"))
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("trusted node: %v", err)
				}
				if w := readWhoami(t, p, tg.URLFor("")); w.Node != "good" {
					t.Fatalf("whoami = %+v", w)
				}
				return
			}
			var nav *rod.NavigationError
			if !errors.As(err, &nav) || nav.Reason != tc.reason {
				t.Fatalf("err = %v, want navigation error %s", err, tc.reason)
			}
			if !IsCertificateError(err) {
				t.Errorf("IsCertificateError(%v) = false", err)
			}
		})
	}
}

// TestTrustComesFromTheGivenCA is the control for the test above: a node
// whose CA was given to nobody fails, and Page refuses a CA that was not
// trusted at launch instead of pretending.
func TestTrustComesFromTheGivenCA(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	ca := newCA(t, "CA given to nobody")
	addr := node(t, "127.0.0.2", "app-01", ca, "quote.test")
	b := launch(t, Options{})

	p := openPage(t, ctx, b, pinned(t, "app-01", addr, ca), nil)
	if err := Navigate(ctx, p, serviceURL+"/"); !IsCertificateError(err) || !strings.Contains(err.Error(), "ERR_CERT_AUTHORITY_INVALID") {
		t.Fatalf("node with a CA nobody trusts: err = %v, want ERR_CERT_AUTHORITY_INVALID", err)
	}
	_, _, err := b.Page(ctx, pinned(t, "app-01", addr, ca), ca.CertPEM)
	if err == nil || !strings.Contains(err.Error(), "Options.CAs") {
		t.Fatalf("Page with a CA not trusted at launch: err = %v, want a hint to pass it in Options.CAs", err)
	}
	if _, _, err := b.Page(ctx, pinned(t, "app-01", addr, ca), []byte("not PEM")); err == nil {
		t.Errorf("Page with a malformed CA succeeded")
	}
}

func TestNoBrowserNeverDownloads(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CACHE_HOME", "")
	t.Setenv(EnvBrowser, "")
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()

	t.Run("explicit binary missing", func(t *testing.T) {
		_, err := Launch(ctx, Options{Bin: "/nonexistent"})
		if !errors.Is(err, ErrNoBrowser) {
			t.Fatalf("err = %v, want ErrNoBrowser", err)
		}
		for _, want := range []string{"/nonexistent", "apt-get install -y chromium", EnvBrowser, "--browser-url"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
	t.Run("nothing on PATH", func(t *testing.T) {
		t.Setenv("PATH", "")
		saved := defaultPaths
		defaultPaths = []string{filepath.Join(home, "no-chromium-here")}
		defer func() { defaultPaths = saved }()
		_, err := Launch(ctx, Options{})
		if !errors.Is(err, ErrNoBrowser) {
			t.Fatalf("err = %v, want ErrNoBrowser", err)
		}
		for _, want := range []string{"chromium", "google-chrome", "apt-get install -y chromium", EnvBrowser, "--browser-url"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
	t.Run("PIV_BROWSER missing", func(t *testing.T) {
		t.Setenv(EnvBrowser, filepath.Join(home, "nope"))
		if _, err := Launch(ctx, Options{}); !errors.Is(err, ErrNoBrowser) || !strings.Contains(err.Error(), EnvBrowser) {
			t.Fatalf("err = %v, want ErrNoBrowser naming %s", err, EnvBrowser)
		}
	})
	t.Run("remote URL unreachable", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if _, err := Launch(ctx, Options{RemoteURL: "http://" + addr}); !errors.Is(err, ErrNoBrowser) {
			t.Fatalf("err = %v, want ErrNoBrowser", err)
		}
	})
	if _, err := os.Stat(filepath.Join(home, ".cache", "rod")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("~/.cache/rod exists (err=%v): something tried to download a browser", err)
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("HOME is not empty after failed launches: %v", entries)
	}
}

func TestRemoteBrowser(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	ca := newCA(t, "quote test CA")
	addr := node(t, "127.0.0.2", "app-01", ca, "quote.test")
	local := launch(t, Options{CAs: [][]byte{ca.CertPEM}})
	u, err := url.Parse(local.wsURL)
	if err != nil {
		t.Fatal(err)
	}
	remote := launch(t, Options{RemoteURL: "http://" + u.Host})
	p := openPage(t, ctx, remote, pinned(t, "app-01", addr, ca), ca.CertPEM)
	if w := readWhoami(t, p, serviceURL); w.Node != "app-01" || w.SNI != "quote.test" {
		t.Fatalf("whoami through remote browser = %+v", w)
	}
	if err := remote.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing a remote browser leaves it running.
	if _, err := local.rod.Version(); err != nil {
		t.Fatalf("local browser gone after closing the remote connection to it: %v", err)
	}
}

func TestCaptureMasksSecrets(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	const secret = "s3cr3t-Pa55"
	ca := newCA(t, "quote test CA")
	addr := node(t, "127.0.0.2", "app-01", ca, "quote.test")
	b := launch(t, Options{CAs: [][]byte{ca.CertPEM}})
	tg := pinned(t, "app-01", addr, ca)
	p := openPage(t, ctx, b, tg, ca.CertPEM)
	if err := Navigate(context.Background(), p, tg.URLFor("/login")); err != nil {
		t.Fatal(err)
	}
	pe := p.Timeout(ElementTimeout)
	pe.MustElement("#username").MustInput("qa-user")
	pe.MustElement("#password").MustInput(secret)
	// A value attribute (server-rendered or set by script) is serialized; it
	// must be scrubbed too.
	pe.MustElement("#username").MustEval(`function () { this.setAttribute("data-note", "visible"); }`)
	pe.MustEval(`(s) => { const i = document.createElement("input"); i.type = "password"; i.id = "pw2"; i.setAttribute("value", s); document.body.appendChild(i); }`, secret)

	shot, html, err := Capture(ctx, p, []string{"#username"})
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if img.Bounds().Dx() != WindowWidth {
		t.Errorf("screenshot width %d, want %d", img.Bounds().Dx(), WindowWidth)
	}
	if bytes.Contains(html, []byte(secret)) {
		t.Errorf("captured HTML contains the secret:\n%s", html)
	}
	if bytes.Contains(html, []byte("qa-user")) {
		t.Errorf("captured HTML contains the masked field's value")
	}
	for _, want := range []string{`id="password"`, `id="pw2"`, `data-note="visible"`, "Sign in"} {
		if !bytes.Contains(html, []byte(want)) {
			t.Errorf("captured HTML lacks %s", want)
		}
	}
	if bytes.Contains(html, []byte("data-piv-mask")) {
		t.Errorf("captured HTML contains piv's mask boxes")
	}
	// The page is put back: the journey can go on and sign in.
	if v := pe.MustElement("#password").MustProperty("value").Str(); v != secret {
		t.Errorf("password field after Capture = %q, want it restored", v)
	}
	if n := pe.MustEval(`() => document.querySelectorAll("[data-piv-mask]").length`).Int(); n != 0 {
		t.Errorf("%d mask boxes left on the page", n)
	}
	pe.MustElement("#login").MustClick()
	if got := pe.MustElement("#welcome").MustText(); got != "Welcome, qa-user" {
		t.Errorf("welcome = %q", got)
	}
}

// TestCaptureScreenshotIsMasked checks pixels: with the password field's box
// covered, the screenshot area of the field is black.
func TestCaptureScreenshotIsMasked(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	ca := newCA(t, "quote test CA")
	addr := node(t, "127.0.0.2", "app-01", ca, "quote.test")
	b := launch(t, Options{CAs: [][]byte{ca.CertPEM}})
	tg := pinned(t, "app-01", addr, ca)
	p := openPage(t, ctx, b, tg, ca.CertPEM)
	if err := Navigate(context.Background(), p, tg.URLFor("/login")); err != nil {
		t.Fatal(err)
	}
	el := p.Timeout(ElementTimeout).MustElement("#password")
	el.MustInput("hunter2hunter2")
	box := el.MustShape().Box()
	shot, _, err := Capture(ctx, p, nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	for x := int(box.X) + 2; x < int(box.X+box.Width)-2; x += 3 {
		for y := int(box.Y) + 2; y < int(box.Y+box.Height)-2; y += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r|g|bl != 0 {
				t.Fatalf("pixel (%d,%d) inside the password field is not black: %v", x, y, img.At(x, y))
			}
		}
	}
}

func TestCloseLeavesNothingBehind(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	ca := newCA(t, "quote test CA")
	addr := node(t, "127.0.0.2", "app-01", ca, "quote.test")
	b, err := Launch(ctx, Options{CAs: [][]byte{ca.CertPEM}})
	if err != nil {
		t.Fatal(err)
	}
	dir := b.UserDataDir()
	p, done, err := b.Page(ctx, pinned(t, "app-01", addr, ca), ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if err := Navigate(context.Background(), p, serviceURL+"/"); err != nil { // renderers and helpers exist now
		t.Fatal(err)
	}
	if n := processesMentioning(dir); len(n) == 0 {
		t.Fatalf("no process found with %s in its command line before Close: the check below would prove nothing", dir)
	}
	done()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if left := processesMentioning(dir); len(left) != 0 {
		t.Errorf("processes left after Close: %v", left)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s still there after Close (err=%v)", dir, err)
	}
	if _, _, err := b.Page(ctx, pinned(t, "app-01", addr, ca), ca.CertPEM); err == nil {
		t.Errorf("Page after Close succeeded")
	}
}

// processesMentioning lists "pid: cmdline" of live (non-zombie) processes
// whose command line contains s.
func processesMentioning(s string) []string {
	var out []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte(s)) {
			continue
		}
		if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil {
			if f := strings.Fields(string(st[bytes.LastIndexByte(st, ')')+1:])); len(f) > 0 && f[0] == "Z" {
				continue
			}
		}
		out = append(out, e.Name()+": "+strings.ReplaceAll(string(cmd), "\x00", " "))
	}
	return out
}

// TestPlainHTTPIsPinnedToo: a service on http:// goes through the same proxy
// (absolute-form requests rather than CONNECT), pinned, headers intact.
func TestPlainHTTPIsPinnedToo(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(app.NewHandler(app.Options{Node: "plain-02"}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	defer srv.Close()
	u, _ := url.Parse("http://quote.test:8080")
	tg := target.Target{Scope: target.ScopeNode, Name: "plain-02", URL: u, Address: ln.Addr().String(),
		Headers: http.Header{"X-PIV-Run": {runID}}}
	b := launch(t, Options{})
	p := openPage(t, ctx, b, tg, nil)
	w := readWhoami(t, p, tg.URLFor(""))
	if want := (whoami{Node: "plain-02", Host: "quote.test:8080", PIVRun: runID}); w != want {
		t.Fatalf("whoami = %+v, want %+v", w, want)
	}
	// The proxy answers 502 itself; the node never sees the request.
	if err := Navigate(ctx, p, "http://elsewhere.test:8080/whoami"); err != nil {
		t.Fatal(err)
	}
	txt := p.Timeout(ElementTimeout).MustEval(`() => document.body.innerText`).Str()
	if !strings.Contains(txt, "refusing connection to other host elsewhere.test:8080") || strings.Contains(txt, `"node"`) {
		t.Fatalf("off-service plain HTTP request: page says %q, want the proxy's refusal", txt)
	}
}
