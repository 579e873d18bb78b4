package watch

import (
	"fmt"
	"strings"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
)

// Limits are what a run may lose and still pass (piv watch --max-failed,
// --max-outage). The zero value is the zero-downtime promise: nothing.
type Limits struct {
	MaxFailed int           // failed samples over all judged targets and streams
	MaxOutage time.Duration // longest outage of any judged target
}

// Totals sums the judged targets (observed-only targets are reported, never
// counted here).
type Totals struct {
	Sent, OK, Failed, SamplerErrors, Skipped, Discarded int
	Longest                                             time.Duration
	Outages                                             int
}

// Outages is the target's outage intervals: the union of its streams'.
func (t TargetResult) Outages() []Outage {
	return Merge(t.Streams[Fresh].Outages, t.Streams[KeepAlive].Outages)
}

// Longest is the target's longest outage, including intervals beyond the
// kept bound.
func (t TargetResult) Longest() time.Duration {
	l := Longest(t.Outages())
	for _, s := range t.Streams {
		l = max(l, s.Longest)
	}
	return l
}

// Sum adds up the target's streams.
func (t TargetResult) Sum() (sent, ok, failed, samplerErrors, skipped, discarded int) {
	for _, s := range t.Streams {
		sent += s.Sent
		ok += s.OK
		failed += s.Failed
		samplerErrors += s.SamplerErrors
		skipped += s.Skipped
		discarded += s.Discarded
	}
	return
}

// Totals sums the judged targets.
func (r *Result) Totals() Totals {
	var tot Totals
	for _, t := range r.Targets {
		if !t.Target.Judged {
			continue
		}
		sent, ok, failed, se, sk, di := t.Sum()
		tot.Sent += sent
		tot.OK += ok
		tot.Failed += failed
		tot.SamplerErrors += se
		tot.Skipped += sk
		tot.Discarded += di
		tot.Longest = max(tot.Longest, t.Longest())
		tot.Outages += len(t.Outages())
	}
	return tot
}

// Judge decides the run. It is the only place that does; the renderers and
// the command only carry its answer. It is apart from gate.DecideRun because
// its facts are different (samples and outages over time, not checks), but
// it answers in the same gate.Verdict, which maps to an exit code in the
// same one way (gate.Verdict.ExitCode).
//
//   - inconclusive when the measurement cannot be trusted: no judged target,
//     a judged stream that never got one successful answer (a wrong URL, CA
//     or address looks exactly like a total outage, and a gate must not
//     guess which), or samples the sampler failed to take that could hide
//     enough failures to change a pass (worst case: every untaken sample
//     would have failed).
//   - fail when the target lost more than the limits allow. A proven
//     failure is reported even if the sampler also had trouble.
//   - pass otherwise.
func Judge(r *Result, lim Limits) (gate.Verdict, string) {
	var judged []TargetResult
	for _, t := range r.Targets {
		if t.Target.Judged {
			judged = append(judged, t)
		}
	}
	if len(judged) == 0 {
		return gate.Inconclusive, "no judged target (every target is --observe)"
	}
	tot := r.Totals()
	if tot.Sent == 0 {
		return gate.Inconclusive, fmt.Sprintf("no sample completed in %v (%d sampler errors)", r.Duration.Round(time.Millisecond), tot.SamplerErrors)
	}
	var never []string
	for _, t := range judged {
		for _, s := range t.Streams {
			if s.OK == 0 {
				kinds := KindSet(0)
				for _, o := range s.Outages {
					kinds |= o.Kinds
				}
				detail := "no sample completed"
				if s.Sent > 0 {
					detail = fmt.Sprintf("%d of %d failed: %s", s.Failed, s.Sent, strings.Join(kinds.Strings(), ", "))
				}
				never = append(never, fmt.Sprintf("%s (%s): %s", t.Target.Name, s.Stream, detail))
			}
		}
	}
	if len(never) > 0 {
		return gate.Inconclusive, "never answered, so an outage cannot be told from a wrong URL, address or CA: " + strings.Join(never, "; ")
	}

	var why []string
	if tot.Failed > lim.MaxFailed {
		why = append(why, fmt.Sprintf("%d failed requests (limit %d)", tot.Failed, lim.MaxFailed))
	}
	if tot.Longest > lim.MaxOutage {
		why = append(why, fmt.Sprintf("longest outage %v (limit %v)", tot.Longest.Round(time.Millisecond), lim.MaxOutage))
	}
	if len(why) > 0 {
		var where []string
		for _, t := range judged {
			_, _, failed, _, _, _ := t.Sum()
			if failed > 0 {
				where = append(where, fmt.Sprintf("%s %d failed in %d outage(s)", t.Target.Name, failed, len(t.Outages())))
			}
		}
		return gate.Fail, strings.Join(why, ", ") + ": " + strings.Join(where, "; ")
	}
	if untaken := tot.SamplerErrors + tot.Skipped; tot.Failed+untaken > lim.MaxFailed {
		return gate.Inconclusive, fmt.Sprintf("%d samples could not be taken (%d sampler errors, %d skipped at the in-flight cap): had they failed, the limit of %d failed would be exceeded",
			untaken, tot.SamplerErrors, tot.Skipped, lim.MaxFailed)
	}
	return gate.Pass, ""
}
