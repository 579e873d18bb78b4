package merge

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html/template"
	"strings"

	"github.com/piv-gate/piv/pkg/gate"
)

// JSON renders index.json: the merged report, machine-readable.
func JSON(r *Report) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func word(v gate.Verdict) string {
	switch v {
	case gate.Pass:
		return "PASS"
	case gate.Fail:
		return "FAIL"
	}
	return "INCONCLUSIVE"
}

// runWord is a run's verdict word, with NARROWED when its selection left
// specs out: a narrowed run is never read as a full gate.
func runWord(r Run) string {
	if r.Narrowed {
		return word(r.Verdict) + " NARROWED"
	}
	return word(r.Verdict)
}

func ownerText(o Owner) string {
	s := o.Team
	if o.Tribe != "" {
		s += " (" + o.Tribe + ")"
	}
	if o.Contact != "" {
		s += " — " + o.Contact
	}
	return s
}

var mdEscaper = strings.NewReplacer("|", `\|`, "\n", " ", "\r", " ", "`", "'", "<", "&lt;", ">", "&gt;")

// Markdown renders summary.md (a CI step summary, a chat message): the
// verdict, then one table per owner.
func Markdown(r *Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## piv merge: %s\n\n", word(r.Verdict))
	s := r.Summary
	fmt.Fprintf(&b, "%d runs: %d passed, %d failed, %d inconclusive, %d missing", s.Runs, s.Passed, s.Failed, s.Inconclusive, s.Missing)
	if len(r.Shards) > 0 {
		fmt.Fprintf(&b, " · shards %s", strings.Join(r.Shards, ", "))
	}
	b.WriteString("\n\n")
	if r.Reason != "" {
		fmt.Fprintf(&b, "> %s\n\n", mdEscaper.Replace(r.Reason))
	}
	for _, p := range r.Problems {
		fmt.Fprintf(&b, "- **problem** `%s`: %s\n", mdEscaper.Replace(p.Path), mdEscaper.Replace(p.Reason))
	}
	if len(r.Problems) > 0 {
		b.WriteString("\n")
	}
	for _, g := range r.Owners {
		fmt.Fprintf(&b, "### %s: %s\n\n", mdEscaper.Replace(ownerText(g.Owner)), word(g.Verdict))
		b.WriteString("| app | target | verdict | checks | version | reason |\n|---|---|---|---|---|---|\n")
		for _, run := range g.Runs {
			checks := "-"
			if !run.Missing {
				checks = fmt.Sprintf("%d/%d", run.Summary.Passed+run.Summary.Flaky, run.Summary.Total)
			}
			ver := run.ObservedVersion
			if ver == "" {
				ver = "-"
			}
			app := mdEscaper.Replace(run.App)
			if run.Report != "" {
				app = fmt.Sprintf("[%s](%s)", app, strings.ReplaceAll(run.Report, " ", "%20"))
			}
			reason := firstLine(run.Reason)
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", app, mdEscaper.Replace(run.Target), runWord(run), checks, mdEscaper.Replace(ver), mdEscaper.Replace(reason))
		}
		b.WriteString("\n")
	}
	return b.String()
}

var htmlTmpl = template.Must(template.New("merge").Funcs(template.FuncMap{
	"word": word, "owner": ownerText, "first": firstLine, "runword": runWord,
	"cls": func(v gate.Verdict) string { return strings.ToLower(word(v)) },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>piv merge: {{word .Verdict}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
.pass{color:#176c2b}.fail{color:#b00020}.inconclusive{color:#a05a00}
table{border-collapse:collapse;margin-bottom:1.5em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f4f4f4}
</style></head><body>
<h1>piv merge: <span class="{{cls .Verdict}}">{{word .Verdict}}</span></h1>
<p>{{.Summary.Runs}} runs: {{.Summary.Passed}} passed, {{.Summary.Failed}} failed, {{.Summary.Inconclusive}} inconclusive, {{.Summary.Missing}} missing{{if .Shards}} · shards {{range $i, $s := .Shards}}{{if $i}}, {{end}}{{$s}}{{end}}{{end}} · generated {{.GeneratedAt.Format "2006-01-02 15:04:05Z"}}{{if .Config}} · owners from {{.Config}}{{end}}</p>
{{if .Reason}}<p><strong>Why:</strong> {{.Reason}}</p>{{end}}
{{if .Problems}}<h2>Problems</h2><ul>{{range .Problems}}<li><code>{{.Path}}</code>: {{.Reason}}</li>{{end}}</ul>{{end}}
{{range .Owners}}
<h2>{{owner .Owner}}: <span class="{{cls .Verdict}}">{{word .Verdict}}</span></h2>
<table><tr><th>app</th><th>target</th><th>verdict</th><th>checks passed</th><th>version</th><th>duration</th><th>reason</th></tr>
{{range .Runs}}<tr><td>{{if .Report}}<a href="{{.Report}}">{{.App}}</a>{{else}}{{.App}}{{end}}</td><td>{{.Target}}</td><td class="{{cls .Verdict}}">{{runword .}}</td><td>{{if .Missing}}-{{else}}{{.Summary.Passed}}/{{.Summary.Total}}{{end}}</td><td>{{.ObservedVersion}}</td><td>{{printf "%.2fs" .DurationSeconds}}</td><td>{{first .Reason}}</td></tr>
{{end}}</table>
{{end}}
</body></html>
`))

// HTML renders index.html; each app links to its own report.html.
func HTML(r *Report) ([]byte, error) {
	var buf bytes.Buffer
	if err := htmlTmpl.Execute(&buf, r); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

type jSuites struct {
	XMLName  xml.Name `xml:"testsuites"`
	Name     string   `xml:"name,attr"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Errors   int      `xml:"errors,attr"`
	Skipped  int      `xml:"skipped,attr"`
	Suites   []jSuite `xml:"testsuite"`
}

type jSuite struct {
	Name       string  `xml:"name,attr"`
	Tests      int     `xml:"tests,attr"`
	Failures   int     `xml:"failures,attr"`
	Errors     int     `xml:"errors,attr"`
	Skipped    int     `xml:"skipped,attr"`
	Time       string  `xml:"time,attr"`
	Timestamp  string  `xml:"timestamp,attr,omitempty"`
	Properties []jProp `xml:"properties>property,omitempty"`
	Cases      []jCase `xml:"testcase"`
}

type jProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type jCase struct {
	Name      string    `xml:"name,attr"`
	Classname string    `xml:"classname,attr"`
	Time      string    `xml:"time,attr"`
	Failure   *jProblem `xml:"failure,omitempty"`
	Error     *jProblem `xml:"error,omitempty"`
	Skipped   *struct{} `xml:"skipped,omitempty"`
}

type jProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Body    string `xml:",chardata"`
}

// JUnit renders junit.xml by pkg/report's rules (report.JUnitWith): one
// <testsuite> per run, named "TEAM/APP TARGET", one <testcase> per check and
// nothing else, so tests is the number of checks and failures + errors
// count the failed blocking and the harness-broken checks. The verdict is
// not a test case: it is the exit code's business and, in the file, the
// verdict, reason and narrowed properties of each suite A missing run, a node never verified and
// an unreadable input are an empty <testsuite> carrying those properties.
func JUnit(r *Report) ([]byte, error) {
	doc := jSuites{Name: "piv merge"}
	for _, g := range r.Owners {
		for _, run := range g.Runs {
			class := xmlSafe(g.Owner.Team + "." + run.App)
			name := g.Owner.Team + "/" + run.App + " " + run.Target
			if run.Narrowed {
				name += " NARROWED"
			}
			s := jSuite{Name: xmlSafe(name), Time: fmt.Sprintf("%.3f", run.DurationSeconds),
				Properties: []jProp{{"verdict", string(run.Verdict)}, {"reason", xmlSafe(firstLine(run.Reason))}, {"narrowed", fmt.Sprint(run.Narrowed)},
					{"team", xmlSafe(g.Owner.Team)}, {"tribe", xmlSafe(g.Owner.Tribe)}, {"contact", xmlSafe(g.Owner.Contact)}, {"runId", xmlSafe(run.RunID)}}}
			if run.StartedAt != nil {
				s.Timestamp = run.StartedAt.Format("2006-01-02T15:04:05")
			}
			if res := run.Result(); res != nil {
				for _, c := range res.Checks {
					jc := jCase{Name: xmlSafe(c.Name), Classname: class, Time: fmt.Sprintf("%.3f", c.DurationSeconds)}
					if c.Target != "" {
						jc.Classname = xmlSafe(g.Owner.Team + "." + run.App + "." + c.Target)
					}
					msg := ""
					if c.Failure != nil {
						msg = xmlSafe(c.Failure.Message)
					}
					switch {
					case c.State == gate.Skipped:
						jc.Skipped = &struct{}{}
						s.Skipped++
					case c.State == gate.Failed && c.Blocking:
						jc.Failure = &jProblem{Message: firstLine(msg), Type: "failed", Body: msg}
						s.Failures++
					case c.State == gate.Panicked || c.State == gate.Aborted || !known(c.State):
						jc.Error = &jProblem{Message: firstLine(msg), Type: string(c.State), Body: msg}
						s.Errors++
					}
					s.Cases = append(s.Cases, jc)
				}
			}
			s.Tests = len(s.Cases)
			doc.Tests += s.Tests
			doc.Failures += s.Failures
			doc.Errors += s.Errors
			doc.Skipped += s.Skipped
			doc.Suites = append(doc.Suites, s)
		}
	}
	for _, p := range r.Problems {
		doc.Suites = append(doc.Suites, jSuite{Name: xmlSafe("problem " + p.Path), Time: "0.000",
			Properties: []jProp{{"verdict", string(gate.Inconclusive)}, {"reason", xmlSafe(firstLine(p.Reason))}}})
	}
	out, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

// known: the states gate.json spells; anything else is a harness error
// (gate.DecideRun counts it as interrupted).
func known(s gate.State) bool {
	switch s {
	case gate.Passed, gate.Failed, gate.Flaky, gate.Skipped, gate.Panicked, gate.Aborted:
		return true
	}
	return false
}

// xmlSafe drops the characters XML 1.0 cannot carry at all.
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF) {
			return r
		}
		return -1
	}, s)
}
