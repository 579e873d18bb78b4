package probe

import (
	"context"
	"math"
	"net/http"
	"slices"
	"time"
)

// LatencyFact is n sequential GETs to one URL and their timing.
type LatencyFact struct {
	URL       string
	Requested int
	Samples   []time.Duration // successful requests only, in order
	Errors    int             // requests that failed (transport error)
	FirstErr  string
	P50       time.Duration // nearest-rank percentiles over Samples
	P95       time.Duration
	Max       time.Duration
}

// Latency sends n GETs one after another, as a single client would, so after
// the first they travel over a warm connection: the figure is the target's
// response time, not handshake cost or our own concurrency. A failed request
// counts in Errors and adds no sample. It stops early when ctx ends; the
// shortfall shows as Samples+Errors < Requested.
func Latency(ctx context.Context, client *http.Client, url string, n int) LatencyFact {
	f := LatencyFact{URL: url, Requested: n, Samples: make([]time.Duration, 0, max(n, 0))}
	for i := 0; i < n && ctx.Err() == nil; i++ {
		h := HTTP(ctx, client, url)
		if h.Err != "" {
			f.Errors++
			if f.FirstErr == "" {
				f.FirstErr = h.Err
			}
			continue
		}
		f.Samples = append(f.Samples, h.Elapsed)
	}
	f.P50 = Percentile(f.Samples, 50)
	f.P95 = Percentile(f.Samples, 95)
	f.Max = Percentile(f.Samples, 100)
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
