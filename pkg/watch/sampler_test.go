package watch_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/watch"
	"github.com/piv-gate/piv/pkg/watch/watchtest"
)

// waitFor polls cond until it holds or the bound passes. Polling the
// sampler's counters is the event: nothing is asserted on elapsed time.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func startSampler(t *testing.T, cfg watch.Config) (*watch.Sampler, context.CancelFunc, <-chan *watch.Result) {
	t.Helper()
	s, err := watch.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *watch.Result, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(cancel)
	return s, cancel, done
}

// A server stopped on purpose and restarted on the same address: the
// sampler records one outage per stream that starts after the stop and ends
// after the restart, with the kinds a customer would have seen.
func TestOutageAcrossStopAndRestart(t *testing.T) {
	srv, err := watchtest.Start("127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tg, err := watch.ParseTarget(srv.Target("node"))
	if err != nil {
		t.Fatal(err)
	}
	const interval = 20 * time.Millisecond
	s, cancel, done := startSampler(t, watch.Config{
		Targets: []watch.Target{tg}, Interval: interval, Timeout: 2 * time.Second, RootCAs: srv.CAPool,
	})
	fresh := func() watch.StreamSnapshot { return s.Snapshot().Targets[0].Streams[watch.Fresh] }
	keep := func() watch.StreamSnapshot { return s.Snapshot().Targets[0].Streams[watch.KeepAlive] }
	waitFor(t, "both streams answered", func() bool { return fresh().OK >= 3 && keep().OK >= 3 })

	// Stop with a keepalive request in flight: it must see the reset.
	held := srv.HoldKeepAlive()
	select {
	case <-held:
	case <-time.After(20 * time.Second):
		t.Fatal("no keepalive request reached the server")
	}
	stopAt := time.Now()
	srv.Stop()
	waitFor(t, "fresh stream sees refused connects", func() bool { return fresh().Kinds.Has(watch.KindConnectRefused) && fresh().InOutage })
	waitFor(t, "keepalive stream sees the reset", func() bool { return keep().Kinds.Has(watch.KindReset) })
	restartAt := time.Now()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both streams recovered", func() bool {
		f, k := fresh(), keep()
		return !f.InOutage && !k.InOutage && f.Outages > 0 && k.Outages > 0
	})
	cancel()
	res := <-done

	tr := res.Targets[0]
	slack := 2 * time.Second // the sample timeout: a sample in flight at the stop started up to this much before it
	for _, st := range tr.Streams {
		if len(st.Outages) != 1 {
			t.Fatalf("%s: want one outage, got %+v", st.Stream, st.Outages)
		}
		o := st.Outages[0]
		start, end := res.StartedAt.Add(o.Start), res.StartedAt.Add(o.End)
		if start.Before(stopAt.Add(-slack)) || o.Start < 3*interval {
			t.Errorf("%s: outage starts at %v, before the stop", st.Stream, o.Start)
		}
		// The first success after the outage dialled after the restart;
		// its start is recorded at millisecond resolution.
		if end.Before(restartAt.Add(-2 * time.Millisecond)) {
			t.Errorf("%s: outage ends at %v, before the restart at %v", st.Stream, end, restartAt.Sub(res.StartedAt))
		}
		if o.Ongoing || o.FailedSamples == 0 || st.Failed < o.FailedSamples || st.SamplerErrors != 0 {
			t.Errorf("%s: %+v (failed %d, sampler errors %d)", st.Stream, o, st.Failed, st.SamplerErrors)
		}
	}
	if k := tr.Streams[watch.Fresh].Outages[0].Kinds; !k.Has(watch.KindConnectRefused) {
		t.Errorf("fresh kinds %v", k.Strings())
	}
	if k := tr.Streams[watch.KeepAlive].Outages[0].Kinds; !k.Has(watch.KindReset) {
		t.Errorf("keepalive kinds %v", k.Strings())
	}
	if got := tr.Outages(); len(got) != 1 {
		t.Errorf("target outages (union of streams): %+v", got)
	}

	v, reason := watch.Judge(res, watch.Limits{})
	if v != gate.Fail || !strings.Contains(reason, "failed requests") {
		t.Errorf("judge: %s %q", v, reason)
	}
	if v, _ := watch.Judge(res, watch.Limits{MaxFailed: 1 << 20, MaxOutage: time.Hour}); v != gate.Pass {
		t.Errorf("with generous limits: %s", v)
	}

	// The report carries the outage with its kinds and renders.
	rep := watch.BuildReport(res, watch.Limits{}, v, reason)
	var buf bytes.Buffer
	if err := watch.RenderJSON(&buf, rep); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Schema  string
		Targets []struct {
			Outages []struct {
				FailedSamples int
				Kinds         []string
			}
		}
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != watch.Schema || len(doc.Targets[0].Outages) != 1 || doc.Targets[0].Outages[0].FailedSamples == 0 {
		t.Fatalf("json: %s", buf.String())
	}
	var h bytes.Buffer
	if err := watch.RenderHTML(&h, rep); err != nil || !strings.Contains(h.String(), "<svg") || !strings.Contains(h.String(), "connect refused") {
		t.Fatalf("html: %v", err)
	}
}

// A healthy server: no failures, a pass, and the latency and series filled.
func TestHealthyRunPasses(t *testing.T) {
	srv, err := watchtest.Start("127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tg, _ := watch.ParseTarget(srv.Target("node"))
	s, cancel, done := startSampler(t, watch.Config{Targets: []watch.Target{tg}, Interval: 10 * time.Millisecond, RootCAs: srv.CAPool})
	waitFor(t, "20 samples per stream", func() bool {
		ts := s.Snapshot().Targets[0]
		return ts.Streams[watch.Fresh].Sent >= 20 && ts.Streams[watch.KeepAlive].Sent >= 20
	})
	cancel()
	res := <-done
	if v, reason := watch.Judge(res, watch.Limits{}); v != gate.Pass {
		t.Fatalf("%s: %s", v, reason)
	}
	rep := watch.BuildReport(res, watch.Limits{}, gate.Pass, "")
	tr := rep.Targets[0]
	if tr.Failed != 0 || tr.Latency.Samples != tr.OK || tr.Latency.P50Seconds <= 0 || tr.Availability != 1 || len(tr.Streams.Fresh.Series.Points) == 0 {
		t.Fatalf("%+v", tr)
	}
	if res.Stopped != "signal" {
		t.Fatalf("stopped %q", res.Stopped)
	}
}

// A CA the server's certificate does not chain to: every sample fails with
// "tls", and the verdict is inconclusive (never answered), not pass.
func TestWrongCANeverAnswers(t *testing.T) {
	srv, err := watchtest.Start("127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	other, err := watchtest.Start("127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	tg, _ := watch.ParseTarget(srv.Target("node"))
	s, cancel, done := startSampler(t, watch.Config{Targets: []watch.Target{tg}, Interval: 10 * time.Millisecond, RootCAs: other.CAPool})
	waitFor(t, "failures on both streams", func() bool {
		ts := s.Snapshot().Targets[0]
		return ts.Streams[watch.Fresh].Failed >= 3 && ts.Streams[watch.KeepAlive].Failed >= 3
	})
	cancel()
	res := <-done
	if !res.Targets[0].Streams[watch.Fresh].Outages[0].Kinds.Has(watch.KindTLS) {
		t.Fatalf("kinds %v", res.Targets[0].Streams[watch.Fresh].Outages[0].Kinds.Strings())
	}
	if v, reason := watch.Judge(res, watch.Limits{MaxFailed: 1 << 20, MaxOutage: time.Hour}); v != gate.Inconclusive || !strings.Contains(reason, "never answered") {
		t.Fatalf("%s: %s", v, reason)
	}
}

// Observed-only targets are recorded but never judged: a node that is down
// while the service is fine passes.
func TestObservedTargetIsNotJudged(t *testing.T) {
	srv, err := watchtest.Start("127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	down, err := watchtest.Start("127.0.0.3")
	if err != nil {
		t.Fatal(err)
	}
	down.Close()
	svc, _ := watch.ParseTarget(srv.Target("service"))
	node, _ := watch.ParseTarget(down.Target("node"))
	node.Judged = false
	s, cancel, done := startSampler(t, watch.Config{Targets: []watch.Target{svc, node}, Interval: 10 * time.Millisecond, RootCAs: srv.CAPool})
	waitFor(t, "samples on both targets", func() bool {
		sn := s.Snapshot()
		return sn.Targets[0].Streams[watch.KeepAlive].OK >= 5 && sn.Targets[1].Streams[watch.Fresh].Failed >= 5
	})
	cancel()
	res := <-done
	if v, reason := watch.Judge(res, watch.Limits{}); v != gate.Pass {
		t.Fatalf("%s: %s", v, reason)
	}
	if tot := res.Totals(); tot.Failed != 0 {
		t.Fatalf("totals count the observed node: %+v", tot)
	}
	if o := res.Targets[1].Outages(); len(o) != 1 || !o[0].Ongoing {
		t.Fatalf("node outages %+v", o)
	}
}

func TestForBoundsTheRun(t *testing.T) {
	srv, err := watchtest.Start("127.0.0.2")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tg, _ := watch.ParseTarget(srv.Target("node"))
	s, err := watch.New(watch.Config{Targets: []watch.Target{tg}, Interval: 10 * time.Millisecond, For: 200 * time.Millisecond, RootCAs: srv.CAPool})
	if err != nil {
		t.Fatal(err)
	}
	res := s.Run(context.Background())
	if res.Stopped != "for" || res.Targets[0].Streams[watch.Fresh].Sent == 0 {
		t.Fatalf("stopped %q, %+v", res.Stopped, res.Targets[0].Streams[watch.Fresh])
	}
}
