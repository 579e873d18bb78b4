package watch_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/watch"
)

// A server that closes idle keep-alive connections between requests (a
// short idle timeout here; a graceful stop or a drained node does the
// same) loses no request: the keepalive stream notices the close before it
// sends, as every HTTP client does, and dials again. Counted as a failure,
// every graceful shutdown in a rollout would look like lost traffic.
func TestIdleCloseBetweenSamplesIsNotAFailure(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	}))
	srv.Config.IdleTimeout = 2 * time.Millisecond // closes every connection idle between samples
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.StartTLS()
	defer srv.Close()
	tg, err := watch.ParseTarget("node=" + srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	s, cancel, done := startSampler(t, watch.Config{Targets: []watch.Target{tg}, Interval: 50 * time.Millisecond, RootCAs: pool})
	waitFor(t, "30 keepalive samples", func() bool { return s.Snapshot().Targets[0].Streams[watch.KeepAlive].Sent >= 30 })
	cancel()
	res := <-done
	ka := res.Targets[0].Streams[watch.KeepAlive]
	if ka.Failed != 0 {
		t.Fatalf("keepalive: %d of %d failed (%v): an idle connection closed by the server was reused", ka.Failed, ka.Sent, ka.Outages)
	}
	if v, reason := watch.Judge(res, watch.Limits{}); v != gate.Pass {
		t.Fatalf("%s: %s", v, reason)
	}
	// The server really closed them: about one connection per keepalive sample.
	if fresh := res.Targets[0].Streams[watch.Fresh].Sent; conns.Load() < int64(fresh+ka.Sent/2) {
		t.Fatalf("only %d connections for %d fresh and %d keepalive samples: the idle timeout did not close them", conns.Load(), fresh, ka.Sent)
	}
}
