package probe

import (
	"context"
	"crypto/tls"
	"net/http"
	"sync"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/target"
)

// Options selects optional probes.
type Options struct {
	// Latency runs the technical.latency samples. Off by default: it is the
	// one probe whose cost grows with configuration (N sequential requests).
	Latency bool
	// LatencyAccept judges each latency sample ("" accepts it; see
	// Latency). The technical suite passes pkg/verify's judgement.
	LatencyAccept func(HTTPFact) string
	// Timeouts bounds each probe; zero fields take DefaultTimeouts.
	Timeouts Timeouts
}

// Facts is everything gathered for one run, by target name.
type Facts struct {
	Targets map[string]*TargetFacts
	Order   []string // target names in the order given, for stable reports
	Elapsed time.Duration
}

// TargetFacts is what was seen on one target. A nil probe field means the
// probe was not configured (no health path, plain http so no TLS, latency
// off), never that it failed: failures are facts with Err set.
type TargetFacts struct {
	Target target.Target
	TCP    map[int]TCPFact // by technical.ports entry
	TLS    *TLSFact
	// TLSBelow is the handshake offering only versions below
	// technical.tls.minVersion; nil when there is nothing below it (1.0)
	// or no TLS check is configured.
	TLSBelow *TLSBelowFact
	Health   *HTTPFact
	Version  *HTTPFact
	Latency  *LatencyFact
}

// Gather runs every configured probe against every target, all at once, and
// returns when all have finished or ctx has ended. A gate's time is round
// trips, so running them side by side makes the whole gathering cost about
// one target's slowest probe instead of their sum. Each target gets its own
// transport: net/http pools connections by URL host, and every target shares
// the service's host name, so a shared transport would send a node's request
// down another node's connection. Transports are closed before returning.
//
// Target names must be unique; they key the result.
func Gather(ctx context.Context, app *config.App, targets []target.Target, opt Options) *Facts {
	start := time.Now()
	tm := opt.Timeouts.withDefaults()
	tech := app.Technical
	out := &Facts{Targets: make(map[string]*TargetFacts, len(targets))}
	var wg sync.WaitGroup
	// Each goroutine writes only its own pre-allocated slot (a distinct
	// field or slice element), so no lock is needed; wg.Wait publishes them.
	tcp := make([][]TCPFact, len(targets))
	all := make([]*TargetFacts, len(targets))
	transports := make([]*http.Transport, len(targets))
	for i, t := range targets {
		tf := &TargetFacts{Target: t}
		all[i] = tf
		tr := t.Transport()
		transports[i] = tr
		client := t.HTTPClient(tr)

		tcp[i] = make([]TCPFact, len(tech.Ports))
		for j, port := range tech.Ports {
			wg.Go(func() { tcp[i][j] = TCP(ctx, t.PortAddress(port), tm) })
		}
		if t.URL.Scheme == "https" {
			tf.TLS = new(TLSFact)
			wg.Go(func() { *tf.TLS = TLS(ctx, t, tm) })
			if tech.TLS != nil {
				if min := VersionID(tech.TLS.MinVersion); min > tls.VersionTLS10 {
					tf.TLSBelow = new(TLSBelowFact)
					wg.Go(func() { *tf.TLSBelow = TLSBelow(ctx, t, min, tm) })
				}
			}
		}
		if tech.Health != nil {
			tf.Health = new(HTTPFact)
			wg.Go(func() { *tf.Health = HTTPWithin(ctx, client, t.URLFor(tech.Health.Path), tm.Exchange) })
		}
		if tech.Version != nil {
			tf.Version = new(HTTPFact)
			wg.Go(func() { *tf.Version = HTTPWithin(ctx, client, t.URLFor(tech.Version.Path), tm.Exchange) })
		}
		if lat := tech.Latency; lat != nil && opt.Latency {
			path := lat.Path
			if path == "" && tech.Health != nil {
				path = tech.Health.Path
			}
			if path == "" {
				path = "/"
			}
			tf.Latency = new(LatencyFact)
			wg.Go(func() { *tf.Latency = Latency(ctx, client, t.URLFor(path), lat.Samples, tm, opt.LatencyAccept) })
		}
	}
	wg.Wait()
	for i, tf := range all {
		transports[i].CloseIdleConnections()
		tf.TCP = make(map[int]TCPFact, len(tech.Ports))
		for j, port := range tech.Ports {
			tf.TCP[port] = tcp[i][j]
		}
		name := tf.Target.Name
		if _, dup := out.Targets[name]; !dup {
			out.Order = append(out.Order, name)
		}
		out.Targets[name] = tf
	}
	out.Elapsed = time.Since(start)
	return out
}
