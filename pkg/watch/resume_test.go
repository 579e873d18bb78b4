package watch_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/watch"
)

// The fresh stream opens a new connection per sample; it resumes the TLS
// session in between, but still does a full handshake (certificate chain
// verified) at least once a second, so a wrong certificate is seen within
// a second while twenty handshakes a second stay cheap.
func TestFreshStreamFullHandshakeEverySecond(t *testing.T) {
	var mu sync.Mutex
	full, resumed := 0, 0
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Piv-Watch-Stream") == "fresh" {
			mu.Lock()
			if r.TLS.DidResume {
				resumed++
			} else {
				full++
			}
			mu.Unlock()
		}
		w.Write([]byte("ok\n"))
	}))
	srv.StartTLS()
	defer srv.Close()
	tg, err := watch.ParseTarget("node=" + srv.URL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	pool := srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs
	const interval = 10 * time.Millisecond // fullEvery = 100
	s, cancel, done := startSampler(t, watch.Config{Targets: []watch.Target{tg}, Interval: interval, RootCAs: pool})
	waitFor(t, "250 fresh samples", func() bool { return s.Snapshot().Targets[0].Streams[watch.Fresh].Sent >= 250 })
	cancel()
	res := <-done
	st := res.Targets[0].Streams[watch.Fresh]
	mu.Lock()
	defer mu.Unlock()
	if st.Failed != 0 || full+resumed != st.Sent {
		t.Fatalf("fresh: sent %d failed %d; server saw %d full + %d resumed", st.Sent, st.Failed, full, resumed)
	}
	// Samples 0, 100, 200 are full by design, and sample 1 (nothing cached yet).
	if full < st.Sent/100+1 || resumed < st.Sent/2 {
		t.Fatalf("%d samples: %d full handshakes, %d resumed: want a full one every 100 samples (1s) and the rest mostly resumed", st.Sent, full, resumed)
	}
	t.Logf("%d fresh samples: %d full handshakes, %d resumed", st.Sent, full, resumed)
}
