package report

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/piv-gate/piv/pkg/gate"
)

// JUnitOptions tune junit.xml. The zero value writes attachment paths as
// they are in gate.json (relative to the report folder).
type JUnitOptions struct {
	// AttachmentDir is joined in front of every attachment path in the
	// [[ATTACHMENT|path]] lines. Jenkins' junit-attachments plugin wants
	// absolute paths and GitLab paths relative to the job's working
	// directory, so the CLI passes the report folder as the CI sees it.
	AttachmentDir string
}

// JUnit renders junit.xml. See JUnitWith.
func JUnit(r *gate.Result) ([]byte, error) { return JUnitWith(r, JUnitOptions{}) }

// JUnitWith renders junit.xml: one <testsuites>, one <testsuite> per check
// Suite (named "<app> <suite>", in order of first appearance, checks in
// gate.json order so CI test history lines up run after run), and a last
// <testsuite name="<app> gate"> with one <testcase name="gate verdict">.
//
// How states map, chosen so that the JUnit failure count agrees with the
// exit code for CI tools that fail or mark a build unstable on any JUnit
// failure (Jenkins junit, GitHub test-report actions):
//
//   - failed (blocking): <failure type="failed"> with the message, the
//     location and the By() step.
//   - panicked / interrupted: <error type="panicked|interrupted">: the
//     harness, not the product, could not decide.
//   - skipped: <skipped/>.
//   - failed but advisory: a passing testcase (advisory does not fail the
//     gate) whose <system-out> and <system-err> start with
//     "WARNING (advisory, does not block the gate):" and carry the failure;
//     the suite property advisoryFailed counts them and the verdict
//     testcase lists them.
//   - flaky: a passing testcase whose <system-out> says how many attempts it
//     took.
//   - the verdict testcase passes on pass, is a <failure type="fail"> on
//     fail and an <error type="inconclusive"> otherwise, with the gate's
//     reason as message and the text summary as output. It makes a run
//     with zero selected checks, a timeout or a flaky check under
//     --flaky=fail visible as red in CI, exactly like the exit code.
//
// Attachments are listed in <system-out> as [[ATTACHMENT|path]] lines, one
// per line (the Jenkins and GitLab convention). Every testsuite carries the
// run's properties: verdict, reason, runId, target, versions.
func JUnitWith(r *gate.Result, o JUnitOptions) ([]byte, error) {
	props := junitProperties(r)
	stamp := r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	doc := junitSuites{
		Name:      "piv " + r.App,
		Time:      junitTime(r.DurationSeconds),
		Timestamp: stamp,
	}
	index := map[string]int{}
	for i := range r.Checks {
		c := &r.Checks[i]
		si, ok := index[c.Suite]
		if !ok {
			si = len(doc.Suites)
			index[c.Suite] = si
			doc.Suites = append(doc.Suites, junitSuite{
				Name:       junitSuiteName(r.App, suiteName(c.Suite)),
				Timestamp:  stamp,
				Properties: props,
			})
		}
		s := &doc.Suites[si]
		tc := junitCase{
			Name:      c.Name,
			Classname: junitClass(r.App, suiteName(c.Suite)),
			Time:      junitTime(c.DurationSeconds),
		}
		var out []string
		switch kindOf(c) {
		case kindFailed:
			tc.Failure = &junitFailure{Type: "failed", Message: failureMessage(c), Text: xmlSafe(failureBody(c.Failure))}
			s.Failures++
		case kindHarness:
			tc.Error = &junitFailure{Type: string(c.State), Message: failureMessage(c), Text: xmlSafe(failureBody(c.Failure))}
			s.Errors++
		case kindSkipped:
			tc.Skipped = &junitSkipped{}
			if c.Failure != nil {
				tc.Skipped.Message = firstLine(c.Failure.Message, 240)
			}
			s.Skipped++
		case kindAdvisory:
			w := "WARNING (advisory, does not block the gate): this check failed\n" + failureBody(c.Failure)
			out = append(out, w)
			tc.SystemErr = cdata(w)
			s.advisory++
		case kindFlaky:
			out = append(out, fmt.Sprintf("FLAKY: passed only after %s", attemptsText(c.Attempts)))
		}
		if len(c.Steps) > 0 {
			out = append(out, "steps:\n  "+strings.Join(c.Steps, "\n  "))
		}
		if a := attachmentLines(c.Attachments, o); a != "" {
			out = append(out, a)
		}
		tc.SystemOut = cdata(strings.Join(out, "\n\n"))
		s.Tests++
		s.seconds += c.DurationSeconds
		s.Cases = append(s.Cases, tc)
	}

	// The verdict, as gate.Decide made it.
	verdict := junitCase{Name: "gate verdict", Classname: junitClass(r.App, "gate"), Time: junitTime(0)}
	gs := junitSuite{Name: strings.TrimSpace(r.App + " gate"), Timestamp: stamp, Properties: props, Tests: 1}
	summary := Text(r)
	if a := attachmentLines(r.Attachments, o); a != "" {
		summary += "\n" + a
	}
	verdict.SystemOut = cdata(summary)
	switch r.Verdict {
	case gate.Pass:
	case gate.Fail:
		verdict.Failure = &junitFailure{Type: "fail", Message: firstLine(r.Reason, 480), Text: xmlSafe(r.Reason)}
		gs.Failures++
	default:
		verdict.Error = &junitFailure{Type: "inconclusive", Message: firstLine(r.Reason, 480), Text: xmlSafe(r.Reason)}
		gs.Errors++
	}
	gs.Cases = []junitCase{verdict}
	doc.Suites = append(doc.Suites, gs)

	for i := range doc.Suites {
		s := &doc.Suites[i]
		s.Time = junitTime(s.seconds)
		if s.advisory > 0 {
			s.Properties = append(append([]junitProperty(nil), props...), junitProperty{"advisoryFailed", fmt.Sprint(s.advisory)})
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		doc.Skipped += s.Skipped
	}

	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, err
	}
	buf.WriteString("\n")
	return buf.Bytes(), nil
}

type junitSuites struct {
	XMLName   xml.Name     `xml:"testsuites"`
	Name      string       `xml:"name,attr"`
	Tests     int          `xml:"tests,attr"`
	Failures  int          `xml:"failures,attr"`
	Errors    int          `xml:"errors,attr"`
	Skipped   int          `xml:"skipped,attr"`
	Time      string       `xml:"time,attr"`
	Timestamp string       `xml:"timestamp,attr"`
	Suites    []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`

	seconds  float64
	advisory int
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Skipped   *junitSkipped `xml:"skipped"`
	Error     *junitFailure `xml:"error"`
	Failure   *junitFailure `xml:"failure"`
	SystemOut *junitText    `xml:"system-out"`
	SystemErr *junitText    `xml:"system-err"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

// junitText is element text written as CDATA, so messages keep their line
// breaks and quotes readable in the raw file (the encoder splits "]]>").
type junitText struct {
	Text string `xml:",cdata"`
}

func cdata(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{Text: xmlSafe(s)}
}

// xmlSafe replaces characters XML 1.0 cannot carry at all (CDATA is not
// escaped by the encoder, so this is the only guard).
func xmlSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return r
		case r < 0x20, r == 0xFFFE, r == 0xFFFF, r >= 0xD800 && r <= 0xDFFF:
			return '\uFFFD'
		}
		return r
	}, s)
}

// junitSuiteName is "<app> <suite>", without repeating the app when the
// suite's name already starts with it ("quote motor quote journey").
func junitSuiteName(app, suite string) string {
	if app == "" || strings.HasPrefix(suite, app+" ") {
		return suite
	}
	return app + " " + suite
}

func junitTime(s float64) string { return fmt.Sprintf("%.3f", s) }

// junitClass is "<app>.<suite>": Jenkins shows the part before the last dot
// as the package, so dots inside the suite name are replaced.
func junitClass(app, suite string) string {
	return app + "." + strings.ReplaceAll(suite, ".", "_")
}

func junitProperties(r *gate.Result) []junitProperty {
	p := []junitProperty{
		{"verdict", string(r.Verdict)},
		{"reason", r.Reason},
		{"runId", r.RunID},
		{"app", r.App},
		{"target", targetText(r.Target)},
		{"scope", r.Target.Scope},
	}
	for _, kv := range []junitProperty{
		{"node", r.Target.Node},
		{"address", r.Target.Address},
		{"url", r.Target.URL},
		{"image", r.Target.Image},
		{"expectedVersion", r.ExpectedVersion},
		{"observedVersion", r.ObservedVersion},
	} {
		if kv.Value != "" {
			p = append(p, kv)
		}
	}
	return p
}

// failureMessage is the one-line message attribute CI UIs show in lists.
func failureMessage(c *gate.Check) string {
	if c.Failure == nil {
		return string(c.State)
	}
	return firstLine(c.Failure.Message, 240)
}

// failureBody is the whole failure: message, location, step.
func failureBody(f *gate.Failure) string {
	if f == nil {
		return ""
	}
	s := strings.TrimRight(f.Message, " \t\r\n")
	if f.Location != "" {
		s += "\n\nat " + f.Location
	}
	if f.Step != "" {
		s += "\nstep: " + f.Step
	}
	return s
}

func attachmentLines(as []gate.Attachment, o JUnitOptions) string {
	var lines []string
	for _, a := range as {
		if a.Path == "" {
			continue
		}
		p := a.Path
		if o.AttachmentDir != "" {
			p = filepath.Join(o.AttachmentDir, filepath.FromSlash(a.Path))
		}
		lines = append(lines, "[[ATTACHMENT|"+p+"]]")
	}
	return strings.Join(lines, "\n")
}
