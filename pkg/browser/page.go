package browser

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
	"github.com/go-rod/rod/lib/utils"

	"github.com/piv-gate/piv/pkg/target"
)

// Page opens a blank tab for t in a fresh browser context of its own: all of
// that context's traffic goes through a proxy dialing t.Dial (pinned to t's
// node, other hosts refused), so navigating to t.URLFor(path) shows the
// service URL in the address bar while the node answers. t.Headers (the
// X-PIV-Run header) are added to every request the page makes.
//
// caPEM is the app's CA (config.App.CAPEM), or nil when the service uses a
// publicly trusted certificate. It must have been among Options.CAs at
// Launch (an error says so otherwise): Chromium then verifies chain and host
// name against it like any other root. A remote browser's trust store is its
// own: caPEM is not checked there.
//
// The page is bound to ctx. The returned cleanup closes the page, disposes
// of the context and stops its proxy; it is safe to call more than once.
func (b *Browser) Page(ctx context.Context, t target.Target, caPEM []byte) (*rod.Page, func(), error) {
	if sp := b.takeSpare(ctx, t, caPEM); sp != nil {
		return sp.page.Context(ctx), sp.cleanup, nil
	}
	return b.newPage(ctx, t, caPEM)
}

// spare is a page made ready for a target before anyone asked for it.
type spare struct {
	key     string
	caPEM   []byte
	ready   chan struct{}
	page    *rod.Page
	cleanup func()
	err     error
}

func spareKey(t target.Target) string {
	u := ""
	if t.URL != nil {
		u = t.URL.String()
	}
	// Headers are part of it: a prepared page carries its target's headers.
	return string(t.Scope) + "\x00" + t.Name + "\x00" + t.Address + "\x00" + u + "\x00" + fmt.Sprint(t.Headers)
}

// Prepare starts making a page for t in the background (its context, proxy
// and renderer: about a fifth of a second that would otherwise be paid when
// the first journey opens it), so that the next Page for t returns at once.
// A gate knows its targets before the browser is up: Launch prepares
// Options.Prepare, and the caller may Prepare again when a spec is done
// (the next spec then finds a fresh page). Each page still has a context of
// its own: nothing is shared between specs. At most one page waits per
// target; Close throws away what nobody took.
func (b *Browser) Prepare(t target.Target, caPEM []byte) {
	k := spareKey(t)
	b.mu.Lock()
	if b.closed || b.spares[k] != nil {
		b.mu.Unlock()
		return
	}
	sp := &spare{key: k, caPEM: caPEM, ready: make(chan struct{})}
	if b.spares == nil {
		b.spares = map[string]*spare{}
	}
	b.spares[k] = sp
	b.mu.Unlock()
	go func() {
		defer close(sp.ready)
		// Bound by the browser's own life: Close cancels it.
		sp.page, sp.cleanup, sp.err = b.newPage(b.rod.GetContext(), t, caPEM)
	}()
}

// takeSpare hands out t's prepared page, waiting for it if it is still
// being made, or returns nil (none prepared, or it failed: the caller then
// makes one, and reports that error if it recurs).
func (b *Browser) takeSpare(ctx context.Context, t target.Target, caPEM []byte) *spare {
	k := spareKey(t)
	b.mu.Lock()
	sp := b.spares[k]
	delete(b.spares, k)
	b.mu.Unlock()
	if sp == nil || string(sp.caPEM) != string(caPEM) {
		if sp != nil {
			go func() {
				<-sp.ready
				if sp.cleanup != nil {
					sp.cleanup()
				}
			}()
		}
		return nil
	}
	select {
	case <-sp.ready:
	case <-ctx.Done():
		go func() {
			<-sp.ready
			if sp.cleanup != nil {
				sp.cleanup()
			}
		}()
		return nil
	}
	if sp.err != nil {
		return nil
	}
	return sp
}

func (b *Browser) newPage(ctx context.Context, t target.Target, caPEM []byte) (*rod.Page, func(), error) {
	if t.URL == nil {
		return nil, nil, errors.New("browser: target has no URL")
	}
	if len(caPEM) > 0 && b.cmd != nil {
		if err := b.checkTrusted(caPEM); err != nil {
			return nil, nil, fmt.Errorf("browser: trusting the CA of %s: %w", t.Where(), err)
		}
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return nil, nil, errors.New("browser: closed")
	}

	px, err := startProxy(b.proxyHost, t)
	if err != nil {
		return nil, nil, fmt.Errorf("browser: proxy for %s: %w", t.Where(), err)
	}
	rb := b.rod.Context(ctx)
	res, err := proto.TargetCreateBrowserContext{
		ProxyServer: px.URL(),
		// Chromium never proxies loopback by default; "<-loopback>" removes
		// that implicit rule so a service URL on localhost is pinned too.
		ProxyBypassList: "<-loopback>",
	}.Call(rb)
	if err != nil {
		px.Close()
		return nil, nil, fmt.Errorf("browser: new context for %s: %w", t.Where(), err)
	}
	id := res.BrowserContextID
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		px.Close()
		return nil, nil, errors.New("browser: closed")
	}
	b.contexts[id] = px
	b.mu.Unlock()

	var page *rod.Page
	cleanup := func() {
		// A fresh bound: the caller's ctx is often already done by now.
		cctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
		defer cancel()
		b.mu.Lock()
		_, mine := b.contexts[id]
		delete(b.contexts, id)
		b.mu.Unlock()
		if !mine {
			return // already cleaned up, or the browser is closed
		}
		_ = proto.TargetDisposeBrowserContext{BrowserContextID: id}.Call(b.rod.Context(cctx))
		px.Close()
	}

	cb := *rb // go-rod's own Incognito does the same: a Browser value bound to a context id
	cb.BrowserContextID = id
	page, err = cb.Page(proto.TargetCreateTarget{})
	if err != nil {
		cleanup()
		return nil, nil, fmt.Errorf("browser: new page for %s: %w", t.Where(), err)
	}
	if len(t.Headers) > 0 {
		var kv []string
		for k, vs := range t.Headers {
			kv = append(kv, k, strings.Join(vs, ", "))
		}
		if _, err := page.SetExtraHeaders(kv); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("browser: headers for %s: %w", t.Where(), err)
		}
	}
	page = page.Sleeper(func() utils.Sleeper { return utils.BackoffSleeper(ElementPollMin, ElementPollMax, nil) })
	return page, cleanup, nil
}

// IsCertificateError reports whether err is a navigation that failed on the
// server's certificate (net::ERR_CERT_*): wrong host name, unknown CA,
// expired, … as Chromium judged it.
func IsCertificateError(err error) bool {
	var nav *rod.NavigationError
	return errors.As(err, &nav) && strings.HasPrefix(nav.Reason, "net::ERR_CERT_")
}

// navigateAttempts bounds retries of a navigation Chromium aborted with
// net::ERR_NETWORK_CHANGED.
const navigateAttempts = 3

// Navigate opens u in page and waits for its load event, within ctx's
// deadline, or PageLoadTimeout when ctx has none. A navigation aborted with net::ERR_NETWORK_CHANGED is
// retried (at most navigateAttempts times in all): Chromium raises it
// whenever any interface on the machine changes, such as Docker creating a
// bridge for an unrelated container, and it says nothing about the target.
// Navigations are GETs, so a retry is safe; other errors (certificate,
// refused, tunnel) are returned at once as a *rod.NavigationError.
//
// The load is awaited from the page's own events (subscribed before the
// navigation starts), not by injecting go-rod's helper script into the new
// document: no extra round trips, and no race with the old document.
func Navigate(ctx context.Context, page *rod.Page, u string) error {
	if _, has := ctx.Deadline(); !has { // the caller's bound (piv.Timeouts.Navigate) wins
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, PageLoadTimeout)
		defer cancel()
	}
	var err error
	for range navigateAttempts {
		err = navigateOnce(ctx, page, u)
		var nav *rod.NavigationError
		if errors.As(err, &nav) && nav.Reason == "net::ERR_NETWORK_CHANGED" {
			continue
		}
		return err
	}
	return err
}

func navigateOnce(ctx context.Context, page *rod.Page, u string) error {
	evCtx, stop := context.WithCancel(ctx)
	defer stop()
	nav := watchNavigation(page.Context(evCtx), page.FrameID)
	res, err := proto.PageNavigate{URL: u}.Call(page.Context(ctx))
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("no answer in time: %w", ctx.Err())
		}
		return Describe(err)
	}
	if res.ErrorText != "" {
		return &rod.NavigationError{Reason: res.ErrorText}
	}
	if res.LoaderID == "" {
		return nil // same document (a fragment): nothing loads
	}
	if err := nav.wait(ctx); err != nil {
		var nf *NavigationFailed
		if errors.As(err, &nf) && nf.Err != nil {
			return fmt.Errorf("the page did not finish loading in time: %w", nf.Err)
		}
		// Committed, then replaced by Chromium's error page (seen with
		// net::ERR_NETWORK_CHANGED while containers start): say why, as
		// a NavigationError, so Navigate retries what is retryable.
		if reason := errorPageReason(ctx, page); reason != "" {
			return &rod.NavigationError{Reason: reason}
		}
		return err
	}
	return nil
}

// errorPageReason reads the network error Chromium's error page shows
// ("net::ERR_NETWORK_CHANGED"), or "" when the page is not one.
func errorPageReason(ctx context.Context, page *rod.Page) string {
	// The error page's own data is not visible to page scripts; its text
	// shows the code ("ERR_TUNNEL_CONNECTION_FAILED").
	v, err := evalJSON(ctx, page, `(() => { if (!location.href.startsWith("chrome-error:")) return ""; const m = (document.body ? document.body.innerText : "").match(/\bERR_[A-Z0-9_]+/); return m ? m[0] : ""; })`)
	if err != nil {
		return ""
	}
	code := v.Str()
	if code != "" && !strings.HasPrefix(code, "net::") {
		code = "net::" + code
	}
	return code
}
