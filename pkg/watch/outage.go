package watch

import (
	"sort"
	"time"
)

// Outage is one interval during which a stream (or a target, when streams
// are merged) was failing: from the start of its first failed sample to the
// start of the first successful sample after it. Using sample start times on
// both ends makes the interval a property of when requests were sent, not of
// how long the failing ones took to fail (a refused connect fails in
// microseconds, a hang fails at the timeout).
type Outage struct {
	Start time.Duration // offset of the first failed sample from the run start
	End   time.Duration // offset of the first successful sample after it; run end when Ongoing
	// Ongoing: no success followed before the run ended, so End is the
	// run's end and the real outage may be longer.
	Ongoing       bool
	FailedSamples int
	Kinds         KindSet
}

// Duration is End-Start.
func (o Outage) Duration() time.Duration { return o.End - o.Start }

// maxOutagesKept bounds the outage list of one stream. A target that flaps
// on every other sample for an hour would otherwise produce 36,000 intervals;
// beyond the bound the tracker still counts them (Dropped) and still tracks
// the longest one.
const maxOutagesKept = 10000

// Tracker turns a start-ordered sequence of samples into outage intervals.
// It is pure bookkeeping, fed one sample at a time so that the sampler does
// not need to keep every sample to know its outages.
type Tracker struct {
	outages []Outage
	open    *Outage
	dropped int
	longest time.Duration
	last    time.Duration // start of the last sample seen
}

// Add records one sample. Samples must arrive in start order.
func (t *Tracker) Add(start time.Duration, k Kind) {
	t.last = start
	if k == KindOK {
		if t.open != nil {
			t.open.End = start
			t.closeOpen()
		}
		return
	}
	if t.open == nil {
		t.open = &Outage{Start: start}
	}
	t.open.FailedSamples++
	t.open.Kinds = t.open.Kinds.With(k)
}

func (t *Tracker) closeOpen() {
	o := *t.open
	t.open = nil
	if d := o.Duration(); d > t.longest {
		t.longest = d
	}
	if len(t.outages) >= maxOutagesKept {
		t.dropped++
		return
	}
	t.outages = append(t.outages, o)
}

// Finish closes an outage still open at the run's end (offset end) as
// Ongoing and returns the intervals kept, how many were dropped beyond the
// bound, and the longest duration (including dropped ones).
func (t *Tracker) Finish(end time.Duration) (outages []Outage, dropped int, longest time.Duration) {
	if t.open != nil {
		if end < t.last {
			end = t.last
		}
		t.open.End = end
		t.open.Ongoing = true
		t.closeOpen()
	}
	return t.outages, t.dropped, t.longest
}

// InOutage reports whether the last sample seen failed.
func (t *Tracker) InOutage() bool { return t.open != nil }

// Merge is the union of several streams' outage intervals: a target is
// considered down whenever any of its streams was (a customer on that kind
// of connection would have failed). Overlapping or touching intervals become
// one, with their failed samples summed and kinds united.
func Merge(lists ...[]Outage) []Outage {
	var all []Outage
	for _, l := range lists {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return nil
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Start < all[j].Start })
	out := []Outage{all[0]}
	for _, o := range all[1:] {
		cur := &out[len(out)-1]
		if o.Start <= cur.End {
			if o.End > cur.End {
				cur.End = o.End
				cur.Ongoing = o.Ongoing
			} else if o.End == cur.End {
				cur.Ongoing = cur.Ongoing || o.Ongoing
			}
			cur.FailedSamples += o.FailedSamples
			cur.Kinds |= o.Kinds
			continue
		}
		out = append(out, o)
	}
	return out
}

// Longest is the longest duration among outages.
func Longest(outages []Outage) time.Duration {
	var l time.Duration
	for _, o := range outages {
		if d := o.Duration(); d > l {
			l = d
		}
	}
	return l
}
