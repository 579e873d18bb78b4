package watch

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// RenderHTML writes continuity.html: a self-contained page (inline CSS and
// SVG, no scripts, no external assets, so it opens from a CI artifact or an
// air-gapped share) with, per target, availability over time and latency
// over time, outage intervals shaded. It is a pure function of the report:
// the gate's HTML report can call it on a continuity.json it reads back.
func RenderHTML(w io.Writer, rep *Report) error {
	var b strings.Builder
	b.WriteString(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>piv watch: continuity</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em} h2{font-size:1.1em;margin-top:1.6em}
.pass{color:#176f2c}.fail{color:#b00020}.inconclusive{color:#8a5a00}
table{border-collapse:collapse;font-size:.9em} td,th{padding:2px 10px;text-align:left;border-bottom:1px solid #ddd}
.muted{color:#666;font-size:.85em} svg{display:block;margin:.4em 0}
</style></head><body>
`)
	fmt.Fprintf(&b, "<h1>Continuity: <span class=%q>%s</span></h1>\n", string(rep.Verdict), esc(string(rep.Verdict)))
	if rep.Reason != "" {
		fmt.Fprintf(&b, "<p>%s</p>\n", esc(rep.Reason))
	}
	fmt.Fprintf(&b, "<p class=muted>started %s, %.1f s, one sample every %s per stream (timeout %s), stopped by %s. Limits: at most %d failed requests, longest outage at most %s. Judged totals: %d sent, %d failed, longest outage %s, %d sampler errors.</p>\n",
		esc(rep.StartedAt.Format("2006-01-02 15:04:05.000 MST")), rep.DurationSeconds, esc(rep.Interval), esc(rep.Timeout), esc(rep.Stopped),
		rep.Limits.MaxFailed, esc(rep.Limits.MaxOutage), rep.Totals.Sent, rep.Totals.Failed, esc(fmtSecs(rep.Totals.LongestOutageSeconds)), rep.Totals.SamplerErrors)
	for _, t := range rep.Targets {
		role := "judged"
		if !t.Judged {
			role = "observed only"
		}
		fmt.Fprintf(&b, "<h2>%s <span class=muted>(%s) %s &rarr; %s</span></h2>\n", esc(t.Name), role, esc(t.URL), esc(t.Address))
		b.WriteString("<table><tr><th>stream</th><th>sent</th><th>failed</th><th>sampler errors</th><th>p50</th><th>p95</th><th>p99</th><th>max</th></tr>\n")
		for _, row := range []struct {
			name string
			s    ReportStream
		}{{"fresh", t.Streams.Fresh}, {"keepalive", t.Streams.KeepAlive}} {
			l := row.s.Latency
			fmt.Fprintf(&b, "<tr><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
				row.name, row.s.Sent, row.s.Failed, row.s.SamplerErrors, fmtSecs(l.P50Seconds), fmtSecs(l.P95Seconds), fmtSecs(l.P99Seconds), fmtSecs(l.MaxSeconds))
		}
		b.WriteString("</table>\n")
		chart(&b, rep, t)
		if len(t.Outages) > 0 {
			b.WriteString("<table><tr><th>outage start</th><th>end</th><th>duration</th><th>failed</th><th>kinds</th></tr>\n")
			for _, o := range t.Outages {
				end := o.End.Format("15:04:05.000")
				if o.Ongoing {
					end += " (still failing)"
				}
				fmt.Fprintf(&b, "<tr><td>%s</td><td>%s</td><td>%s</td><td>%d</td><td>%s</td></tr>\n",
					o.Start.Format("15:04:05.000"), end, fmtSecs(o.DurationSeconds), o.FailedSamples, esc(strings.Join(o.Kinds, ", ")))
			}
			b.WriteString("</table>\n")
		} else {
			b.WriteString("<p class=muted>no outage</p>\n")
		}
	}
	b.WriteString("<p class=muted>schema " + Schema + "; availability: green = every sample in the bucket succeeded, red height = share failed; latency: median of successful samples per bucket, fresh (blue) and keepalive (purple); shaded: outage intervals.</p>\n</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

const (
	chartW   = 900.0
	chartL   = 56.0 // left margin for axis labels
	chartR   = 10.0
	availH   = 40.0
	latTop   = 56.0
	latH     = 110.0
	axisY    = latTop + latH
	chartTot = axisY + 20
)

func chart(b *strings.Builder, rep *Report, t ReportTarget) {
	d := math.Max(rep.DurationSeconds, 1e-3)
	plotW := chartW - chartL - chartR
	x := func(s float64) float64 { return chartL + math.Min(math.Max(s/d, 0), 1)*plotW }
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-size="10" font-family="sans-serif">`+"\n",
		chartW, chartTot, chartW, chartTot)
	fmt.Fprintf(b, `<text x="2" y="%.0f">avail.</text><text x="2" y="%.0f">latency</text>`+"\n", availH/2+3, latTop+12)

	// Outages first, so the data draws over the shading.
	for _, o := range t.Outages {
		x0, x1 := x(o.StartOffsetSeconds), x(o.EndOffsetSeconds)
		fmt.Fprintf(b, `<rect x="%.1f" y="0" width="%.1f" height="%.0f" fill="#d32f2f" fill-opacity="0.15"><title>outage %s, %d failed: %s</title></rect>`+"\n",
			x0, math.Max(x1-x0, 1), axisY, esc(fmtSecs(o.DurationSeconds)), o.FailedSamples, esc(strings.Join(o.Kinds, ", ")))
	}

	// Availability: one bar per bucket over both streams.
	f, k := t.Streams.Fresh.Series, t.Streams.KeepAlive.Series
	bw := f.BucketSeconds
	for i := range f.Points {
		sent, failed := f.Points[i].Sent, f.Points[i].Failed
		if i < len(k.Points) {
			sent += k.Points[i].Sent
			failed += k.Points[i].Failed
		}
		x0, x1 := x(f.Points[i].T), x(f.Points[i].T+bw)
		wdt := math.Max(x1-x0, 0.5)
		switch {
		case sent == 0:
			fmt.Fprintf(b, `<rect x="%.1f" y="0" width="%.1f" height="%.0f" fill="#ccc"/>`, x0, wdt, availH)
		case failed == 0:
			fmt.Fprintf(b, `<rect x="%.1f" y="0" width="%.1f" height="%.0f" fill="#43a047"/>`, x0, wdt, availH)
		default:
			h := availH * float64(failed) / float64(sent)
			fmt.Fprintf(b, `<rect x="%.1f" y="0" width="%.1f" height="%.0f" fill="#43a047"/><rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#d32f2f"><title>%d of %d failed</title></rect>`,
				x0, wdt, availH, x0, availH-h, wdt, h, failed, sent)
		}
	}
	b.WriteString("\n")

	// Latency: per-bucket medians, scaled to the target's p99 so one slow
	// outlier does not flatten the picture (points above are clipped).
	top := math.Max(t.Latency.P99Seconds*1.2, 1e-3)
	y := func(s float64) float64 { return latTop + latH - math.Min(s/top, 1)*latH }
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#999"/>`, chartL, latTop, chartL, axisY)
	fmt.Fprintf(b, `<text x="%.0f" y="%.0f" text-anchor="end">%s</text><text x="%.0f" y="%.0f" text-anchor="end">0</text>`+"\n",
		chartL-4, latTop+8, esc(fmtSecs(top)), chartL-4, axisY)
	for _, s := range []struct {
		pts   []ReportPoint
		color string
	}{{f.Points, "#1e63c4"}, {k.Points, "#7b1fa2"}} {
		var pl strings.Builder
		for _, p := range s.pts {
			if p.Sent-p.Failed <= 0 {
				if pl.Len() > 0 {
					fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.2" points="%s"/>`, s.color, pl.String())
					pl.Reset()
				}
				continue
			}
			fmt.Fprintf(&pl, "%.1f,%.1f ", x(p.T+bw/2), y(p.P50Seconds))
		}
		if pl.Len() > 0 {
			fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.2" points="%s"/>`, s.color, pl.String())
		}
	}
	b.WriteString("\n")

	// Time axis: offsets from the start, about six ticks.
	fmt.Fprintf(b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="#999"/>`, chartL, axisY, chartW-chartR, axisY)
	step := niceStep(d / 6)
	for s := 0.0; s <= d+1e-9; s += step {
		fmt.Fprintf(b, `<text x="%.1f" y="%.0f" text-anchor="middle">%s</text>`, x(s), axisY+13, esc(fmtSecs(s)))
	}
	b.WriteString("\n</svg>\n")
}

func niceStep(raw float64) float64 {
	if raw <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

func esc(s string) string { return html.EscapeString(s) }
