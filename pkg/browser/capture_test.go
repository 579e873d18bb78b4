package browser

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"image"
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

	"github.com/piv-gate/piv/internal/pki"
	"github.com/piv-gate/piv/pkg/secret"
)

// captureSecret has characters HTML, URLs and JSON all escape.
const captureSecret = `Pa55&<w0rd>"q`

// echoPage is what a careless login page does with a wrong password: shows
// it in a text field (a password field rendered as type=text), echoes it in
// the error message, in a retry link, split over two elements, and in a
// data attribute as base64. Everything that shows it is red, so the
// screenshot can be searched for it by colour.
func echoPage(w http.ResponseWriter, r *http.Request) {
	pw := r.URL.Query().Get("pw")
	half := len(pw) / 2
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>login</title>
<style>body{background:#fff;margin:20px;font:40px sans-serif} .s{color:#f00}</style></head><body>
<form><input id="pw" type="text" class="s" style="font-size:40px;width:900px;border:0" value="%s"></form>
<div id="err" class="s">Wrong password: %s</div>
<p id="split" class="s"><b>%s</b>%s</p>
<p><a href="/retry?pw=%s">retry</a></p>
<span id="tok" data-token="%s">token</span>
<textarea id="note" class="s" style="font-size:40px;border:0"></textarea>
<script>%s</script>
</body></html>`, html.EscapeString(pw), html.EscapeString(pw), html.EscapeString(pw[:half]), html.EscapeString(pw[half:]),
		url.QueryEscape(pw), base64.StdEncoding.EncodeToString([]byte(pw)), r.URL.Query().Get("js"))
}

func echoServer(tb testing.TB, ca *pki.CA) string {
	tb.Helper()
	leaf, err := ca.Issue([]string{"quote.test"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(echoPage))
	srv.Listener.Close()
	srv.Listener = ln
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	tb.Cleanup(srv.Close)
	return ln.Addr().String()
}

// redPixels counts clearly red pixels (the secret's text colour).
func redPixels(tb testing.TB, shot []byte) int {
	tb.Helper()
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		tb.Fatalf("not a PNG: %v", err)
	}
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if isRed(img, x, y) {
				n++
			}
		}
	}
	return n
}

func isRed(img image.Image, x, y int) bool {
	r, g, bl, _ := img.At(x, y).RGBA()
	return r>>8 > 180 && g>>8 < 90 && bl>>8 < 90
}

// domNow is everything the page holds that a screenshot could show: the
// serialized DOM and every form field's current value.
func domNow(tb testing.TB, p *rod.Page) []byte {
	tb.Helper()
	h, err := p.HTML()
	if err != nil {
		tb.Fatal(err)
	}
	vals := p.MustEval(`() => Array.from(document.querySelectorAll("input, textarea, select")).map((e) => e.value).join("\n")`).Str()
	return []byte(h + "\n" + vals)
}

func openEcho(t *testing.T, js string) (*rod.Page, context.Context) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	t.Cleanup(cancel)
	secret.Register(captureSecret)
	ca := newCA(t, "capture test CA")
	addr := echoServer(t, ca)
	b := launch(t, Options{CAs: [][]byte{ca.CertPEM}})
	tg := pinned(t, "app-01", addr, ca)
	p := openPage(t, ctx, b, tg, ca.CertPEM)
	q := url.Values{"pw": {captureSecret}, "js": {js}}
	if err := Navigate(ctx, p, tg.URLFor("/login?"+q.Encode())); err != nil {
		t.Fatal(err)
	}
	// Typed as well as server-rendered: a value property, not an attribute.
	p.Timeout(ElementTimeout).MustElement("#note").MustInput(captureSecret)
	return p, ctx
}

// No screenshot shows a secret: a password in a type=text field, an error
// message echoing it, a split text, a link and a data attribute are all
// masked; the DOM at the moment of the screenshot holds the secret in no
// form; the picture has none of the red the secret is drawn in (while a
// plain screenshot of the same page has plenty); and the page is put back.
func TestCaptureMasksEverySecretOnThePage(t *testing.T) {
	p, ctx := openEcho(t, "")
	plain, err := p.Screenshot(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := redPixels(t, plain); n < 500 {
		t.Fatalf("the unmasked page shows only %d red pixels: the test page does not show the secret", n)
	}

	var atShot []byte
	beforeScreenshot = func(p *rod.Page) { atShot = domNow(t, p) }
	defer func() { beforeScreenshot = nil }()
	shot, h, err := Capture(ctx, p, nil)
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if atShot == nil {
		t.Fatal("the screenshot hook did not run")
	}
	if secret.Contains(atShot) {
		t.Errorf("the DOM held the secret when the screenshot was taken:\n%s", atShot)
	}
	if n := redPixels(t, shot); n != 0 {
		if dir := os.Getenv("PIV_TEST_KEEP"); dir != "" {
			os.WriteFile(filepath.Join(dir, "masked.png"), shot, 0o644)
		}
		t.Errorf("%d red pixels in the masked screenshot: the secret's text shows", n)
	}
	if secret.Contains(shot) || bytes.Contains(shot, []byte(captureSecret)) {
		t.Errorf("the PNG bytes hold a form of the secret")
	}
	if secret.Contains(h) {
		t.Errorf("captured HTML holds the secret:\n%s", h)
	}
	for _, want := range []string{"Wrong password: ", `id="split"`, "retry", secret.Mask} {
		if !bytes.Contains(h, []byte(want)) {
			t.Errorf("captured HTML lacks %q", want)
		}
	}
	// Put back for the rest of the journey.
	pe := p.Timeout(ElementTimeout)
	if v := pe.MustElement("#pw").MustProperty("value").Str(); v != captureSecret {
		t.Errorf("#pw after Capture is %d bytes, not the secret: not restored", len(v))
	}
	if v := pe.MustElement("#err").MustText(); v != "Wrong password: "+captureSecret {
		t.Errorf("#err after Capture is not restored (%d bytes)", len(v))
	}
	if n := p.MustEval(`() => document.querySelectorAll("[data-piv-mask]").length`).Int(); n != 0 {
		t.Errorf("%d mask boxes left on the page", n)
	}
}

// A page that puts the secret back as soon as it is masked (a framework
// re-rendering) cannot be masked: the screenshot is withheld, with why, and
// the HTML comes back without the secret.
func TestCaptureWithholdsWhatItCannotMask(t *testing.T) {
	const restore = `const e = document.getElementById("err"); const t = e.textContent;
new MutationObserver(() => { if (e.textContent !== t) e.textContent = t; }).observe(e, {subtree: true, characterData: true, childList: true});`
	p, ctx := openEcho(t, restore)
	shot, h, err := Capture(ctx, p, nil)
	if !errors.Is(err, ErrScreenshotWithheld) {
		t.Fatalf("Capture error = %v, want ErrScreenshotWithheld", err)
	}
	if shot != nil {
		t.Errorf("a screenshot was returned with the withheld error")
	}
	if msg := err.Error(); secret.Contains([]byte(msg)) || !bytes.Contains([]byte(msg), []byte("div#err")) {
		t.Errorf("withheld reason should say where, never what: %q", msg)
	}
	if len(h) == 0 || secret.Contains(h) {
		t.Errorf("HTML with a withheld screenshot: %d bytes, secret present %v", len(h), secret.Contains(h))
	}
}

// Text in a closed shadow root is out of reach of any script, piv's
// included; the renderer's own snapshot still sees it, and the screenshot
// is withheld.
func TestCaptureWithholdsTextOutOfTheDOMsReach(t *testing.T) {
	js := `const h = document.createElement("div"); document.body.appendChild(h);
const s = document.createElement("p"); s.style.color = "red"; s.textContent = "shadow: " + atob("` + base64.StdEncoding.EncodeToString([]byte(captureSecret)) + `");
h.attachShadow({mode: "closed"}).appendChild(s);`
	p, ctx := openEcho(t, js)
	shot, _, err := Capture(ctx, p, nil)
	if !errors.Is(err, ErrScreenshotWithheld) || !strings.Contains(err.Error(), "out of the DOM's reach") {
		t.Fatalf("Capture error = %v, want the screenshot withheld for text out of the DOM's reach", err)
	}
	if shot != nil {
		t.Errorf("a screenshot was returned with the withheld error")
	}
}
