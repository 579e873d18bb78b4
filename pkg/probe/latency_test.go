package probe

import (
	"testing"
	"time"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
)

func TestLatencyCountsSamples(t *testing.T) {
	ln := listen(t, "127.0.0.2", 0)
	quoteNode(t, ln, app.Options{})
	tg := pinned(t, ln.Addr().String())
	f := Latency(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"), 7, Timeouts{}, nil)
	if len(f.Samples) != 7 || f.Errors != 0 || f.Requested != 7 || f.FirstErr != "" {
		t.Fatalf("got %+v", f)
	}
	if f.P50 <= 0 || f.P50 > f.P95 || f.P95 > f.Max {
		t.Errorf("P50 %v P95 %v Max %v", f.P50, f.P95, f.Max)
	}
}

// A refused sample ends the sampling: the check has failed, and the rest
// would only cost time.
func TestLatencyErrorsCount(t *testing.T) {
	ln := listen(t, "127.0.0.2", 0)
	addr := ln.Addr().String()
	ln.Close()
	tg := pinned(t, addr)
	f := Latency(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"), 3, Timeouts{}, nil)
	if len(f.Samples) != 0 || f.Errors != 1 || f.FirstErr != "no answer: connection refused" || f.P95 != 0 || f.Stopped == "" {
		t.Fatalf("got %+v", f)
	}
}

func TestPercentileNearestRank(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	// 1..20 shuffled: nearest rank p95 of 20 is the 19th value.
	twenty := ms(20, 3, 17, 1, 5, 19, 2, 11, 8, 14, 4, 6, 18, 7, 9, 10, 12, 13, 15, 16)
	cases := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 95, 0},
		{"one", ms(42), 50, 42 * time.Millisecond},
		{"one p95", ms(42), 95, 42 * time.Millisecond},
		{"twenty p50", twenty, 50, 10 * time.Millisecond},
		{"twenty p95", twenty, 95, 19 * time.Millisecond},
		{"twenty max", twenty, 100, 20 * time.Millisecond},
		{"five p95", ms(15, 20, 35, 40, 50), 95, 50 * time.Millisecond},
		{"five p30", ms(50, 40, 35, 20, 15), 30, 20 * time.Millisecond},
		{"five p40", ms(15, 20, 35, 40, 50), 40, 20 * time.Millisecond},
		{"five p50", ms(15, 20, 35, 40, 50), 50, 35 * time.Millisecond},
		{"p0 is the minimum", ms(3, 1, 2), 0, 1 * time.Millisecond},
	}
	for _, c := range cases {
		if got := Percentile(c.samples, c.p); got != c.want {
			t.Errorf("%s: Percentile(p%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
	in := ms(3, 1, 2)
	Percentile(in, 50)
	if in[0] != 3*time.Millisecond {
		t.Error("Percentile reordered its input")
	}
}
