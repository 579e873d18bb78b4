package runner

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/probe"
	"github.com/piv-gate/piv/pkg/verify"
)

// SettleEvery is how often settling polls health (DESIGN: every ≤ 250 ms).
const SettleEvery = 200 * time.Millisecond

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
	f := probe.Settle(sctx, func(ctx context.Context) probe.HTTPFact {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return probe.HTTP(pctx, client, url)
	}, func(f probe.HTTPFact) (bool, string) {
		if err := verify.Health(f, h, o.Target); err != nil {
			return false, err.Error()
		}
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
