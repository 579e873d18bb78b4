package session

import (
	"strings"
	"sync"
	"testing"
	"time"
)

// signalWriter records writes and says when a heartbeat line came.
type signalWriter struct {
	mu    sync.Mutex
	lines []string
	beat  chan struct{}
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, string(p))
	if strings.HasPrefix(string(p), "piv: starting image") {
		select {
		case w.beat <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

func (w *signalWriter) count() int { w.mu.Lock(); defer w.mu.Unlock(); return len(w.lines) }

// Starting an image beats with the last step it reported, and stop leaves
// nothing running: not one write after it returns.
func TestImageHeartbeatRepeatsLastStepAndStops(t *testing.T) {
	w := &signalWriter{beat: make(chan struct{}, 1)}
	steps := &lastLine{w: w}
	steps.Write([]byte("ephemeral: waiting for /health on quote (container 3f2a)        [ 1.25s]\n"))
	stop := heartbeat(steps, "piv: starting image quote:2.4.2", time.Millisecond)
	select {
	case <-w.beat:
	case <-time.After(30 * time.Second):
		stop()
		t.Fatal("no heartbeat within 30s at a 1ms interval")
	}
	stop()
	n := w.count()
	var beat string
	w.mu.Lock()
	for _, l := range w.lines {
		if strings.HasPrefix(l, "piv: starting image") {
			beat = l
			break
		}
	}
	w.mu.Unlock()
	if !strings.HasSuffix(beat, ", last: waiting for /health on quote (container 3f2a)\n") || !strings.Contains(beat, "piv: starting image quote:2.4.2: ") {
		t.Fatalf("heartbeat line %q", beat)
	}
	// stop waited for the goroutine: whatever it could write is written.
	if w.count() != n {
		t.Fatalf("%d writes after stop returned", w.count()-n)
	}
}
