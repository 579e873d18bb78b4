package piv

import (
	"github.com/piv-gate/piv/pkg/timeouts"

	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-rod/rod"
	"github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/browser"
	"github.com/piv-gate/piv/pkg/target"
)

// PageTimeout bounds how long a page waits for an element in the
// go-rod-style helpers and failure captures.
//
// Deprecated: use Timeouts (PageTimeouts: Assert, Navigate, Action).
var PageTimeout = timeouts.Default.PageAction

// Page is a browser tab bound to the run's target: its address bar shows the
// service host name while every connection goes to the pinned node, and the
// app's CA is trusted. Assert on it with the web-first matchers, which retry
// until the page shows what is asserted:
//
//	Expect(page).To(piv.HaveText("#premium", MatchRegexp(`^\d+\.\d{2} GBP$`)))
//
// The helpers (Fill, Select, Click) wait until their element can take the
// action, and Click waits for the navigation it starts. The embedded
// *rod.Page keeps go-rod's whole API (its Must* failures are routed to
// Ginkgo), but go-rod reads race the page: prefer the matchers.
type Page struct {
	*rod.Page
	Target target.Target
	// Masked are CSS selectors blanked before a failure screenshot, in
	// addition to every password field.
	Masked []string
	// Release closes the page and frees what the provider set up for it.
	Release func()
	// Timeouts bound this page's helpers and matchers; zero fields take
	// the package's Timeouts.
	Timeouts PageTimeouts
}

// ErrNoBrowser is wrapped by providers when no browser can be had; a spec
// that needs one then makes the run inconclusive.
var ErrNoBrowser = errors.New("no browser")

// OpenPage opens path on the run's target in a browser and returns the page.
// On failure of the spec, a screenshot (secret fields masked) and the page's
// HTML are attached to the report.
func OpenPage(ctx context.Context, path string) *Page {
	ginkgo.GinkgoHelper()
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
	p.Open(path)
	return p
}

// Open navigates the page to path on the run's target and waits for the
// load event (within Timeouts.Navigate). browser.Navigate retries the
// aborts Chromium makes when a network interface changes (Docker creating
// a bridge).
func (p *Page) Open(path string) *Page {
	ginkgo.GinkgoHelper()
	url := p.Target.URLFor(path)
	ctx, cancel := p.bound(p.timeouts().Navigate)
	defer cancel()
	if err := browser.Navigate(ctx, p.Page, url); err != nil {
		why := browser.Describe(err).Error()
		if errors.Is(err, context.DeadlineExceeded) {
			why = fmt.Sprintf("no page within %s", p.timeouts().Navigate)
		}
		fail(fmt.Sprintf("opening %s: %s\npage: %s on %s", url, why, url, p.Target.Where()))
	}
	return p
}

// Fill replaces the text of the input matched by selector with text, once
// the input is visible, enabled and editable.
func (p *Page) Fill(selector, text string) *Page {
	ginkgo.GinkgoHelper()
	ctx, cancel := p.bound(p.timeouts().Action)
	defer cancel()
	if err := browser.Fill(ctx, p.Page, selector, text); err != nil {
		p.failAction("fill", selector, err)
	}
	return p
}

// Select chooses the option with the given visible text or value in a
// <select>, once it is visible and enabled.
func (p *Page) Select(selector, option string) *Page {
	ginkgo.GinkgoHelper()
	ctx, cancel := p.bound(p.timeouts().Action)
	defer cancel()
	if err := browser.SelectOption(ctx, p.Page, selector, option); err != nil {
		p.failAction("select", selector, err)
	}
	return p
}

// Click clicks the element matched by selector once it is visible,
// enabled, not moving and not covered. When the click starts a navigation
// (a link, a form submit), Click returns once the new page has loaded
// (within Timeouts.Navigate), so what is asserted next is read from it.
func (p *Page) Click(selector string) *Page {
	ginkgo.GinkgoHelper()
	ctx, cancel := p.bound(p.timeouts().Action)
	defer cancel()
	if err := browser.Click(ctx, p.Page, selector, p.timeouts().Navigate); err != nil {
		p.failAction("click", selector, err)
	}
	return p
}

// Text waits for the element and returns its text as it is at that moment.
//
// Deprecated: reading once races the page (an element rendered empty
// before the answer arrives reads ""). Assert instead, which retries:
// Expect(page).To(piv.HaveText(selector, …)).
func (p *Page) Text(selector string) string {
	ginkgo.GinkgoHelper()
	ctx, cancel := p.bound(p.timeouts().Action)
	defer cancel()
	s, err := browser.WaitState(ctx, p.Page, selector, func(s browser.State) bool { return s.Count > 0 })
	if err != nil {
		p.failAction("read", selector, &browser.NotActionable{Action: "read", Selector: selector, Why: s.Seen(), Err: err})
	}
	return s.Text
}

// URL is the page's current address.
func (p *Page) URL() string {
	if info, err := p.Page.Info(); err == nil {
		return info.URL
	}
	return ""
}

func (p *Page) timeouts() PageTimeouts {
	t := p.Timeouts
	def := Timeouts
	if t.Assert <= 0 {
		t.Assert = def.Assert
	}
	if t.Navigate <= 0 {
		t.Navigate = def.Navigate
	}
	if t.Action <= 0 {
		t.Action = def.Action
	}
	return t
}

// bound is the page's own context (the spec's) limited to d.
func (p *Page) bound(d time.Duration) (context.Context, context.CancelFunc) {
	ctx := p.Page.GetContext()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, d)
}

// failAction fails the spec for an action that could not be done, in words:
// what, on which selector, why, where.
func (p *Page) failAction(action, selector string, err error) {
	ginkgo.GinkgoHelper()
	fail(actionFailure(p, action, selector, err))
}

func actionFailure(p *Page, action, selector string, err error) string {
	var na *browser.NotActionable
	var nf *browser.NavigationFailed
	var msg string
	switch {
	case errors.As(err, &na) && na.Err != nil:
		msg = fmt.Sprintf("cannot %s %s within %s: %s", action, selector, p.timeouts().Action, na.Why)
	case errors.As(err, &nf):
		msg = fmt.Sprintf("%s %s: %s", action, selector, nf.Error())
	default:
		msg = fmt.Sprintf("%s %s: %v", action, selector, browser.Describe(err))
	}
	return fmt.Sprintf("%s\npage: %s on %s", msg, p.URL(), p.Target.Where())
}

// attachEvidence captures a masked screenshot and the page HTML.
func (p *Page) attachEvidence() {
	r := Current()
	if r == nil || r.Browser == nil {
		return
	}
	if c, ok := r.Browser.(Capturer); ok {
		attachCapture(c.Capture(p))
	}
}

// Capturer is a BrowserProvider that can also take a failed page's
// evidence: a screenshot with every secret masked (or withheld) and the
// page's HTML. Declared here, where it is used; the session's provider
// satisfies it.
type Capturer interface {
	Capture(p *Page) (png, html []byte, err error)
}
