package browser

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/launcher"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
	"github.com/piv-gate/piv/pkg/target"
)

// BenchmarkJourney measures what a gate pays for browser journeys, whole
// browser lifetime included: launch, pinned page(s), open the quote page,
// choose, fill, click, wait for the premium, close — through piv's own page
// path (the primitives piv.Page and its matchers use). The first page of
// each target is prepared while the browser starts, as a gate does.
func BenchmarkJourney(b *testing.B) {
	ca := newCA(b, "quote bench CA")
	var targets []target.Target
	for i, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
		name := "app-0" + string(rune('1'+i))
		targets = append(targets, pinned(b, name, node(b, ip, name, ca, "quote.test"), ca))
	}
	// The service: through a "load balancer" address (here a fourth node).
	svc := pinned(b, "service", node(b, "127.0.0.5", "app-lb", ca, "quote.test"), ca)
	svc.Scope = target.ScopeService
	targets = append(targets, svc)

	run := func(b *testing.B, ts []target.Target) {
		for b.Loop() {
			ctx, cancel := context.WithTimeout(context.Background(), testBound)
			var prep []PrepareTarget
			for _, t := range ts {
				prep = append(prep, PrepareTarget{Target: t, CAPEM: ca.CertPEM})
			}
			br, err := Launch(ctx, Options{CAs: [][]byte{ca.CertPEM}, Prepare: prep})
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			errs := make(chan error, len(ts))
			for _, t := range ts {
				wg.Go(func() {
					p, done, err := br.Page(ctx, t, ca.CertPEM)
					if err != nil {
						errs <- err
						return
					}
					defer done()
					if _, err := pivJourney(ctx, p, t.URLFor("")); err != nil {
						errs <- fmt.Errorf("%s: %w", t.Where(), err)
					}
				})
			}
			wg.Wait()
			close(errs)
			cerr := br.Close()
			cancel()
			for err := range errs {
				b.Fatal(err)
			}
			if cerr != nil {
				b.Fatal(cerr)
			}
		}
	}
	b.Run("targets=1", func(b *testing.B) { run(b, targets[:1]) })
	b.Run("targets=4", func(b *testing.B) { run(b, targets) })
}

var premiumRE = regexp.MustCompile(`^\d+\.\d{2} GBP$`)

// pivJourney is the quote journey as piv.Page does it: actions that wait for
// actionability, then a web-first wait for the premium's text.
func pivJourney(ctx context.Context, p *rod.Page, base string) (string, error) {
	const actionTimeout = 10 * time.Second
	if err := Navigate(ctx, p, base+"/"); err != nil {
		return "", err
	}
	actx, cancel := context.WithTimeout(ctx, actionTimeout)
	defer cancel()
	if err := SelectOption(actx, p, "#product", "Motor"); err != nil {
		return "", err
	}
	if err := Fill(actx, p, "#driverAge", "35"); err != nil {
		return "", err
	}
	if err := Click(actx, p, "#get-quote", PageLoadTimeout); err != nil {
		return "", err
	}
	s, err := WaitState(actx, p, "#premium", func(s State) bool { return premiumRE.MatchString(s.Text) })
	if err != nil {
		return "", fmt.Errorf("#premium: %w (last seen %s)", err, s.Seen())
	}
	if s.Text != "412.50 GBP" {
		return "", fmt.Errorf("premium %q, want 412.50 GBP", s.Text)
	}
	return s.Text, nil
}

// plainNode serves the demo app over plain HTTP on ip:0 (the B1 is
// "a quote page like the demo's over plain HTTP").
func plainNode(tb testing.TB, ip, name string) string {
	tb.Helper()
	ln, err := net.Listen("tcp", ip+":0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(app.NewHandler(app.Options{Node: name}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	tb.Cleanup(srv.Close)
	return ln.Addr().String()
}

// BenchmarkB1 is the B1 in-process: the quote page journey on one
// target, from nothing to a closed browser, side by side in the same run:
//
//   - floor: a bare go-rod program (go-rod's own launcher with its default
//     flags, MustPage, MustElement…MustSelect/MustInput/MustClick,
//     MustElement("#premium").MustText(), MustClose) straight to the node;
//   - piv: Launch with the target prepared, a pinned page through the
//     per-target proxy (service host name kept), piv's actions and a
//     web-first wait for the premium, Close.
//
// Each iteration runs both, in alternating order, so the machine's noise
// (two cores shared with other work) falls on both alike. Reported:
// floor-ms, piv-ms and ratio = piv/floor (the target: ≤ 1.0).
func BenchmarkB1(b *testing.B) {
	bin, err := FindBin("")
	if err != nil {
		b.Fatal(err)
	}
	addr := plainNode(b, "127.0.0.2", "app-01")
	u, _ := url.Parse("http://quote.test:8080")
	tg := target.Target{Scope: target.ScopeNode, Name: "app-01", URL: u, Address: addr,
		Headers: http.Header{"X-PIV-Run": {runID}}}
	floorRun := func() error { return bareRodJourney(bin, "http://"+addr+"/") }
	pivRun := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), testBound)
		defer cancel()
		br, err := Launch(ctx, Options{Bin: bin, Prepare: []PrepareTarget{{Target: tg}}})
		if err != nil {
			return err
		}
		p, done, err := br.Page(ctx, tg, nil)
		if err == nil {
			_, err = pivJourney(ctx, p, tg.URLFor(""))
			done()
		}
		return errors.Join(err, br.Close())
	}
	var floor, piv time.Duration
	i := 0
	for b.Loop() {
		runs := []*time.Duration{&floor, &piv}
		fns := []func() error{floorRun, pivRun}
		if i%2 == 1 {
			runs[0], runs[1], fns[0], fns[1] = runs[1], runs[0], fns[1], fns[0]
		}
		for k := range fns {
			t0 := time.Now()
			if err := fns[k](); err != nil {
				b.Fatal(err)
			}
			*runs[k] += time.Since(t0)
		}
		i++
	}
	n := float64(b.N)
	b.ReportMetric(floor.Seconds()/n*1000, "floor-ms")
	b.ReportMetric(piv.Seconds()/n*1000, "piv-ms")
	b.ReportMetric(float64(piv)/float64(floor), "ratio")
}

// bareRodJourney is what a QA engineer writes with go-rod alone: no
// pinning, no proxy, no private CA, the node's own address.
func bareRodJourney(bin, u string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("go-rod: %v", r)
		}
	}()
	l := launcher.New().Bin(bin).Leakless(false).Headless(true).NoSandbox(true)
	defer l.Cleanup()
	ws := l.MustLaunch()
	browser := rod.New().ControlURL(ws).MustConnect()
	defer browser.MustClose()
	page := browser.MustPage(u)
	page.MustElement("#product").MustSelect("Motor")
	page.MustElement("#driverAge").MustInput("35")
	page.MustElement("#get-quote").MustClick()
	if got := page.MustElement("#premium").MustText(); got != "412.50 GBP" {
		return fmt.Errorf("premium %q", got)
	}
	return nil
}

// BenchmarkPhases breaks piv's B1 journey down, for finding where time
// goes: launch (Chromium up, DevTools connected, CAs trusted), page (the
// prepared page handed out: context, proxy, renderer), navigate (first
// navigation to its load event), actions (select + fill + click), assert
// (until the premium's text matches), close (page and browser).
func BenchmarkPhases(b *testing.B) {
	ca := newCA(b, "quote bench CA")
	t := pinned(b, "app-01", node(b, "127.0.0.2", "app-01", ca, "quote.test"), ca)
	for _, prepared := range []bool{true, false} {
		b.Run(fmt.Sprintf("prepared=%v", prepared), func(b *testing.B) {
			var launch, page, nav, act, assert, closing time.Duration
			for b.Loop() {
				ctx := context.Background()
				opt := Options{CAs: [][]byte{ca.CertPEM}}
				if prepared {
					opt.Prepare = []PrepareTarget{{Target: t, CAPEM: ca.CertPEM}}
				}
				t0 := time.Now()
				br, err := Launch(ctx, opt)
				if err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				p, done, err := br.Page(ctx, t, ca.CertPEM)
				if err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				jerr := Navigate(ctx, p, t.URLFor("/"))
				t3 := time.Now()
				if jerr == nil {
					jerr = SelectOption(ctx, p, "#product", "Motor")
				}
				if jerr == nil {
					jerr = Fill(ctx, p, "#driverAge", "35")
				}
				if jerr == nil {
					jerr = Click(ctx, p, "#get-quote", PageLoadTimeout)
				}
				t4 := time.Now()
				if jerr == nil {
					_, jerr = WaitState(ctx, p, "#premium", func(s State) bool { return premiumRE.MatchString(s.Text) })
				}
				t5 := time.Now()
				done()
				if err := errors.Join(jerr, br.Close()); err != nil {
					b.Fatal(err)
				}
				t6 := time.Now()
				launch += t1.Sub(t0)
				page += t2.Sub(t1)
				nav += t3.Sub(t2)
				act += t4.Sub(t3)
				assert += t5.Sub(t4)
				closing += t6.Sub(t5)
			}
			n := float64(b.N)
			ms := func(d time.Duration) float64 { return d.Seconds() / n * 1000 }
			b.ReportMetric(ms(launch), "launch-ms")
			b.ReportMetric(ms(page), "page-ms")
			b.ReportMetric(ms(nav), "navigate-ms")
			b.ReportMetric(ms(act), "actions-ms")
			b.ReportMetric(ms(assert), "assert-ms")
			b.ReportMetric(ms(closing), "close-ms")
		})
	}
}

// BenchmarkActions compares select + fill + click + reading the premium on
// an open page (one browser, one page, the page reloaded between
// iterations): go-rod's element API, which waits for frame stability in
// every action (its Fill is three), against piv's actions and web-first
// wait. Only the actions are timed ("actions-ms").
func BenchmarkActions(b *testing.B) {
	ca := newCA(b, "quote bench CA")
	tg := pinned(b, "app-01", node(b, "127.0.0.2", "app-01", ca, "quote.test"), ca)
	br := launch(b, Options{CAs: [][]byte{ca.CertPEM}})
	ctx := context.Background()
	p := openPage(b, ctx, br, tg, ca.CertPEM)
	journeys := map[string]func() error{
		"go-rod": func() error {
			rp := p.Timeout(ElementTimeout)
			if err := rp.MustElement("#product").Select([]string{"Motor"}, true, rod.SelectorTypeText); err != nil {
				return err
			}
			el := rp.MustElement("#driverAge")
			if err := el.SelectAllText(); err != nil {
				return err
			}
			if err := el.Input(""); err != nil {
				return err
			}
			if err := el.Input("35"); err != nil {
				return err
			}
			if err := rp.MustElement("#get-quote").Click("left", 1); err != nil {
				return err
			}
			_, err := rp.MustElement("#premium").Text()
			return err
		},
		"piv": func() error {
			actx, cancel := context.WithTimeout(ctx, ElementTimeout)
			defer cancel()
			if err := SelectOption(actx, p, "#product", "Motor"); err != nil {
				return err
			}
			if err := Fill(actx, p, "#driverAge", "35"); err != nil {
				return err
			}
			if err := Click(actx, p, "#get-quote", PageLoadTimeout); err != nil {
				return err
			}
			_, err := WaitState(actx, p, "#premium", func(s State) bool { return premiumRE.MatchString(s.Text) })
			return err
		},
	}
	for _, name := range []string{"go-rod", "piv"} {
		b.Run(name, func(b *testing.B) {
			var spent time.Duration
			for b.Loop() {
				b.StopTimer()
				if err := Navigate(ctx, p, tg.URLFor("/")); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				t0 := time.Now()
				if err := journeys[name](); err != nil {
					b.Fatal(err)
				}
				spent += time.Since(t0)
			}
			b.ReportMetric(spent.Seconds()/float64(b.N)*1000, "actions-ms")
		})
	}
}
