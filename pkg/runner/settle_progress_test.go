package runner

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/target"
)

// A node that answers 503 a few times and then comes up: settling says
// what it sees when it changes, beats while it waits, and says when it
// settled, on the progress writer.
func TestSettleProgressStateChangesAndHeartbeat(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 3 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ok"))
	}))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Listener = l
	srv.Start()
	defer srv.Close()

	dir := t.TempDir()
	def := filepath.Join(dir, "node.yaml")
	os.WriteFile(def, []byte(fmt.Sprintf(`app: node
service:
  url: %s
technical:
  health: { path: /health, status: 200 }
settle: { timeout: 30s, consecutive: 2 }
`, srv.URL)), 0o644)
	app, err := config.Load(def)
	if err != nil {
		t.Fatal(err)
	}
	old := SettleHeartbeat
	SettleHeartbeat = time.Nanosecond // a beat on every poll: no waiting in the test
	defer func() { SettleHeartbeat = old }()

	var progress bytes.Buffer
	check, ok := settle(context.Background(), Options{App: app, Target: target.ForService(app), Settle: 30 * time.Second}, &progress)
	if !ok {
		t.Fatalf("did not settle: %+v\n%s", check, progress.String())
	}
	out := progress.String()
	where := target.ForService(app).Where()
	for _, want := range []string{
		"piv: settling " + where + ": expected status 200, got 503",
		"piv: settling " + where + ": health passes (needs 2 in a row)\n",
		", 5 polls, last: health passes\n",
		"piv: " + where + " settled after",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("progress lacks %q:\n%s", want, out)
		}
	}
	// A state change is said once, not on every poll: 3 polls of 503, one line.
	if c := strings.Count(out, where+": expected status 200, got 503\n"); c != 1 {
		t.Errorf("the 503 state was reported %d times, want once (the heartbeat repeats it with 'last:'):\n%s", c, out)
	}
}

// A flapping node changes state on every poll: the change lines stop at
// maxSettleChanges, then one line says so, then only the heartbeat.
func TestSettleProgressIsBounded(t *testing.T) {
	var out bytes.Buffer
	start := time.Now()
	p := &settleProgress{w: &out, where: "node n", prefix: "GET /h on node n: ", need: 3, start: start, beat: start.Add(time.Hour)}
	for i := 0; i < 500; i++ {
		p.poll(i%2 == 0, fmt.Sprintf("GET /h on node n: poll %d failed", i))
	}
	lines := strings.Count(out.String(), "\n")
	if lines != maxSettleChanges+1 {
		t.Fatalf("%d lines for 500 changing polls, want %d:\n%s", lines, maxSettleChanges+1, out.String())
	}
	if !strings.HasSuffix(out.String(), "only the heartbeat from here on\n") {
		t.Fatalf("last line:\n%s", out.String())
	}
}
