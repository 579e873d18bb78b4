package cli

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"image/png"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/internal/pki"
	"github.com/piv-gate/piv/pkg/gate"
)

// secretsValue has characters that every web encoding changes: HTML (& < >
// "), URLs (space, /, +, &) and JSON (<, >, &, ").
const secretsValue = `Tr0ub4dor&3 "x"/y+z<1>`

// secretForms are the encodings of v a web stack produces, by name.
func secretForms(v string) map[string]string {
	js, _ := json.Marshal(v)
	return map[string]string{
		"literal":        v,
		"HTML-escaped":   html.EscapeString(v),
		"&quot;-escaped": strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(v),
		"URL query":      url.QueryEscape(v),
		"URL path":       url.PathEscape(v),
		"JSON-escaped":   strings.Trim(string(js), `"`),
		"base64 std":     base64.StdEncoding.EncodeToString([]byte(v)),
		"base64 URL":     base64.URLEncoding.EncodeToString([]byte(v)),
		"base64 raw":     base64.RawStdEncoding.EncodeToString([]byte(v)),
		"basic auth":     base64.StdEncoding.EncodeToString([]byte("qa-user:" + v)),
	}
}

// secretsEchoApp is a careless app: its login page shows the password it
// was given in a text field (a password field rendered as type=text), in
// the error message, in a retry link and in a data attribute, all in red
// so a screenshot can be searched for it by colour.
func secretsEchoApp() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"UP"}`)
	})
	mux.HandleFunc("GET /version", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"version":"2.4.1"}`)
	})
	mux.HandleFunc("GET /echo", func(w http.ResponseWriter, r *http.Request) {
		pw := r.URL.Query().Get("pw")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html><head><title>sign in</title>
<style>body{background:#fff;margin:20px;font:32px sans-serif} .s{color:#f00}</style></head><body>
<input id="password" type="text" class="s" style="font-size:32px;width:1000px;border:0" value="%s">
<div id="error" class="s">Wrong password: %s</div>
<p><a href="/retry?pw=%s">try again</a> <span data-token="%s">token</span></p>
<script>%s</script>
</body></html>`, html.EscapeString(pw), html.EscapeString(pw), url.QueryEscape(pw), base64.StdEncoding.EncodeToString([]byte(pw)),
			r.URL.Query().Get("js"))
	})
	return mux
}

// secretsApp serves secretsEchoApp over TLS for quote.test on 127.0.0.6
// and writes an app definition for the selftest-secrets suite.
func secretsApp(t *testing.T, settings string) string {
	t.Helper()
	return secretsAppFor(t, "selftest-secrets", settings)
}

// secretsAppFor is secretsApp for another suite.
func secretsAppFor(t *testing.T, suite, settings string) string {
	t.Helper()
	ca, err := pki.NewCA("piv secrets test CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue([]string{"quote.test"}, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.6:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.6: %v", err)
	}
	srv := &http.Server{Handler: secretsEchoApp(), TLSConfig: &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}},
		ErrorLog: log.New(io.Discard, "", 0), ReadHeaderTimeout: 5 * time.Second}
	go srv.ServeTLS(ln, "", "")
	t.Cleanup(func() { srv.Close() })
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	def := fmt.Sprintf(`app: secrets
service:
  url: https://quote.test:%s
  ca: ca.pem
nodes:
  - name: app-01
    address: %s
technical:
  ports: [%s]
  health: { path: /health, status: 200, json: { status: UP } }
  version: { path: /version, json: version }
suites: [%s]
%s`, port, ln.Addr(), port, suite, settings)
	if err := os.WriteFile(filepath.Join(dir, "secrets.yaml"), []byte(def), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Issue 8 class 7: a secret that a suite puts in a failure message, a By
// step, page HTML, a page URL's query, GinkgoWriter (in two writes), a
// response body and a screenshot appears in no byte piv produces — stdout,
// stderr, every file under --out — in any of the forms a web stack gives
// it, and the screenshot shows none of the red the page draws it in.
func TestSecretsLeakInNoFormAndNoMedium(t *testing.T) {
	dir := secretsApp(t, "")
	// A $TMPDIR of its own (short: Chromium's socket paths are bounded),
	// to see that the run, browser included, leaves nothing in it.
	tmp, err := os.MkdirTemp("/tmp", "pvs")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	r := pivRun(t, nil, []string{"PIV_SELFTEST_SECRETS_VALUE=" + secretsValue, "TMPDIR=" + tmp},
		"run", "secrets", "--node", "app-01", "--label-filter", "functional", "--config", dir)
	wantExit(t, r, 1)
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("the run left %v in $TMPDIR", names)
	}
	if r.gate == nil || r.gate.Verdict != gate.Fail {
		t.Fatalf("gate: %+v\n%s", r.gate, r.explain())
	}

	media := map[string][]byte{"stdout": []byte(r.stdout), "stderr": []byte(r.stderr)}
	err = filepath.Walk(r.out, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			b, rerr := os.ReadFile(p)
			if rerr != nil {
				return rerr
			}
			media[strings.TrimPrefix(p, r.out+"/")] = b
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if keep := os.Getenv("PIV_TEST_KEEP"); keep != "" { // to look at the evidence
		for name, b := range media {
			os.MkdirAll(filepath.Dir(filepath.Join(keep, name)), 0o755)
			os.WriteFile(filepath.Join(keep, name), b, 0o644)
		}
	}
	for medium, b := range media {
		for form, enc := range secretForms(secretsValue) {
			if bytes.Contains(b, []byte(enc)) {
				t.Errorf("%s holds the secret %s (%q)", medium, form, enc)
			}
		}
	}

	// The evidence is there, redacted: not dropped to be safe.
	var shot, pageHTML []byte
	for name, b := range media {
		switch {
		case strings.HasSuffix(name, "screenshot.png"):
			shot = b
		case strings.HasSuffix(name, "page.html"):
			pageHTML = b
		}
	}
	if pageHTML == nil || !bytes.Contains(pageHTML, []byte("Wrong password: ")) || !bytes.Contains(pageHTML, []byte("[REDACTED]")) {
		t.Errorf("page.html missing or not the echo page with the secret redacted:\n%s", pageHTML)
	}
	if shot == nil {
		t.Fatalf("no screenshot attached (files: %v)", keys(media))
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot.png: %v", err)
	}
	red := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 > 180 && g>>8 < 90 && b>>8 < 90 {
				red++
			}
		}
	}
	if red != 0 {
		t.Errorf("the screenshot shows %d red pixels: the secret's text was not masked", red)
	}
	for _, want := range []string{"[REDACTED]"} {
		if !strings.Contains(r.stdout, want) || !strings.Contains(r.stderr, want) {
			t.Errorf("stdout and stderr should both show the failure redacted (%q)", want)
		}
	}
}

// A page that puts the secret back as soon as it is masked gets no
// screenshot: a note says why in its place, and nothing leaks.
func TestSecretsScreenshotWithheldWhenUnmaskable(t *testing.T) {
	dir := secretsApp(t, "settings: { secrets: withheld }\n")
	r := pivRun(t, nil, []string{"PIV_SELFTEST_SECRETS_VALUE=" + secretsValue},
		"run", "secrets", "--node", "app-01", "--label-filter", "functional", "--config", dir)
	wantExit(t, r, 1)
	var note []byte
	filepath.Walk(r.out, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, _ := os.ReadFile(p)
		for form, enc := range secretForms(secretsValue) {
			if bytes.Contains(b, []byte(enc)) {
				t.Errorf("%s holds the secret %s", p, form)
			}
		}
		switch {
		case strings.HasSuffix(p, ".png"):
			t.Errorf("a screenshot was kept: %s", p)
		case strings.HasSuffix(p, "screenshot-withheld.txt"):
			note = b
		}
		return nil
	})
	if !bytes.Contains(note, []byte("screenshot withheld")) || !bytes.Contains(note, []byte("div#error")) {
		t.Errorf("withheld note should say so and where: %q", note)
	}
	if !strings.Contains(r.stdout, "screenshot-withheld.txt") {
		t.Errorf("the note is not listed with the failure:\n%s", r.stdout)
	}
}

// A secret the environment lacks is a configuration error (exit 2) naming
// the variable and saying to export it, not a failed gate (which would
// roll back a good deployment).
func TestSecretMissingIsAConfigError(t *testing.T) {
	dir := secretsApp(t, "settings: { secrets: missing }\n")
	r := pivRun(t, nil, nil, "run", "secrets", "--node", "app-01", "--label-filter", "functional", "--config", dir)
	wantExit(t, r, 2)
	if r.gate == nil || !strings.Contains(r.gate.Reason, "PIV_SELFTEST_SECRETS_UNSET") || !strings.Contains(r.gate.Reason, "export") {
		t.Fatalf("gate.json reason should name the variable and say to export it: %+v", r.gate)
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
