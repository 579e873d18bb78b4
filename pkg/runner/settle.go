package runner

import (
	"context"
	"fmt"
	"github.com/piv-gate/piv/pkg/timeouts"
	"io"
	"strings"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/probe"
	"github.com/piv-gate/piv/pkg/verify"
)

// SettleEvery is how often settling polls health (DESIGN: every ≤ 250 ms).
const SettleEvery = 200 * time.Millisecond

// SettleHeartbeat is how often settling says it is still waiting, so a
// deployer watching a 2-minute settle sees that piv is alive and why the
// node is not ready yet. A variable for tests.
var SettleHeartbeat = 10 * time.Second

// maxSettleChanges bounds the state-change lines of one settle (a flapping
// node changes state on every poll); after it, only the heartbeat speaks.
const maxSettleChanges = 20

// settle waits until the target's health passes app.Settle.Consecutive times
// in a row, bounded by o.Settle. It returns the settle check; ok is false
// when the target never settled (a failed check whose message carries the
// last health answer) or the run was interrupted meanwhile.
func settle(ctx context.Context, o Options, progress io.Writer) (gate.Check, bool) {
	h := o.App.Technical.Health
	n := o.App.Settle.Consecutive
	name := fmt.Sprintf("settle health passes %d times in a row within %s", n, o.Settle)
	check := gate.Check{Name: name, Suite: "settle", Labels: []string{"technical"}, Blocking: true, Attempts: 1, Attachments: []gate.Attachment{}}
	if h == nil {
		check.State = gate.Failed
		check.Failure = &gate.Failure{Message: "--settle needs technical.health in " + o.App.Where("technical")}
		return check, false
	}
	fmt.Fprintf(progress, "piv: settling %s: waiting up to %s for %s to pass %d times in a row\n", o.Target.Where(), o.Settle, h.Path, n)
	sctx, cancel := context.WithTimeout(ctx, o.Settle)
	defer cancel()
	client := o.Target.HTTPClient(nil)
	url := o.Target.URLFor(h.Path)
	start := time.Now()
	say := &settleProgress{w: progress, where: o.Target.Where(), prefix: fmt.Sprintf("GET %s on %s: ", h.Path, o.Target.Where()),
		need: n, start: start, beat: start}
	f := probe.Settle(sctx, func(ctx context.Context) probe.HTTPFact {
		pctx, cancel := context.WithTimeout(ctx, timeouts.Default.SettlePoll)
		defer cancel()
		return probe.HTTP(pctx, client, url)
	}, func(f probe.HTTPFact) (bool, string) {
		if err := verify.Health(f, h, o.Target); err != nil {
			say.poll(false, err.Error())
			return false, err.Error()
		}
		say.poll(true, "")
		return true, ""
	}, n, SettleEvery)
	check.DurationSeconds = time.Since(start).Seconds()
	if f.Settled {
		check.State = gate.Passed
		fmt.Fprintf(progress, "piv: %s settled after %s (%d polls)\n", o.Target.Where(), f.Elapsed.Round(time.Millisecond), f.Polls)
		return check, true
	}
	check.State = gate.Failed
	if ctx.Err() != nil {
		check.State = gate.Aborted
	}
	check.Failure = &gate.Failure{Message: fmt.Sprintf("%s did not settle within %s (%d polls); last health answer: %s",
		o.Target.Where(), o.Settle, f.Polls, f.LastReason)}
	return check, false
}

// settleProgress writes settling's progress: a line when the health answer
// changes (bounded), and a heartbeat every SettleHeartbeat. It runs in the
// polling loop itself, once per poll: no goroutine, nothing to stop.
type settleProgress struct {
	w             io.Writer
	where, prefix string
	need          int
	start, beat   time.Time
	polls         int
	state         string
	changes       int
}

func (p *settleProgress) poll(pass bool, why string) {
	p.polls++
	// One line: the answer's first line (what is wrong), without the
	// "seen:"/"body:" detail the failure message carries.
	state, _, _ := strings.Cut(strings.TrimPrefix(why, p.prefix), "\n")
	if pass {
		state = "health passes"
	}
	if state != p.state {
		p.state = state
		p.changes++
		switch {
		case p.changes <= maxSettleChanges && pass:
			fmt.Fprintf(p.w, "piv: settling %s: health passes (needs %d in a row)\n", p.where, p.need)
		case p.changes <= maxSettleChanges:
			fmt.Fprintf(p.w, "piv: settling %s: %s\n", p.where, state)
		case p.changes == maxSettleChanges+1:
			fmt.Fprintf(p.w, "piv: settling %s: the answer keeps changing; only the heartbeat from here on\n", p.where)
		}
	}
	if now := time.Now(); now.Sub(p.beat) >= SettleHeartbeat {
		p.beat = now
		polls := "polls"
		if p.polls == 1 {
			polls = "poll"
		}
		fmt.Fprintf(p.w, "piv: settling %s: %s, %d %s, last: %s\n", p.where, now.Sub(p.start).Round(time.Second), p.polls, polls, p.state)
	}
}
