// Package timeouts names every bound piv waits by, with its default, in one
// place — the Kubernetes e2e framework's TimeoutContext is the model. Each
// package takes its bounds from Default; nobody writes a literal. A bound
// says what it bounds and why it is as long as it is, so a reader can tell
// which one a slow gate hit.
package timeouts

import "time"

// Timeouts is every named bound of a gate.
type Timeouts struct {
	// Run is the default bound on a whole gate (piv run --timeout): on
	// expiry the verdict is inconclusive.
	Run time.Duration
	// Connect bounds a TCP connect to a target (a dropped SYN).
	Connect time.Duration
	// TLSHandshake bounds a TLS handshake after the connect.
	TLSHandshake time.Duration
	// ResponseHeader bounds waiting for a response's headers.
	ResponseHeader time.Duration
	// ProbeExchange bounds one technical probe's HTTP exchange, from the
	// request to the last body byte: a server that sends its headers and
	// then a byte a second is cut off here, not after the run's --timeout.
	ProbeExchange time.Duration
	// SettlePoll bounds one health poll while settling: a poll that takes
	// longer is a failed poll, and settling polls again.
	SettlePoll time.Duration
	// SuiteRequest bounds one request a spec makes with piv.HTTP: long
	// enough for a slow API call, short enough that a hung node fails the
	// spec well within the run's --timeout.
	SuiteRequest time.Duration
	// SpecGrace is Ginkgo's grace period for a spec interrupted by the
	// run's deadline or a signal; SpecGraceSlack is how much longer piv
	// waits for Ginkgo itself before it stops waiting for a hung spec.
	SpecGrace, SpecGraceSlack time.Duration
	// SupervisorGrace is how long a supervising parent waits for a gate
	// process it asked to stop before it kills it.
	SupervisorGrace time.Duration
	// EngineCall bounds each Docker API call piv makes itself; ContainerStep
	// one testcontainers step (network, container create + copy + start);
	// ContainerClose removing a run's containers; ContainerCleanup the whole
	// cleanup after a run (on its own context: the run's may be cancelled);
	// EphemeralWait an image's readiness when the definition gives no
	// wait.timeout; EphemeralAttempt one readiness attempt.
	EngineCall, ContainerStep, ContainerClose, ContainerCleanup, EphemeralWait, EphemeralAttempt time.Duration

	// BrowserLaunch bounds starting Chromium until its DevTools endpoint
	// answers; BrowserClose disposing of a context and waiting for a killed
	// browser to exit; PageCapture a failure capture (mask, screenshot,
	// HTML); ProxyDial the pinning proxy's connection to the target;
	// NetSettle waiting for host interfaces to settle before a page is used.
	BrowserLaunch, BrowserClose, PageCapture, ProxyDial, NetSettle time.Duration
	// PageAssert bounds a web-first assertion (HaveText, BeVisible, …): it
	// retries until the page shows what is asserted or this much time has
	// passed — long enough for a slow node's answer, short enough that a
	// broken page fails the gate in seconds. PageNavigate bounds opening a
	// page, and the navigation a click starts, until the new page's load
	// event; PageAction waiting for an element to become actionable.
	PageAssert, PageNavigate, PageAction time.Duration
}

// Default are the bounds piv uses.
var Default = Timeouts{
	Run:              15 * time.Minute,
	Connect:          3 * time.Second,
	TLSHandshake:     5 * time.Second,
	ResponseHeader:   10 * time.Second,
	ProbeExchange:    10 * time.Second,
	SettlePoll:       2 * time.Second,
	SuiteRequest:     30 * time.Second,
	SpecGrace:        5 * time.Second,
	SpecGraceSlack:   10 * time.Second,
	SupervisorGrace:  30 * time.Second,
	EngineCall:       5 * time.Second,
	ContainerStep:    60 * time.Second,
	ContainerClose:   30 * time.Second,
	ContainerCleanup: 60 * time.Second,
	EphemeralWait:    60 * time.Second,
	EphemeralAttempt: 2 * time.Second,
	BrowserLaunch:    30 * time.Second,
	BrowserClose:     5 * time.Second,
	PageCapture:      10 * time.Second,
	ProxyDial:        5 * time.Second,
	NetSettle:        5 * time.Second,
	PageAssert:       5 * time.Second,
	PageNavigate:     15 * time.Second,
	PageAction:       10 * time.Second,
}
