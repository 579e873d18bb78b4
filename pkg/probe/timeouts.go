package probe

import (
	"time"

	"github.com/piv-gate/piv/pkg/target"
)

// Timeouts bounds every probe, named in one place (as the Kubernetes e2e
// framework's TimeoutContext): nobody writes a literal. Each bound is per
// probe, not per run, so one target that does not answer costs at most its
// own bound and never holds the gate until --timeout.
type Timeouts struct {
	// Connect bounds a TCP connect (a dropped SYN).
	Connect time.Duration
	// Handshake bounds a TLS handshake after the connect.
	Handshake time.Duration
	// Exchange bounds one HTTP GET from the request to the last body byte.
	// It covers the body read: a server that sends its headers and then a
	// byte a second is cut off here, not after the run's --timeout.
	Exchange time.Duration
}

// DefaultTimeouts are the bounds Gather uses when Options.Timeouts is zero.
// Exchange matches the header bound of the target's transport: a health or
// version answer that takes longer than that has failed whatever it says.
var DefaultTimeouts = Timeouts{
	Connect:   target.ConnectTimeout,
	Handshake: target.TLSHandshake,
	Exchange:  target.ResponseHeader,
}

// withDefaults fills every zero field from DefaultTimeouts.
func (t Timeouts) withDefaults() Timeouts {
	if t.Connect <= 0 {
		t.Connect = DefaultTimeouts.Connect
	}
	if t.Handshake <= 0 {
		t.Handshake = DefaultTimeouts.Handshake
	}
	if t.Exchange <= 0 {
		t.Exchange = DefaultTimeouts.Exchange
	}
	return t
}
