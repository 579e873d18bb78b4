package watch

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
)

// Schema identifies continuity.json's format. A change that removes or
// renames a field gets a new version.
const Schema = "piv.continuity/v1"

// Report is continuity.json: the canonical record of a run, judged. The
// HTML and text renderings are pure functions of it, so anything that reads
// continuity.json back (the gate's HTML report) can render the same chart.
// Durations are float seconds in fields named ...Seconds, with Go duration
// strings beside them where a human sets them (interval, limits).
type Report struct {
	Schema          string         `json:"schema"`
	StartedAt       time.Time      `json:"startedAt"`
	DurationSeconds float64        `json:"durationSeconds"`
	Interval        string         `json:"interval"`
	IntervalSeconds float64        `json:"intervalSeconds"`
	Timeout         string         `json:"timeout"`
	TimeoutSeconds  float64        `json:"timeoutSeconds"`
	Stopped         string         `json:"stopped"` // "for", "signal" or "max-duration"
	Limits          ReportLimits   `json:"limits"`
	Verdict         gate.Verdict   `json:"verdict"`
	Reason          string         `json:"reason"`
	Totals          ReportTotals   `json:"totals"`
	Targets         []ReportTarget `json:"targets"`
}

// ReportLimits echoes the limits the verdict was judged against.
type ReportLimits struct {
	MaxFailed        int     `json:"maxFailed"`
	MaxOutage        string  `json:"maxOutage"`
	MaxOutageSeconds float64 `json:"maxOutageSeconds"`
}

// ReportTotals sums the judged targets only (observed targets are in
// targets[] with judged=false).
type ReportTotals struct {
	Sent                 int     `json:"sent"`
	OK                   int     `json:"ok"`
	Failed               int     `json:"failed"`
	SamplerErrors        int     `json:"samplerErrors"`
	Skipped              int     `json:"skipped"`
	Discarded            int     `json:"discarded"`
	Outages              int     `json:"outages"`
	LongestOutageSeconds float64 `json:"longestOutageSeconds"`
}

// ReportTarget is one target: its streams, and its outages as the union of
// the streams' outages.
type ReportTarget struct {
	Name                 string          `json:"name"`
	URL                  string          `json:"url"`
	Address              string          `json:"address"`
	Pinned               bool            `json:"pinned"`
	Judged               bool            `json:"judged"`
	Sent                 int             `json:"sent"`
	OK                   int             `json:"ok"`
	Failed               int             `json:"failed"`
	SamplerErrors        int             `json:"samplerErrors"`
	Availability         float64         `json:"availability"` // ok/sent, 0 when nothing was sent
	Latency              ReportLatency   `json:"latency"`
	LongestOutageSeconds float64         `json:"longestOutageSeconds"`
	Outages              []ReportOutage  `json:"outages"`
	Streams              ReportStreamSet `json:"streams"`
}

// ReportStreamSet holds the two streams by name.
type ReportStreamSet struct {
	Fresh     ReportStream `json:"fresh"`
	KeepAlive ReportStream `json:"keepalive"`
}

// ReportStream is one stream's counts, latency, outages and time series.
type ReportStream struct {
	Sent                 int            `json:"sent"`
	OK                   int            `json:"ok"`
	Failed               int            `json:"failed"`
	SamplerErrors        int            `json:"samplerErrors"`
	SamplerErrorKinds    map[string]int `json:"samplerErrorKinds,omitempty"`
	Discarded            int            `json:"discarded"`
	Skipped              int            `json:"skipped"`
	FirstOKSeconds       *float64       `json:"firstOkSeconds"` // null: never answered
	Latency              ReportLatency  `json:"latency"`
	LongestOutageSeconds float64        `json:"longestOutageSeconds"`
	Outages              []ReportOutage `json:"outages"`
	OutagesDropped       int            `json:"outagesDropped,omitempty"`
	SamplesTruncated     bool           `json:"samplesTruncated,omitempty"`
	Series               ReportSeries   `json:"series"`
}

// ReportLatency is over successful samples only (a timeout's "latency" is
// the timeout). Seconds.
type ReportLatency struct {
	Samples    int     `json:"samples"`
	P50Seconds float64 `json:"p50Seconds"`
	P95Seconds float64 `json:"p95Seconds"`
	P99Seconds float64 `json:"p99Seconds"`
	MaxSeconds float64 `json:"maxSeconds"`
}

// ReportOutage is one interval: from the first failed sample's start to the
// first successful sample's start after it.
type ReportOutage struct {
	Start              time.Time `json:"start"`
	End                time.Time `json:"end"`
	StartOffsetSeconds float64   `json:"startOffsetSeconds"`
	EndOffsetSeconds   float64   `json:"endOffsetSeconds"`
	DurationSeconds    float64   `json:"durationSeconds"`
	FailedSamples      int       `json:"failedSamples"`
	Kinds              []string  `json:"kinds"`
	Ongoing            bool      `json:"ongoing"` // still failing when sampling stopped
}

// ReportSeries is the stream over time in fixed buckets (at most
// maxBuckets), enough to chart availability and latency.
type ReportSeries struct {
	BucketSeconds float64       `json:"bucketSeconds"`
	Points        []ReportPoint `json:"points"`
}

// ReportPoint is one bucket. T is the bucket's start offset in seconds.
type ReportPoint struct {
	T          float64 `json:"t"`
	Sent       int     `json:"sent"`
	Failed     int     `json:"failed"`
	P50Seconds float64 `json:"p50Seconds"` // of the bucket's successful samples; 0 if none
	MaxSeconds float64 `json:"maxSeconds"`
}

const maxBuckets = 600

// BuildReport turns facts and their judgement into the report document.
func BuildReport(r *Result, lim Limits, v gate.Verdict, reason string) *Report {
	tot := r.Totals()
	rep := &Report{
		Schema:          Schema,
		StartedAt:       r.StartedAt.UTC().Round(time.Millisecond),
		DurationSeconds: secs(r.Duration),
		Interval:        r.Interval.String(),
		IntervalSeconds: secs(r.Interval),
		Timeout:         r.Timeout.String(),
		TimeoutSeconds:  secs(r.Timeout),
		Stopped:         r.Stopped,
		Limits:          ReportLimits{MaxFailed: lim.MaxFailed, MaxOutage: lim.MaxOutage.String(), MaxOutageSeconds: secs(lim.MaxOutage)},
		Verdict:         v,
		Reason:          reason,
		Totals: ReportTotals{
			Sent: tot.Sent, OK: tot.OK, Failed: tot.Failed, SamplerErrors: tot.SamplerErrors,
			Skipped: tot.Skipped, Discarded: tot.Discarded, Outages: tot.Outages,
			LongestOutageSeconds: secs(tot.Longest),
		},
		Targets: []ReportTarget{},
	}
	bucket := bucketFor(r.Duration, r.Interval)
	for _, t := range r.Targets {
		sent, ok, failed, se, _, _ := t.Sum()
		rt := ReportTarget{
			Name: t.Target.Name, URL: t.Target.URL, Address: t.Target.Address,
			Pinned: t.Target.Pinned, Judged: t.Target.Judged,
			Sent: sent, OK: ok, Failed: failed, SamplerErrors: se,
			Latency:              latency(t.Streams[Fresh].Samples, t.Streams[KeepAlive].Samples),
			LongestOutageSeconds: secs(t.Longest()),
			Outages:              reportOutages(r.StartedAt, t.Outages()),
		}
		if sent > 0 {
			rt.Availability = float64(ok) / float64(sent)
		}
		rt.Streams.Fresh = reportStream(r, t.Streams[Fresh], bucket)
		rt.Streams.KeepAlive = reportStream(r, t.Streams[KeepAlive], bucket)
		rep.Targets = append(rep.Targets, rt)
	}
	return rep
}

func reportStream(r *Result, s StreamResult, bucket time.Duration) ReportStream {
	rs := ReportStream{
		Sent: s.Sent, OK: s.OK, Failed: s.Failed, SamplerErrors: s.SamplerErrors,
		Discarded: s.Discarded, Skipped: s.Skipped,
		Latency:              latency(s.Samples),
		LongestOutageSeconds: secs(s.Longest),
		Outages:              reportOutages(r.StartedAt, s.Outages),
		OutagesDropped:       s.OutagesDropped,
		SamplesTruncated:     s.Truncated,
		Series:               series(s.Samples, r.Duration, bucket),
	}
	if len(s.SamplerErrorKinds) > 0 {
		rs.SamplerErrorKinds = s.SamplerErrorKinds
	}
	if s.FirstOK >= 0 {
		f := secs(s.FirstOK)
		rs.FirstOKSeconds = &f
	}
	return rs
}

func reportOutages(t0 time.Time, os []Outage) []ReportOutage {
	out := make([]ReportOutage, 0, len(os))
	for _, o := range os {
		out = append(out, ReportOutage{
			Start:              t0.Add(o.Start).UTC().Round(time.Millisecond),
			End:                t0.Add(o.End).UTC().Round(time.Millisecond),
			StartOffsetSeconds: secs(o.Start),
			EndOffsetSeconds:   secs(o.End),
			DurationSeconds:    secs(o.Duration()),
			FailedSamples:      o.FailedSamples,
			Kinds:              append([]string{}, o.Kinds.Strings()...),
			Ongoing:            o.Ongoing,
		})
	}
	return out
}

// latency is the percentiles of the successful samples among lists.
func latency(lists ...[]Sample) ReportLatency {
	var us []uint32
	for _, l := range lists {
		for _, s := range l {
			if s.OK() {
				us = append(us, s.LatencyUs)
			}
		}
	}
	if len(us) == 0 {
		return ReportLatency{}
	}
	slices.Sort(us)
	return ReportLatency{
		Samples:    len(us),
		P50Seconds: usSecs(pct(us, 50)),
		P95Seconds: usSecs(pct(us, 95)),
		P99Seconds: usSecs(pct(us, 99)),
		MaxSeconds: usSecs(us[len(us)-1]),
	}
}

// pct is the nearest-rank percentile of sorted values.
func pct(sorted []uint32, p int) uint32 {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// bucketFor picks a round bucket width, at least the interval, that keeps a
// run under maxBuckets points.
func bucketFor(d, interval time.Duration) time.Duration {
	for _, b := range []time.Duration{
		50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	} {
		if b >= interval && d/b < maxBuckets {
			return b
		}
	}
	return max(interval, d/maxBuckets+1)
}

func series(samples []Sample, d, bucket time.Duration) ReportSeries {
	n := int(d/bucket) + 1
	s := ReportSeries{BucketSeconds: secs(bucket), Points: make([]ReportPoint, 0, n)}
	i := 0
	var lat []uint32
	for b := 0; b < n; b++ {
		p := ReportPoint{T: secs(time.Duration(b) * bucket)}
		end := time.Duration(b+1) * bucket
		lat = lat[:0]
		for ; i < len(samples) && samples[i].Start() < end; i++ {
			p.Sent++
			if samples[i].OK() {
				lat = append(lat, samples[i].LatencyUs)
			} else {
				p.Failed++
			}
		}
		if len(lat) > 0 {
			slices.Sort(lat)
			p.P50Seconds = usSecs(pct(lat, 50))
			p.MaxSeconds = usSecs(lat[len(lat)-1])
		}
		s.Points = append(s.Points, p)
	}
	return s
}

func secs(d time.Duration) float64 { return float64(d.Microseconds()) / 1e6 }
func usSecs(us uint32) float64     { return float64(us) / 1e6 }

// RenderJSON writes the report as indented JSON.
func RenderJSON(w io.Writer, rep *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// RenderText writes the short human summary piv watch prints at the end:
// per target its counts and outages with wall-clock times, then the verdict.
func RenderText(w io.Writer, rep *Report) {
	var b strings.Builder
	fmt.Fprintf(&b, "piv watch: %d target(s) for %.1fs every %s (stopped: %s)\n", len(rep.Targets), rep.DurationSeconds, rep.Interval, rep.Stopped)
	for _, t := range rep.Targets {
		role := "judged"
		if !t.Judged {
			role = "observed"
		}
		fmt.Fprintf(&b, "  %s (%s) %s -> %s\n", t.Name, role, t.URL, t.Address)
		fmt.Fprintf(&b, "    sent %d, failed %d (fresh %d/%d, keepalive %d/%d)", t.Sent, t.Failed,
			t.Streams.Fresh.Failed, t.Streams.Fresh.Sent, t.Streams.KeepAlive.Failed, t.Streams.KeepAlive.Sent)
		if t.SamplerErrors > 0 {
			fmt.Fprintf(&b, ", %d sampler errors (not counted as failures)", t.SamplerErrors)
		}
		if t.Latency.Samples > 0 {
			fmt.Fprintf(&b, "; latency p50 %s p95 %s p99 %s max %s", fmtSecs(t.Latency.P50Seconds), fmtSecs(t.Latency.P95Seconds), fmtSecs(t.Latency.P99Seconds), fmtSecs(t.Latency.MaxSeconds))
		}
		b.WriteString("\n")
		for i, o := range t.Outages {
			if i == 10 {
				fmt.Fprintf(&b, "    ... %d more outages in continuity.json\n", len(t.Outages)-10)
				break
			}
			ongoing := ""
			if o.Ongoing {
				ongoing = ", still failing at the end"
			}
			fmt.Fprintf(&b, "    outage %s - %s (%s, %d failed: %s%s)\n", o.Start.Format("15:04:05.000"), o.End.Format("15:04:05.000"),
				fmtSecs(o.DurationSeconds), o.FailedSamples, strings.Join(o.Kinds, ", "), ongoing)
		}
	}
	fmt.Fprintf(&b, "totals (judged): sent %d, failed %d, longest outage %s, sampler errors %d\n",
		rep.Totals.Sent, rep.Totals.Failed, fmtSecs(rep.Totals.LongestOutageSeconds), rep.Totals.SamplerErrors)
	fmt.Fprintf(&b, "verdict: %s", rep.Verdict)
	if rep.Reason != "" {
		fmt.Fprintf(&b, ": %s", rep.Reason)
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

func fmtSecs(s float64) string {
	return time.Duration(s * float64(time.Second)).Round(10 * time.Microsecond).String()
}

// WriteFiles writes continuity.json and continuity.html into dir, each
// atomically (temporary file, fsync, rename), so a reader never sees half a
// report even if piv is killed while writing.
func WriteFiles(dir string, rep *Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var j, h strings.Builder
	if err := RenderJSON(&j, rep); err != nil {
		return err
	}
	if err := RenderHTML(&h, rep); err != nil {
		return err
	}
	if err := writeAtomic(filepath.Join(dir, "continuity.json"), j.String()); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, "continuity.html"), h.String())
}

func writeAtomic(path, data string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.WriteString(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
