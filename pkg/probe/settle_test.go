package probe

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
	"github.com/piv-gate/piv/pkg/target"
)

// healthUp is the judgement a settle caller supplies: 200 and status UP.
func healthUp(f HTTPFact) (bool, string) {
	switch {
	case f.Err != "":
		return false, f.Err
	case f.Status != 200:
		return false, fmt.Sprintf("status %d, body %s", f.Status, f.Body)
	case f.JSON("status").String() != "UP":
		return false, fmt.Sprintf("status is %q", f.JSON("status"))
	}
	return true, ""
}

func healthPoll(tg target.Target) func(context.Context) HTTPFact {
	client := tg.HTTPClient(nil)
	return func(ctx context.Context) HTTPFact { return HTTP(ctx, client, tg.URLFor("/health")) }
}

func TestSettleAfterWarmup(t *testing.T) {
	ln := listen(t, "127.0.0.2", 0)
	quoteNode(t, ln, app.Options{Warmup: 600 * time.Millisecond})
	tg := pinned(t, ln.Addr().String())
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	f := Settle(ctx, healthPoll(tg), healthUp, 3, 50*time.Millisecond)
	if !f.Settled || f.LastReason != "" || f.Last.Status != 200 {
		t.Fatalf("want settled, got %+v", f)
	}
	if f.Polls <= 3 {
		t.Errorf("Polls = %d: warm-up should have failed the first polls", f.Polls)
	}
}

func TestSettleImmediatelyWhenUp(t *testing.T) {
	ln := listen(t, "127.0.0.2", 0)
	quoteNode(t, ln, app.Options{})
	tg := pinned(t, ln.Addr().String())
	f := Settle(t.Context(), healthPoll(tg), healthUp, 1, time.Second)
	if !f.Settled || f.Polls != 1 {
		t.Fatalf("want settled on the first poll, got %+v", f)
	}
}

func TestSettleHealthDownNeverSettles(t *testing.T) {
	ln := listen(t, "127.0.0.2", 0)
	quoteNode(t, ln, app.Options{Faults: []app.Fault{app.FaultHealthDown}})
	tg := pinned(t, ln.Addr().String())
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	f := Settle(ctx, healthPoll(tg), healthUp, 3, 100*time.Millisecond)
	if f.Settled || f.Polls < 1 {
		t.Fatalf("want unsettled, got %+v", f)
	}
	if f.Last.Status != 503 || f.Last.JSON("status").String() != "DOWN" {
		t.Errorf("Last should be the node's last real answer, got %+v", f.Last)
	}
	if !strings.HasPrefix(f.LastReason, "status 503") {
		t.Errorf("LastReason = %q", f.LastReason)
	}
}

func TestSettleResetsOnFlap(t *testing.T) {
	// pass, fail, pass, pass → settles on the 4th poll with consecutive 2.
	answers := []bool{true, false, true, true, true}
	i := 0
	poll := func(context.Context) HTTPFact { i++; return HTTPFact{Status: 200} }
	ok := func(HTTPFact) (bool, string) { return answers[i-1], "flap" }
	f := Settle(t.Context(), poll, ok, 2, time.Millisecond)
	if !f.Settled || f.Polls != 4 {
		t.Fatalf("got %+v", f)
	}
}
