package piv

import (
	"time"

	"github.com/piv-gate/piv/pkg/timeouts"
)

// PageTimeouts names every bound a page helper waits by, in one place (the
// Kubernetes e2e framework's TimeoutContext is the model): helpers take
// them from here and nobody writes a literal.
type PageTimeouts struct {
	// Assert bounds a web-first assertion (HaveText, BeVisible, …): it
	// retries until the page shows what is asserted or this much time has
	// passed. Long enough for a slow node's answer, short enough that a
	// broken page fails the gate in seconds.
	Assert time.Duration
	// Navigate bounds opening a page, and the navigation a click starts,
	// until the new page's load event.
	Navigate time.Duration
	// Action bounds waiting for an element to become actionable (present,
	// visible, enabled, not moving, not covered) before a click, fill or
	// select.
	Action time.Duration
}

// DefaultPageTimeouts are the bounds used unless a suite changes
// Timeouts (for example in a BeforeEach, for a known-slow application).
var DefaultPageTimeouts = PageTimeouts{
	Assert:   timeouts.Default.PageAssert,
	Navigate: timeouts.Default.PageNavigate,
	Action:   timeouts.Default.PageAction,
}

// Timeouts are the bounds page helpers and page matchers use now.
var Timeouts = DefaultPageTimeouts
