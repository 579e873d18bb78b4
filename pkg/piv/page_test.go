package piv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onsi/gomega"

	"github.com/piv-gate/piv/pkg/browser"
	"github.com/piv-gate/piv/pkg/target"
)

// Real Chromium, a page server on 127.0.0.3 and a pinned target: the page
// matchers and actions as a suite uses them (without Ginkgo: Match and the
// failure texts are called directly).

const pageTestBound = 120 * time.Second // whole-test bound, not a timing assertion

// pageServer serves the pages these tests need. Delays are random, drawn
// by the server per request, so each run of a page is a different race.
func pageServer(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	page := func(w http.ResponseWriter, body string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "<!doctype html><html><head><meta charset=utf-8><title>t</title></head><body>%s</body></html>", body)
	}
	// The answer appears after a placeholder: the element is present and
	// empty, then says "Loading…", then the answer after 0–300 ms.
	mux.HandleFunc("/placeholder", func(w http.ResponseWriter, r *http.Request) {
		page(w, fmt.Sprintf(`<div id="answer"></div><script>
setTimeout(() => { document.getElementById("answer").textContent = "Loading…"; }, %d);
setTimeout(() => { document.getElementById("answer").textContent = "412.50 GBP"; }, %d);
</script>`, rand.IntN(20), 20+rand.IntN(300)))
	})
	mux.HandleFunc("/offsite", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<a id="away" href="https://elsewhere.test/">elsewhere</a>`)
	})
	mux.HandleFunc("/empty", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<div id="answer"></div>`)
	})
	// A click that navigates: a link and a form, to a page the server
	// answers after 0–100 ms, whose heading is asserted.
	mux.HandleFunc("/start", func(w http.ResponseWriter, r *http.Request) {
		page(w, `<a id="next" href="/next?from=link">Next</a>
<form action="/next" method="get"><input type="hidden" name="from" value="form"><button id="submit" type="submit">Go</button></form>`)
	})
	mux.HandleFunc("/next", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(rand.IntN(100)) * time.Millisecond) // the server's own latency
		page(w, fmt.Sprintf(`<h1 id="title">Quote 42 via %s</h1><input id="age" value="35">`, r.URL.Query().Get("from")))
	})
	ln, err := net.Listen("tcp", "127.0.0.3:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

var (
	sharedOnce    sync.Once
	sharedBrowser *browser.Browser
	sharedErr     error
)

// testPage is a pinned page on the page server, named like a node gate's.
func testPage(t *testing.T) (*Page, string) {
	t.Helper()
	addr := pageServer(t)
	sharedOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), pageTestBound)
		defer cancel()
		sharedBrowser, sharedErr = browser.Launch(ctx, browser.Options{})
	})
	if sharedErr != nil {
		t.Fatalf("Launch: %v", sharedErr)
	}
	u, _ := url.Parse("http://quote.test:8080")
	tg := target.Target{Scope: target.ScopeNode, Name: "app-02", URL: u, Address: addr}
	ctx, cancel := context.WithTimeout(context.Background(), pageTestBound)
	t.Cleanup(cancel)
	rp, done, err := sharedBrowser.Page(ctx, tg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(done)
	return &Page{Page: rp, Target: tg, Release: done}, addr
}

func TestMain(m *testing.M) {
	code := m.Run()
	if sharedBrowser != nil {
		_ = sharedBrowser.Close()
	}
	os.Exit(code)
}

// noFail runs f, turning a spec failure (ginkgo.Fail panics outside a
// suite) into a test error.
func noFail(t *testing.T, what string, f func()) (ok bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s failed: %v", what, r)
			ok = false
		}
	}()
	f()
	return true
}

func TestHaveTextWaitsOutThePlaceholder30Times(t *testing.T) {
	p, _ := testPage(t)
	m := HaveText("#answer", gomega.MatchRegexp(`^\d+\.\d{2} GBP$`))
	failures := 0
	for i := range 30 {
		if !noFail(t, "open", func() { p.Open("/placeholder") }) {
			failures++
			continue
		}
		ok, err := m.Match(p)
		if err != nil || !ok {
			failures++
			t.Errorf("run %d: ok=%v err=%v\n%s", i, ok, err, m.FailureMessage(p))
		}
	}
	if failures != 0 {
		t.Fatalf("%d of 30 runs failed", failures)
	}
}

func TestClickThatNavigatesWaitsForTheNewPage30Times(t *testing.T) {
	p, _ := testPage(t)
	failures := 0
	for i := range 30 {
		via := []string{"link", "form"}[i%2]
		sel := map[string]string{"link": "#next", "form": "#submit"}[via]
		ok := noFail(t, "journey", func() {
			p.Open("/start")
			p.Click(sel)
			// Read at once, no retry: Click must have waited for the new page.
			s, err := browser.Look(context.Background(), p.Page, "#title")
			if err != nil || s.Text != "Quote 42 via "+via {
				t.Errorf("run %d: right after clicking %s: %q, %v", i, sel, s.Text, err)
				failures++
			}
			for _, m := range []interface {
				Match(any) (bool, error)
				FailureMessage(any) string
			}{
				HaveText("#title", "Quote 42 via "+via),
				HaveURL("/next?from=" + via),
				HaveValue("#age", "35"),
				BeVisible("#title"),
				HaveCount("h1", 1),
			} {
				if ok, err := m.Match(p); !ok || err != nil {
					t.Errorf("run %d: %v\n%s", i, err, m.FailureMessage(p))
					failures++
				}
			}
		})
		if !ok {
			failures++
		}
	}
	if failures != 0 {
		t.Fatalf("%d failures in 30 runs", failures)
	}
}

func TestPageFailureTexts(t *testing.T) {
	p, addr := testPage(t)
	p.Timeouts = PageTimeouts{Assert: 300 * time.Millisecond, Action: 300 * time.Millisecond}
	where := "node app-02 (" + addr + ")"
	check := func(m interface {
		Match(any) (bool, error)
		FailureMessage(any) string
	}, want string) {
		t.Helper()
		ok, err := m.Match(p)
		if ok || err != nil {
			t.Fatalf("Match = %v, %v; want a failure", ok, err)
		}
		if got := m.FailureMessage(p); got != want {
			t.Errorf("got:\n%s\nwant:\n%s", got, want)
		}
	}

	p.Open("/placeholder")
	check(HaveText("#total", "412.50 GBP"), `#total: text did not match within 300ms
page: http://quote.test:8080/placeholder on `+where+`
want: text "412.50 GBP"
last seen: no element matched`)

	p.Open("/empty")
	check(HaveText("#answer", gomega.MatchRegexp(`^\d+\.\d{2} GBP$`)), `#answer: text did not match within 300ms
page: http://quote.test:8080/empty on `+where+`
want: text to match regular expression
    <string>: ^\d+\.\d{2} GBP$
last seen: "" (element present, empty text)`)

	check(BeVisible("#answer"), `#answer: visibility did not match within 300ms
page: http://quote.test:8080/empty on `+where+`
want: visible
last seen: element present, not visible`)

	check(HaveValue("#answer", "35"), `#answer: value did not match within 300ms
page: http://quote.test:8080/empty on `+where+`
want: value "35"
last seen: element present, has no value (not an input, select or textarea)`)

	check(HaveCount("#answer", 2), `#answer: count did not match within 300ms
page: http://quote.test:8080/empty on `+where+`
want: 2 elements
last seen: 1 element`)

	check(HaveURL("/quote/42"), `page URL did not match within 300ms
page: http://quote.test:8080/empty on `+where+`
want: path "/quote/42"
last seen: "http://quote.test:8080/empty"`)

	// An action on a missing element names selector, URL and target.
	ctx, cancel := p.bound(p.timeouts().Action)
	err := browser.Click(ctx, p.Page, "#get-quote", time.Second)
	cancel()
	if got, want := actionFailure(p, "click", "#get-quote", err), `cannot click #get-quote within 300ms: no element matched
page: http://quote.test:8080/empty on `+where; got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	// A click whose navigation fails says where it went and why, in
	// Chromium's words, not DevTools'.
	p.Open("/offsite")
	ctx, cancel = p.bound(p.timeouts().Action)
	err = browser.Click(ctx, p.Page, "#away", 5*time.Second)
	cancel()
	if got, want := actionFailure(p, "click", "#away", err), `click #away: navigation to https://elsewhere.test/ failed: net::ERR_TUNNEL_CONNECTION_FAILED
page: https://elsewhere.test/ on `+where; got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	// Misuse is an error, not a failure.
	if _, err := HaveText("#a", 42).Match(p); err == nil || !strings.Contains(err.Error(), "expected a string or a Gomega matcher, got int") {
		t.Errorf("HaveText with an int: err = %v", err)
	}
	if _, err := HaveText("#a", "x").Match("not a page"); err == nil || err.Error() != "HaveText expects a *piv.Page (from piv.OpenPage), got string" {
		t.Errorf("HaveText on a string: err = %v", err)
	}
	if _, err := HaveText("#[", "x").Match(p); err == nil || !strings.Contains(err.Error(), "invalid selector") {
		t.Errorf("bad selector: err = %v", err)
	}
}
