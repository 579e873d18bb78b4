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
// flapping node has not settled. When ctx ends mid-poll, Last stays the
// previous complete answer (the "503 DOWN" a deployer needs to see), not the
// interrupted request.
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
polling:
	for f.Polls < MaxSettlePolls {
		fact := poll(ctx)
		f.Polls++
		if fact.Err != "" && ctx.Err() != nil && f.Polls > 1 {
			// Cut short by the deadline: "timed out" says nothing about
			// the node, so the previous real answer stays the evidence.
			break
		}
		f.Last = fact
		pass, why := ok(fact)
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
			break polling
		case <-ticker.C:
		}
	}
	f.Elapsed = time.Since(start)
	if !f.Settled && f.LastReason == "" {
		// The last polls passed but not enough of them in a row.
		f.LastReason = fmt.Sprintf("%d of %d passes in a row when polling stopped after %s (%d polls)", run, consecutive, round(f.Elapsed), f.Polls)
	}
	return f
}
