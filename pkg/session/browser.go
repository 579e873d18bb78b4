package session

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/piv-gate/piv/pkg/browser"
	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/piv"
	"github.com/piv-gate/piv/pkg/target"
)

// browserProvider launches one Chromium for the run on the first browser
// spec (runs without browser specs never start one) and gives each spec a
// page in its own browser context, pinned to the target.
type browserProvider struct {
	ctx       context.Context
	app       *config.App
	remoteURL string

	prepare []browser.PrepareTarget // pages made while the browser starts (warm)

	once    sync.Once
	started atomic.Bool // a launch was asked for (warm or a spec)
	b       *browser.Browser
	err     error
}

func newBrowserProvider(ctx context.Context, app *config.App, url string, closers *[]func(*gate.Result)) *browserProvider {
	p := &browserProvider{ctx: ctx, app: app, remoteURL: url}
	*closers = append(*closers, func(*gate.Result) {
		if !p.started.Load() {
			return // never launched: nothing to close
		}
		p.launch() // waits for a warm launch still under way, so it is closed
		if p.b != nil {
			p.b.Close()
		}
	})
	return p
}

// warm launches the browser in the background when the run may select
// browser specs, so Chromium's start overlaps settling and the technical
// checks instead of adding to the gate's time. Call it once the target is
// up: Chromium aborts in-flight requests when host interfaces change, which
// starting a container does. The target's first page (context, proxy,
// renderer) is made during the launch too: the first journey then starts
// at once.
func (p *browserProvider) warm(filter string, t target.Target) {
	lf, err := types.ParseLabelFilter(filter)
	if err != nil {
		return
	}
	for _, s := range p.app.Suites {
		if lf([]string{"browser", "functional", "app:" + s}) {
			p.prepare = []browser.PrepareTarget{{Target: t, CAPEM: p.app.CAPEM}}
			p.started.Store(true)
			go p.launch()
			return
		}
	}
}

func (p *browserProvider) launch() {
	p.started.Store(true)
	p.once.Do(func() {
		var cas [][]byte
		if len(p.app.CAPEM) > 0 {
			cas = append(cas, p.app.CAPEM)
		}
		// The browser outlives any one spec: launch it under the run's context.
		p.b, p.err = browser.Launch(p.ctx, browser.Options{RemoteURL: p.remoteURL, CAs: cas, Prepare: p.prepare})
	})
}

func (p *browserProvider) Page(ctx context.Context, t target.Target) (*piv.Page, error) {
	p.launch()
	if p.err != nil {
		if errors.Is(p.err, browser.ErrNoBrowser) {
			return nil, fmt.Errorf("%w: %v", piv.ErrNoBrowser, p.err)
		}
		return nil, p.err
	}
	browser.WaitNetworkSettled(ctx)
	rp, release, err := p.b.Page(ctx, t, p.app.CAPEM)
	if err != nil {
		return nil, err
	}
	// go-rod's Must* panics become Ginkgo failures (a verdict on the app),
	// not harness panics.
	rp = rp.WithPanic(func(v any) { ginkgo.Fail(fmt.Sprint(v), 2) })
	return &piv.Page{Page: rp, Target: t, Release: release}, nil
}

// Capture takes the failure evidence with secret fields masked.
func (p *browserProvider) Capture(pg *piv.Page) (png, html []byte, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), browser.CaptureTimeout)
	defer cancel()
	return browser.Capture(ctx, pg.Page, pg.Masked)
}

// The provider gives pages and captures their evidence.
var (
	_ piv.BrowserProvider = (*browserProvider)(nil)
	_ piv.Capturer        = (*browserProvider)(nil)
)
