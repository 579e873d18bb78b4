package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/gate"
)

// countsRE reads the counts sentence back out of any rendering; parsing
// (rather than comparing with countsLine) is what makes this test able to
// catch a renderer that prints its own numbers.
var countsRE = regexp.MustCompile(`(\d+) checks?: (\d+) passed(?: \((\d+) flaky\))?, (\d+) failed(?: \((\d+) advisory\))?, (\d+) skipped`)

func parseCounts(t *testing.T, where, s string) gate.Summary {
	t.Helper()
	m := countsRE.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("%s: no counts sentence in\n%s", where, s)
	}
	n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	return gate.Summary{Total: n(1), Passed: n(2), Flaky: n(3), Failed: n(4), AdvisoryFailed: n(5), Skipped: n(6)}
}

type junitDoc struct {
	Tests    int `xml:"tests,attr"`
	Failures int `xml:"failures,attr"`
	Errors   int `xml:"errors,attr"`
	Suites   []struct {
		Tests      int `xml:"tests,attr"`
		Failures   int `xml:"failures,attr"`
		Errors     int `xml:"errors,attr"`
		Skipped    int `xml:"skipped,attr"`
		Properties []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name      string     `xml:"name,attr"`
			Classname string     `xml:"classname,attr"`
			Failure   *struct{}  `xml:"failure"`
			Error     *struct{}  `xml:"error"`
			Skipped   *struct{}  `xml:"skipped"`
			Reruns    []struct{} `xml:"rerunFailure"`
			SystemErr string     `xml:"system-err"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestOneSetOfCounts renders every format from one Result and checks that
// they all say the same numbers as gate.json's summary: the stdout text,
// Markdown and report.html in words, junit.xml in its attributes, its
// test cases and its summary property.
func TestOneSetOfCounts(t *testing.T) {
	results := fixtures()
	every := failingResult()
	every.Checks = append(every.Checks,
		gate.Check{Name: "panics", Suite: "technical", State: gate.Panicked, Blocking: true, Attempts: 1, Failure: &gate.Failure{Message: "panic: boom"}},
		gate.Check{Name: "interrupted", State: gate.Aborted, Blocking: true, Attempts: 1})
	gate.Decide(every, gate.Policy{}, "")
	results["every state"] = every
	for name, r := range results {
		t.Run(name, func(t *testing.T) {
			text, md, html, junit, js := renderAll(t, r)
			var g struct{ Summary gate.Summary }
			if err := json.Unmarshal([]byte(js), &g); err != nil {
				t.Fatal(err)
			}
			want := g.Summary
			if want != r.Summary {
				t.Fatalf("gate.json summary %+v, Result %+v", want, r.Summary)
			}
			if want.Total != len(r.Checks) {
				t.Fatalf("summary total %d for %d checks", want.Total, len(r.Checks))
			}

			lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
			if got := parseCounts(t, "text (last line)", lines[len(lines)-1]); got != want {
				t.Errorf("text says %+v, gate.json %+v", got, want)
			}
			if got := parseCounts(t, "markdown", md); got != want {
				t.Errorf("markdown says %+v, gate.json %+v", got, want)
			}
			if got := parseCounts(t, "html", html[strings.Index(html, `<p class="summary">`):]); got != want {
				t.Errorf("report.html says %+v, gate.json %+v", got, want)
			}
			for label, v := range map[string]int{"passed": want.Passed, "failed": want.Failed, "skipped": want.Skipped, "flaky": want.Flaky, "advisory failed": want.AdvisoryFailed} {
				if box := fmt.Sprintf("<span><b>%d</b> %s</span>", v, label); !strings.Contains(html, box) {
					t.Errorf("report.html lacks %q", box)
				}
			}

			var doc junitDoc
			if err := xml.Unmarshal([]byte(junit), &doc); err != nil {
				t.Fatal(err)
			}
			// GitLab keys test cases on classname + name: a duplicate pair
			// is silently squashed into one (gitlab-org/gitlab#237920).
			seen := map[[2]string]bool{}
			for _, s := range doc.Suites {
				for _, c := range s.Cases {
					k := [2]string{c.Classname, c.Name}
					if seen[k] {
						t.Errorf("junit: classname %q and name %q repeat: GitLab would drop one", c.Classname, c.Name)
					}
					seen[k] = true
				}
			}
			var cases, failures, errors, skipped, reruns, advisory, sumTests, sumFail, sumErr, sumSkip int
			for _, s := range doc.Suites {
				sumTests += s.Tests
				sumFail += s.Failures
				sumErr += s.Errors
				sumSkip += s.Skipped
				for _, p := range s.Properties {
					if p.Name == "summary" {
						if got := parseCounts(t, "junit summary property", p.Value); got != want {
							t.Errorf("junit summary property says %+v, gate.json %+v", got, want)
						}
					}
				}
				for _, c := range s.Cases {
					cases++
					if c.Failure != nil {
						failures++
					}
					if c.Error != nil {
						errors++
					}
					if c.Skipped != nil {
						skipped++
					}
					if len(c.Reruns) > 0 {
						reruns++
					}
					if strings.HasPrefix(c.SystemErr, "WARNING (advisory") {
						advisory++
					}
				}
			}
			// tests is the number of checks: no synthetic verdict case.
			if doc.Tests != want.Total || cases != want.Total || sumTests != want.Total {
				t.Errorf("junit tests=%d, %d test cases, suites sum %d; gate.json total %d", doc.Tests, cases, sumTests, want.Total)
			}
			// failures + errors are the failed checks that block (advisory
			// failures pass with a warning), skipped the skipped ones.
			if doc.Failures != failures || sumFail != failures || doc.Errors != errors || sumErr != errors {
				t.Errorf("junit attributes disagree with the test cases: failures %d/%d/%d errors %d/%d/%d", doc.Failures, sumFail, failures, doc.Errors, sumErr, errors)
			}
			if failures+errors != want.Failed-want.AdvisoryFailed {
				t.Errorf("junit failures %d + errors %d, gate.json failed %d - advisory %d", failures, errors, want.Failed, want.AdvisoryFailed)
			}
			if skipped != want.Skipped || sumSkip != want.Skipped {
				t.Errorf("junit skipped %d (suites %d), gate.json %d", skipped, sumSkip, want.Skipped)
			}
			if reruns != want.Flaky || advisory != want.AdvisoryFailed {
				t.Errorf("junit: %d flaky test cases (gate.json %d), %d advisory warnings (gate.json %d)", reruns, want.Flaky, advisory, want.AdvisoryFailed)
			}

			// Per-target rows (--fleet) add up to the run's counts.
			if rows := targetRows(r); rows != nil {
				var sum gate.Summary
				for _, row := range rows {
					c := parseCounts(t, "text target row", text[strings.Index(text, "  "+row.Label+" "):])
					sum.Total += c.Total
					sum.Passed += c.Passed
					sum.Failed += c.Failed
					sum.Skipped += c.Skipped
					sum.Flaky += c.Flaky
					sum.AdvisoryFailed += c.AdvisoryFailed
				}
				if sum != want {
					t.Errorf("target rows add up to %+v, gate.json %+v", sum, want)
				}
			}
		})
	}
}
