package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"strings"
	"time"
)

// Renderers are pure functions of a Report; none decides anything.

// JSON is evidence.json (schema/evidence.schema.json).
func JSON(r *Report) ([]byte, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func ts(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func statusWord(s string) string {
	switch s {
	case Met:
		return "MET"
	case Running:
		return "RUNNING"
	case Breached:
		return "BREACHED"
	}
	return strings.ToUpper(s)
}

func (r *Report) headline() string {
	switch r.SLA.Status {
	case Running:
		return fmt.Sprintf("SLA %s: %s left until %s", statusWord(r.SLA.Status), human(time.Duration(r.SLA.TimeLeftSeconds*float64(time.Second))), r.SLA.Deadline.Format(time.RFC3339))
	case Breached:
		return fmt.Sprintf("SLA %s: deadline %s, late by %s", statusWord(r.SLA.Status), r.SLA.Deadline.Format(time.RFC3339), human(time.Duration(r.SLA.LateBySeconds*float64(time.Second))))
	}
	return fmt.Sprintf("SLA %s: completed %s, deadline %s", statusWord(r.SLA.Status), ts(r.SLA.Completed), r.SLA.Deadline.Format(time.RFC3339))
}

// Markdown is the summary for a terminal, a ticket or $GITHUB_STEP_SUMMARY.
func Markdown(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Remediation %s", r.Remediation)
	if len(r.CVEs) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(r.CVEs, ", "))
	}
	fmt.Fprintf(&b, "\n\n**%s**\n\n", r.headline())
	fmt.Fprintf(&b, "%s\n\n", r.SLA.Reason)
	fmt.Fprintf(&b, "- detected: %s\n- as of: %s\n- fixed means: %s\n- record: %s\n\n", r.Detected.Format(time.RFC3339), r.AsOf.Format(time.RFC3339), strings.Join(r.Items, "; "), r.Record)
	for _, a := range r.Apps {
		fmt.Fprintf(&b, "## %s — %s\n\n", a.Name, statusWord(a.Status))
		fmt.Fprintf(&b, "SLA %s, deadline %s. %s\n\n", a.SLA, a.Deadline.Format(time.RFC3339), a.Reason)
		b.WriteString("| node | status | verified live since | by run | last failure | runs |\n|---|---|---|---|---|---|\n")
		for _, n := range a.Nodes {
			by, fail := "—", "—"
			if n.VerifiedBy != nil {
				by = fmt.Sprintf("[%s](%s)", n.VerifiedBy.ID, n.VerifiedBy.Report)
			}
			if n.LastFailure != nil {
				fail = fmt.Sprintf("%s: %s ([%s](%s))", ts(&n.LastFailure.At), strings.Join(n.FailedItems, ", "), n.LastFailure.ID, n.LastFailure.Report)
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %d |\n", n.Name, n.Status, ts(n.VerifiedAt), by, fail, n.Runs)
		}
		b.WriteString("\n")
	}
	b.WriteString("## Timeline\n\n")
	for _, e := range r.Timeline {
		fmt.Fprintf(&b, "- %s — %s\n", e.At.UTC().Format("2006-01-02 15:04:05Z"), e.Text)
	}
	fmt.Fprintf(&b, "\n%d gate.json read, %d run(s) of this record", r.Scan.Files, r.Scan.Matching)
	if r.Scan.Unreadable > 0 {
		fmt.Fprintf(&b, ", %d unreadable", r.Scan.Unreadable)
	}
	b.WriteString(".\n")
	return b.String()
}

type tlPoint struct {
	X, Y  float64
	Fill  string
	Title string
}

type tlLane struct {
	Y     float64
	Label string
}

// Timeline geometry: one lane per node (and one for the record's own
// events), time left to right from detection to the deadline, or to the
// last event when later.
const (
	tlLeft, tlRight = 170.0, 980.0
	tlTop, tlLaneH  = 30.0, 26.0
)

// HTML is one self-contained page (no external script, style or font) with
// the SLA headline, a timeline and a table per app.
func HTML(r *Report) ([]byte, error) {
	start := r.Detected
	end := r.SLA.Deadline
	for _, e := range r.Timeline {
		if e.At.After(end) {
			end = e.At
		}
		if e.At.Before(start) {
			start = e.At
		}
	}
	span := end.Sub(start).Seconds()
	if span <= 0 {
		span = 1
	}
	x := func(t time.Time) float64 { return tlLeft + (tlRight-tlLeft)*t.Sub(start).Seconds()/span }
	lanes := []tlLane{{Y: tlTop, Label: r.Remediation}}
	laneOf := map[string]float64{}
	for _, a := range r.Apps {
		for _, n := range a.Nodes {
			y := tlTop + tlLaneH*float64(len(lanes))
			lanes = append(lanes, tlLane{Y: y, Label: a.Name + " " + n.Name + " (" + n.Status + ")"})
			laneOf[a.Name+"\x00"+n.Name] = y
		}
	}
	var pts []tlPoint
	for _, e := range r.Timeline {
		y := tlTop
		if v, ok := laneOf[e.App+"\x00"+e.Node]; ok {
			y = v
		}
		fill := "#555"
		switch e.Kind {
		case "verified", "first-verified":
			fill = "#137333"
		case "failed", "deadline":
			fill = "#c5221f"
		case "completed":
			fill = "#1a73e8"
		case "now":
			fill = "#b06000"
		}
		pts = append(pts, tlPoint{X: x(e.At), Y: y, Fill: fill, Title: e.At.UTC().Format(time.RFC3339) + " " + e.Text})
	}
	height := tlTop + tlLaneH*float64(len(lanes)) + 10
	var buf bytes.Buffer
	err := page.Execute(&buf, map[string]any{"R": r, "Headline": r.headline(), "Points": pts, "Lanes": lanes,
		"Left": tlLeft, "Right": tlRight, "Height": height, "Deadline": x(r.SLA.Deadline), "Now": x(r.AsOf),
		"Start": start.UTC().Format("2006-01-02 15:04Z"), "End": end.UTC().Format("2006-01-02 15:04Z"),
		"Word": statusWord(r.SLA.Status)})
	return buf.Bytes(), err
}

var page = template.Must(template.New("evidence").Funcs(template.FuncMap{
	"ts":   func(t *time.Time) string { return ts(t) },
	"rfc":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
	"join": strings.Join,
	"word": statusWord,
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Remediation {{.R.Remediation}}: {{.Word}}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222}
h1{margin-bottom:.2em} .met{color:#137333} .running{color:#b06000} .breached{color:#c5221f}
.badge{font-weight:700;padding:.1em .5em;border-radius:.3em;border:1px solid currentColor}
table{border-collapse:collapse;margin:.5em 0 1.5em} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
tr.verified td.s{color:#137333} tr.unverified td.s,tr.regressed td.s{color:#c5221f}
svg text{font-size:11px} .small{color:#666;font-size:12px}
</style></head><body>
<h1>Remediation {{.R.Remediation}} {{if .R.CVEs}}({{join .R.CVEs ", "}}){{end}}</h1>
<p class="{{.R.SLA.Status}}"><span class="badge">{{.Word}}</span> {{.Headline}}</p>
<p>{{.R.SLA.Reason}}</p>
<p class="small">detected {{rfc .R.Detected}} · as of {{rfc .R.AsOf}} · fixed means: {{join .R.Items "; "}} · record {{.R.Record}}</p>
<h2>Timeline</h2>
<svg width="1000" height="{{.Height}}" viewBox="0 0 1000 {{.Height}}" role="img" aria-label="timeline from detection to the SLA deadline, one lane per node">
<text x="{{.Left}}" y="12">{{.Start}}</text><text x="{{.Right}}" y="12" text-anchor="end">{{.End}}</text>
{{range .Lanes}}<text x="{{$.Left}}" dx="-8" y="{{.Y}}" dy="4" text-anchor="end">{{.Label}}</text>
<line x1="{{$.Left}}" y1="{{.Y}}" x2="{{$.Right}}" y2="{{.Y}}" stroke="#ddd"/>
{{end}}<line x1="{{.Deadline}}" y1="18" x2="{{.Deadline}}" y2="{{.Height}}" stroke="#c5221f" stroke-dasharray="4 3"><title>SLA deadline</title></line>
{{range .Points}}<circle cx="{{.X}}" cy="{{.Y}}" r="5" fill="{{.Fill}}"><title>{{.Title}}</title></circle>
{{end}}</svg>
<ol>{{range .R.Timeline}}<li><time datetime="{{rfc .At}}">{{rfc .At}}</time> — {{.Text}}{{if .Run}} (<a href="{{.Run.Report}}/">{{.Run.ID}}</a>){{end}}</li>{{end}}</ol>
{{range .R.Apps}}<h2>{{.Name}} <span class="badge {{.Status}}">{{word .Status}}</span></h2>
<p>SLA {{.SLA}}, deadline {{rfc .Deadline}}. {{.Reason}}</p>
<table><tr><th>node</th><th>status</th><th>verified live since</th><th>by run</th><th>last failure</th><th>runs</th></tr>
{{range .Nodes}}<tr class="{{.Status}}"><td>{{.Name}}</td><td class="s">{{.Status}}</td><td>{{ts .VerifiedAt}}</td>
<td>{{if .VerifiedBy}}<a href="{{.VerifiedBy.Report}}/">{{.VerifiedBy.ID}}</a>{{else}}—{{end}}</td>
<td>{{if .LastFailure}}{{rfc .LastFailure.At}}: {{join .FailedItems ", "}} (<a href="{{.LastFailure.Report}}/">{{.LastFailure.ID}}</a>){{else}}—{{end}}</td><td>{{.Runs}}</td></tr>
{{end}}</table>{{end}}
<p class="small">{{.R.Scan.Files}} gate.json read, {{.R.Scan.Matching}} run(s) of this record{{if .R.Scan.Unreadable}}, {{.R.Scan.Unreadable}} unreadable{{end}}.</p>
</body></html>
`))
