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

// JUnitWith renders junit.xml in the Ant/Surefire format that CI tools
// read, valid against both the Jenkins xUnit plugin's junit-10.xsd and
// Surefire's surefire-test-report.xsd (pkg/report/testdata/xsd, tested
// with xmllint). One <testsuites>, one <testsuite> per check Suite and
// target (in order of first appearance, checks in gate.json order so CI
// test history lines up run after run), one <testcase> per check and
// nothing else: tests is the number of checks, and the counts agree with
// gate.json's summary (failures + errors = summary.failed minus the
// advisory failures; skipped = summary.skipped).
//
// The verdict is not a test case. It is the exit code's business and, in
// the file, the verdict, reason, counts and selection properties of every
// <testsuite> (a narrowed run says so there too). A run with no checks
// still gets one empty <testsuite> to carry them.
//
// How states map:
//
//   - failed (blocking): <failure type="failed"> with the message, the
//     location and the By() step.
//   - panicked / interrupted: <error type="panicked|interrupted">: the
//     harness, not the product, could not decide.
//   - skipped: <skipped/>.
//   - failed but advisory: a passing testcase (advisory does not fail the
//     gate) whose <system-out> and <system-err> start with
//     "WARNING (advisory, does not block the gate):" and carry the failure;
//     the suite property advisoryFailed counts them.
//   - flaky: a passing testcase with one <rerunFailure type="flaky"> per
//     failed attempt (see testdata/xsd/README.md for why this element and
//     this place).
//
// classname is "<app>.<target>" ("quote.node.app-02", "quote.service",
// "quote.image.registry_local/quote:2_4_1"), the check's own target under
// --fleet, so CI tools that key test cases on classname and name (GitLab)
// keep one result per target instead of dropping them as duplicates.
//
// Attachments are listed in <system-out> as [[ATTACHMENT|path]] lines, one
// per line (the Jenkins and GitLab convention); run attachments, which
// belong to no test case, are "attachment" properties.
func JUnitWith(r *gate.Result, o JUnitOptions) ([]byte, error) {
	props := junitProperties(r, o)
	stamp := r.StartedAt.UTC().Format("2006-01-02T15:04:05")
	doc := junitSuites{
		Name: "piv " + r.App,
		Time: junitTime(r.DurationSeconds),
	}
	type key struct{ suite, target string }
	index := map[key]int{}
	for i := range r.Checks {
		c := &r.Checks[i]
		k := key{c.Suite, c.Target}
		si, ok := index[k]
		if !ok {
			si = len(doc.Suites)
			index[k] = si
			name := junitSuiteName(r.App, suiteName(c.Suite))
			if c.Target != "" {
				name += " (" + checkTargetText(r, c.Target) + ")"
			}
			doc.Suites = append(doc.Suites, junitSuite{Name: name, Timestamp: stamp, Properties: props})
		}
		s := &doc.Suites[si]
		tc := junitCase{
			Name:      c.Name,
			Classname: junitClass(r, c.Target),
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
			tc.Reruns = rerunFailures(c)
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
	if len(doc.Suites) == 0 {
		// Nothing ran: the properties still say what the gate decided and why.
		doc.Suites = append(doc.Suites, junitSuite{Name: strings.TrimSpace(r.App + " gate"), Timestamp: stamp, Properties: props})
	}

	for i := range doc.Suites {
		s := &doc.Suites[i]
		s.Time = junitTime(s.seconds)
		if s.advisory > 0 {
			s.Properties = append(append([]junitProperty(nil), props...), junitProperty{"advisoryFailed", fmt.Sprint(s.advisory)})
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
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

// rerunFailures is one <rerunFailure> per failed attempt of a flaky pass.
// Ginkgo reports only the final attempt, so unless the check kept a
// failure the text says which attempt failed and no more.
func rerunFailures(c *gate.Check) []junitRerun {
	var out []junitRerun
	for n := 1; n < c.Attempts; n++ {
		msg := fmt.Sprintf("attempt %d of %d failed; attempt %d passed", n, c.Attempts, c.Attempts)
		trace := msg + " (the failure of an earlier attempt is not kept; see the run's log)"
		if c.Failure != nil {
			trace = failureBody(c.Failure)
		}
		out = append(out, junitRerun{Type: "flaky", Message: msg, StackTrace: junitText{Text: xmlSafe(trace)}})
	}
	return out
}

// junitSuites is the root. junit-10.xsd allows only these attributes on it
// (no skipped, no timestamp: those are per testsuite).
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
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

// junitCase: the field order is the element order Surefire's schema
// requires (failure, rerunFailure, skipped, error, system-out, system-err).
type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
	Reruns    []junitRerun  `xml:"rerunFailure"`
	Skipped   *junitSkipped `xml:"skipped"`
	Error     *junitFailure `xml:"error"`
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

// junitRerun is a failed attempt: Surefire requires the stackTrace child,
// junit-10.xsd the type attribute.
type junitRerun struct {
	Message    string    `xml:"message,attr"`
	Type       string    `xml:"type,attr"`
	StackTrace junitText `xml:"stackTrace"`
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

// junitClass is "<app>.<target>": the check's own target under --fleet,
// else the run's ("quote.node.app-02", "quote.service", "quote.image.…").
// Jenkins shows the part before the last dot as the package, so dots
// inside a name are replaced.
func junitClass(r *gate.Result, checkTarget string) string {
	clean := func(s string) string { return strings.ReplaceAll(s, ".", "_") }
	var parts []string
	switch {
	case checkTarget == "service":
		parts = []string{"service"}
	case checkTarget != "":
		parts = []string{"node", clean(checkTarget)}
	case r.Target.Scope == "node":
		parts = []string{"node", clean(r.Target.Node)}
	case r.Target.Scope == "image":
		parts = []string{"image", clean(r.Target.Image)}
	case r.Target.Scope != "":
		parts = []string{clean(r.Target.Scope)}
	default:
		parts = []string{"gate"}
	}
	out := clean(r.App)
	for _, p := range parts {
		if p != "" {
			out += "." + p
		}
	}
	return out
}

// junitProperties are the run's facts, on every testsuite: the verdict and
// reason as gate.Decide made them, the counts in the words every output
// uses, what was targeted, and the selection (narrowed or not).
func junitProperties(r *gate.Result, o JUnitOptions) []junitProperty {
	sel := r.Selection
	p := []junitProperty{
		{"verdict", string(r.Verdict)},
		{"reason", r.Reason},
		{"summary", countsLine(r.Summary)},
		{"narrowed", fmt.Sprint(sel.Narrowed)},
	}
	if n := narrowedText(sel); n != "" {
		p = append(p, junitProperty{"selection", n})
	}
	p = append(p,
		junitProperty{"labelFilter", sel.LabelFilter},
		junitProperty{"focus", sel.Focus},
		junitProperty{"allowMutating", fmt.Sprint(sel.AllowMutating)},
		junitProperty{"leftOut", fmt.Sprint(sel.LeftOut)},
		junitProperty{"runId", r.RunID},
		junitProperty{"app", r.App},
		junitProperty{"target", targetText(r.Target)},
		junitProperty{"scope", r.Target.Scope},
	)
	for _, kv := range []junitProperty{
		{"node", r.Target.Node},
		{"address", r.Target.Address},
		{"url", r.Target.URL},
		{"image", r.Target.Image},
		{"expectedVersion", r.ExpectedVersion},
		{"observedVersion", r.ObservedVersion},
		{"startedAt", r.StartedAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")},
		{"piv", r.Piv},
	} {
		if kv.Value != "" {
			p = append(p, kv)
		}
	}
	if rem := r.Remediation; rem != nil {
		p = append(p, junitProperty{"remediation", rem.ID})
		if len(rem.CVEs) > 0 {
			p = append(p, junitProperty{"cves", strings.Join(rem.CVEs, " ")})
		}
	}
	for _, a := range r.Attachments {
		if a.Path != "" {
			p = append(p, junitProperty{"attachment", attachmentPath(a.Path, o)})
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
		lines = append(lines, "[[ATTACHMENT|"+attachmentPath(a.Path, o)+"]]")
	}
	return strings.Join(lines, "\n")
}

// attachmentPath is an attachment's path as the CI sees it.
func attachmentPath(p string, o JUnitOptions) string {
	if o.AttachmentDir != "" {
		return filepath.Join(o.AttachmentDir, filepath.FromSlash(p))
	}
	return p
}
