package probe

import (
	"context"
	"fmt"
	"time"
)

// MaxSettleEvery is the longest pause between settle polls: a node that has
// come up should be noticed within a quarter second, since every pipeline
// step waits on it.
const MaxSettleEvery = 250 * time.Millisecond

// MaxSettlePolls bounds Settle even if ctx has no deadline (10 minutes at
// MaxSettleEvery).
const MaxSettlePolls = 2400

// SettleFact is the outcome of waiting for a fresh node to become healthy.
type SettleFact struct {
	Settled    bool
	Polls      int
	Elapsed    time.Duration
	Last       HTTPFact // the last answer seen: the evidence when it never settled
	LastReason string   // why the last poll did not pass, from ok
}

// Settle polls until ok passes consecutive times in a row, ctx ends, or
// MaxSettlePolls is reached. The first poll is immediate (a node that is
// already up costs one round trip); later polls follow a ticker every
// `every`, clamped to MaxSettleEvery, so a slow poll does not add its own
// duration to the interval. Any failing poll resets the run of passes: a
// flapping node has not settled.
func Settle(ctx context.Context, poll func(context.Context) HTTPFact, ok func(HTTPFact) (bool, string), consecutive int, every time.Duration) SettleFact {
	if every <= 0 || every > MaxSettleEvery {
		every = MaxSettleEvery
	}
	consecutive = max(consecutive, 1)
	start := time.Now()
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	var f SettleFact
	run := 0
	for f.Polls < MaxSettlePolls {
		f.Last = poll(ctx)
		f.Polls++
		pass, why := ok(f.Last)
		if pass {
			run++
			f.LastReason = ""
		} else {
			run = 0
			f.LastReason = why
		}
		if run >= consecutive {
			f.Settled = true
			break
		}
		select {
		case <-ctx.Done():
			f.Elapsed = time.Since(start)
			if f.LastReason == "" {
				f.LastReason = fmt.Sprintf("stopped after %s with %d of %d passes in a row", round(f.Elapsed), run, consecutive)
			}
			return f
		case <-ticker.C:
		}
	}
	f.Elapsed = time.Since(start)
	if !f.Settled && f.LastReason == "" {
		f.LastReason = fmt.Sprintf("gave up after %d polls", f.Polls)
	}
	return f
}
