package piv

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-rod/rod"
	"github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/browser"
	"github.com/piv-gate/piv/pkg/target"
)

// PageTimeout bounds how long a page waits for an element or a navigation
// in Page's helpers: long enough for a slow node, short enough that a dead
// button fails the gate in seconds, not minutes.
var PageTimeout = 10 * time.Second

// Page is a browser tab bound to the run's target: its address bar shows the
// service host name while every connection goes to the pinned node, and the
// app's CA is trusted. The embedded *rod.Page keeps go-rod's whole API (its
// Must* failures are routed to Ginkgo); the helpers below wait with a bound
// and fail with what was being done, where.
type Page struct {
	*rod.Page
	Target target.Target
	// Masked are CSS selectors blanked before a failure screenshot, in
	// addition to every password field.
	Masked []string
	// Release closes the page and frees what the provider set up for it.
	Release func()
}

// ErrNoBrowser is wrapped by providers when no browser can be had; a spec
// that needs one then makes the run inconclusive.
var ErrNoBrowser = errors.New("no browser")

// OpenPage opens path on the run's target in a browser and returns the page.
// On failure of the spec, a screenshot (secret fields masked) and the page's
// HTML are attached to the report.
func OpenPage(ctx context.Context, path string) *Page {
	r := mustCurrent()
	if r.Browser == nil {
		r.Abort("browser specs selected but no browser was provided")
		fail("no browser is available for this run")
		return nil
	}
	p, err := r.Browser.Page(ctx, r.Target)
	if err != nil {
		if errors.Is(err, ErrNoBrowser) {
			r.Abort("browser unavailable: " + err.Error())
		}
		failf("opening a browser page on %s: %v", r.Target.Where(), err)
		return nil
	}
	ginkgo.DeferCleanup(func() {
		if ginkgo.CurrentSpecReport().Failed() {
			p.attachEvidence()
		}
		if p.Release != nil {
			p.Release()
		} else {
			_ = p.Page.Close()
		}
	})
	url := r.Target.URLFor(path)
	// browser.Navigate waits for the load and retries the aborts Chromium
	// makes when a network interface changes (Docker creating a bridge).
	if err := browser.Navigate(ctx, p.Page, url); err != nil {
		failf("opening %s on %s: %v", url, r.Target.Where(), err)
	}
	return p
}

// Fill types text into the element matched by selector.
func (p *Page) Fill(selector, text string) *Page {
	el := p.element(selector, "to type into")
	if err := el.SelectAllText(); err == nil {
		_ = el.Input("")
	}
	if err := el.Input(text); err != nil {
		p.failf("typing into %s: %v", selector, err)
	}
	return p
}

// Select chooses the option with the given visible text or value in a <select>.
func (p *Page) Select(selector, option string) *Page {
	el := p.element(selector, "to choose from")
	if err := el.Select([]string{option}, true, rod.SelectorTypeText); err != nil {
		p.failf("choosing %q in %s: %v", option, selector, err)
	}
	return p
}

// Click clicks the element matched by selector.
func (p *Page) Click(selector string) *Page {
	el := p.element(selector, "to click")
	if err := el.Timeout(PageTimeout).Click("left", 1); err != nil {
		p.failf("clicking %s: %v", selector, err)
	}
	return p
}

// Text waits for the element and returns its text.
func (p *Page) Text(selector string) string {
	el := p.element(selector, "to read")
	t, err := el.Text()
	if err != nil {
		p.failf("reading %s: %v", selector, err)
	}
	return t
}

func (p *Page) element(selector, why string) *rod.Element {
	el, err := p.Page.Timeout(PageTimeout).Element(selector)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			p.failf("element %s (%s) did not appear within %s", selector, why, PageTimeout)
		}
		p.failf("finding %s (%s): %v", selector, why, err)
		return nil
	}
	return el.CancelTimeout()
}

func (p *Page) failf(format string, a ...any) {
	url := ""
	if info, err := p.Page.Info(); err == nil {
		url = info.URL
	}
	fail(fmt.Sprintf("%s\npage: %s on %s", fmt.Sprintf(format, a...), url, p.Target.Where()))
}

// attachEvidence captures a masked screenshot and the page HTML.
func (p *Page) attachEvidence() {
	r := Current()
	if r == nil || r.Browser == nil {
		return
	}
	if c, ok := r.Browser.(interface {
		Capture(p *Page) (png, html []byte, err error)
	}); ok {
		attachCapture(c.Capture(p))
	}
}
