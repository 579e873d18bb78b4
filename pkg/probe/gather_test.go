package probe

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestGatherFleet(t *testing.T) {
	fl := startFleet(t, 0)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	facts := Gather(ctx, fl.app, fl.targets, Options{Latency: true})

	if want := []string{"app-01", "app-02", "app-03", "service"}; !slices.Equal(facts.Order, want) {
		t.Fatalf("Order = %v, want %v", facts.Order, want)
	}
	// The service is pinned to app-01 (service.address), so it answers as app-01.
	servedBy := map[string]string{"app-01": "app-01", "app-02": "app-02", "app-03": "app-03", "service": "app-01"}
	for name, tf := range facts.Targets {
		if tf.Target.Name != name {
			t.Errorf("%s: Target.Name %q", name, tf.Target.Name)
		}
		if len(tf.TCP) != 2 {
			t.Errorf("%s: TCP = %v", name, tf.TCP)
		}
		for port, f := range tf.TCP {
			if !f.Connected || f.Addr != tf.Target.PortAddress(port) {
				t.Errorf("%s: port %d: %+v", name, port, f)
			}
		}
		if tf.TLS == nil || !tf.TLS.Verified || tf.TLS.Version != "1.3" || tf.TLS.ServerName != host {
			t.Errorf("%s: TLS %+v", name, tf.TLS)
		}
		if tf.Health == nil || tf.Health.Status != 200 || tf.Health.JSON("status").String() != "UP" {
			t.Errorf("%s: Health %+v", name, tf.Health)
		}
		if tf.Version == nil || tf.Version.JSON("version").String() != "2.4.1" {
			t.Errorf("%s: Version %+v", name, tf.Version)
		}
		if got := tf.Health.ServedBy; got != servedBy[name] {
			t.Errorf("%s: health served by %q, want %q", name, got, servedBy[name])
		}
		if tf.Version.ServedBy != servedBy[name] {
			t.Errorf("%s: version served by %q", name, tf.Version.ServedBy)
		}
		if tf.Latency == nil || len(tf.Latency.Samples) != 5 || tf.Latency.Errors != 0 {
			t.Errorf("%s: Latency %+v", name, tf.Latency)
		}
	}
}

func TestGatherLatencyOffByDefault(t *testing.T) {
	fl := startFleet(t, 0)
	facts := Gather(t.Context(), fl.app, fl.targets[:1], Options{})
	if tf := facts.Targets["app-01"]; tf.Latency != nil || tf.Health == nil {
		t.Fatalf("got %+v", tf)
	}
}

// TestGatherStoppedNode: a node that is down is a set of refused facts,
// gathered promptly, not a hang until the deadline.
func TestGatherStoppedNode(t *testing.T) {
	fl := startFleet(t, 0)
	fl.nodes[2].Close() // app-03's service port: nothing listens any more
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	facts := Gather(ctx, fl.app, fl.targets, Options{Latency: true})
	if ctx.Err() != nil {
		t.Fatalf("Gather used the whole 5 s deadline (%v)", facts.Elapsed)
	}
	down := facts.Targets["app-03"]
	servicePort := fl.app.Technical.Ports[0]
	if f := down.TCP[servicePort]; f.Connected || f.Err != "connection refused" {
		t.Errorf("TCP %+v", f)
	}
	if f := down.TCP[fl.app.Technical.Ports[1]]; !f.Connected {
		t.Errorf("the other port still listens: %+v", f)
	}
	if down.TLS.Handshake || down.TLS.Err != "connection refused" {
		t.Errorf("TLS %+v", down.TLS)
	}
	if down.Health.Status != 0 || down.Health.Err != "connection refused" {
		t.Errorf("Health %+v", down.Health)
	}
	// Sampling stops at the first failure: a stopped node costs one refusal.
	if down.Latency.Errors != 1 || down.Latency.FirstErr != "no answer: connection refused" || down.Latency.Stopped == "" {
		t.Errorf("Latency %+v", down.Latency)
	}
	if up := facts.Targets["app-02"]; up.Health.Status != 200 {
		t.Errorf("app-02 Health %+v", up.Health)
	}
}

// BenchmarkGather is the gate's technical workload: 3 nodes + the service,
// 2 ports each, TLS, health and version, nodes answering with 5 ms added
// latency. Each iteration is what one `piv run` does: fresh transports, so
// fresh TCP and TLS handshakes.
func BenchmarkGather(b *testing.B) {
	fl := startFleet(b, 5*time.Millisecond)
	ctx := b.Context()
	for b.Loop() {
		facts := Gather(ctx, fl.app, fl.targets, Options{})
		for name, tf := range facts.Targets {
			if tf.Health.Status != 200 || tf.Version.Status != 200 || !tf.TLS.Verified {
				b.Fatalf("%s: health %+v version %+v tls %+v", name, tf.Health, tf.Version, tf.TLS)
			}
		}
	}
}
