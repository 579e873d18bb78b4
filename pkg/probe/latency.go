package probe

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"
)

// LatencyFact is up to n sequential GETs to one URL and their timing.
type LatencyFact struct {
	URL       string
	Requested int
	Samples   []time.Duration // answers that were whole and accepted, in order
	Errors    int             // samples that failed (no answer, incomplete body, rejected): 0 or 1, since sampling stops at the first
	FirstErr  string
	// Stopped says why sampling ended before Requested samples ("first
	// sample failed: timed out after 10s", "cancelled"); "" when all ran.
	Stopped string
	P50     time.Duration // nearest-rank percentiles over Samples
	P95     time.Duration
	Max     time.Duration
	Elapsed time.Duration // the whole probe
}

// Latency sends up to n GETs one after another, as a single client would,
// so after the first they travel over a warm connection: the figure is the
// target's response time, not handshake cost or our own concurrency. Each
// GET is bounded by tm.Exchange, body included.
//
// accept, when not nil, says why an answer does not count as a sample ("" to
// accept it): a fast maintenance page is not a fast service. It is the
// caller's judgement (pkg/verify); the probe only records it.
//
// Sampling stops at the first failed sample (no answer, a body incomplete or
// over MaxBody, or rejected by accept) and Stopped says why: the latency
// check has failed by then, and a node that completes TLS but never answers
// would otherwise cost n × tm.Exchange. It also stops when ctx ends.
func Latency(ctx context.Context, client *http.Client, url string, n int, tm Timeouts, accept func(HTTPFact) string) LatencyFact {
	tm = tm.withDefaults()
	start := time.Now()
	f := LatencyFact{URL: url, Requested: n, Samples: make([]time.Duration, 0, max(n, 0))}
	for i := 0; i < n; i++ {
		if ctx.Err() != nil {
			f.Stopped = fmt.Sprintf("%s after %d of %d samples", reason(ctx.Err(), time.Since(start)), i, n)
			break
		}
		h := HTTPWithin(ctx, client, url, tm.Exchange)
		why := h.Incomplete()
		if why == "" && accept != nil {
			why = accept(h)
		}
		if why != "" {
			f.Errors++
			f.FirstErr = why
			if i+1 < n {
				f.Stopped = fmt.Sprintf("sample %d of %d failed, so the remaining %d were not sent", i+1, n, n-i-1)
			}
			break
		}
		f.Samples = append(f.Samples, h.Elapsed)
	}
	f.P50 = Percentile(f.Samples, 50)
	f.P95 = Percentile(f.Samples, 95)
	f.Max = Percentile(f.Samples, 100)
	f.Elapsed = time.Since(start)
	return f
}

// Percentile is the nearest-rank percentile p (0 < p ≤ 100) of samples: the
// smallest sample such that at least p% of samples are ≤ it. Nearest rank
// always returns an observed value, so "p95 = 212ms" is a response someone
// actually waited for. Zero for no samples.
func Percentile(samples []time.Duration, p float64) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	sorted := slices.Clone(samples)
	slices.Sort(sorted)
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}
