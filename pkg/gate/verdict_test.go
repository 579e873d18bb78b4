package gate

import (
	"strings"
	"testing"
)

func chk(name string, s State, blocking bool) Check {
	return Check{Name: name, State: s, Blocking: blocking}
}

func TestDecide(t *testing.T) {
	cases := []struct {
		name    string
		checks  []Check
		policy  Policy
		abort   string
		verdict Verdict
		reason  string
	}{
		{"all passed", []Check{chk("a", Passed, true)}, Policy{}, "", Pass, ""},
		{"nothing selected", nil, Policy{}, "", Inconclusive, "no checks were selected"},
		{"only skipped", []Check{chk("a", Skipped, true)}, Policy{}, "", Inconclusive, "no checks were selected"},
		{"blocking failure", []Check{chk("a", Passed, true), chk("b", Failed, true)}, Policy{}, "", Fail, "1 blocking check(s) failed: b"},
		{"advisory failure warns", []Check{chk("a", Passed, true), chk("b", Failed, false)}, Policy{}, "", Pass, ""},
		{"only advisory failures", []Check{chk("b", Failed, false)}, Policy{}, "", Inconclusive, "no blocking check passed"},
		{"only advisory passes", []Check{chk("b", Passed, false)}, Policy{}, "", Inconclusive, "no blocking check passed"},
		{"only a precondition passed", []Check{{Name: "settle", State: Passed, Blocking: true, Precondition: true}, chk("adv", Passed, false)}, Policy{}, "", Inconclusive, "no blocking check passed"},
		{"a precondition alone is nothing selected", []Check{{Name: "settle", State: Passed, Blocking: true, Precondition: true}}, Policy{}, "", Inconclusive, "no checks were selected"},
		{"failed precondition fails", []Check{{Name: "settle", State: Failed, Blocking: true, Precondition: true}}, Policy{}, "", Fail, "settle"},
		{"a blocking check that skipped itself", []Check{chk("a", Passed, true), {Name: "b", State: Skipped, Blocking: true, Failure: &Failure{Message: "skip"}}}, Policy{}, "", Inconclusive, "skipped themselves while running: b"},
		{"a filtered or pending check does not count", []Check{chk("a", Passed, true), {Name: "p", State: Skipped, Blocking: false, Failure: &Failure{Message: "pending"}}}, Policy{}, "", Pass, ""},
		{"root causes first, in run order", []Check{chk("technical port 8443", Failed, true), chk("a journey", Failed, true)}, Policy{}, "", Fail, "technical port 8443; a journey"},
		{"flaky warns", []Check{chk("a", Flaky, true)}, Policy{}, "", Pass, ""},
		{"flaky blocks on policy", []Check{chk("a", Flaky, true)}, Policy{FlakyBlocks: true}, "", Fail, "passed only on retry"},
		{"panic is a harness fault", []Check{chk("a", Failed, true), chk("p", Panicked, true)}, Policy{}, "", Inconclusive, "harness panic in p"},
		{"interrupted", []Check{chk("a", Aborted, true)}, Policy{}, "", Inconclusive, "interrupted"},
		{"unknown state fails closed", []Check{chk("a", State("weird"), true)}, Policy{}, "", Inconclusive, ""},
		{"abort wins over pass", []Check{chk("a", Passed, true)}, Policy{}, "timed out", Inconclusive, "timed out"},
	}
	for _, c := range cases {
		r := &Result{Checks: c.checks}
		Decide(r, c.policy, c.abort)
		if r.Verdict != c.verdict || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("%s: got %s %q, want %s …%s…", c.name, r.Verdict, r.Reason, c.verdict, c.reason)
		}
		if r.Verdict != Pass && r.Reason == "" {
			t.Errorf("%s: a non-pass verdict must say why", c.name)
		}
		if r.Verdict == Pass && r.Verdict.ExitCode() != 0 || r.Verdict != Pass && r.Verdict.ExitCode() == 0 {
			t.Errorf("%s: exit code %d for %s", c.name, r.Verdict.ExitCode(), r.Verdict)
		}
	}
	if Verdict("").ExitCode() != 3 || Verdict("bogus").ExitCode() != 3 {
		t.Error("unknown verdicts must exit 3")
	}
	r := &Result{ExpectedVersion: "2.4.1", Checks: []Check{chk("a", Passed, true)}}
	Decide(r, Policy{}, "")
	if r.Verdict != Inconclusive || !strings.Contains(r.Reason, "never observed") {
		t.Errorf("unobserved expected version: %s %q", r.Verdict, r.Reason)
	}
	facts := []struct {
		f    Facts
		want string
	}{
		{Facts{ReportError: "disk full"}, "reports could not be written: disk full"},
		{Facts{ProgrammaticFocus: true}, "focused specs"},
		{Facts{UnknownLabels: "smokey"}, "not in the registry: smokey"},
		{Facts{SpecsSelected: 0}, "no checks were selected (label filter \"technical\")"},
	}
	for _, c := range facts {
		r := &Result{Selection: Selection{LabelFilter: "technical"}, Checks: []Check{chk("a", Passed, true)}}
		DecideRun(r, Policy{}, c.f)
		if r.Verdict != Inconclusive || !strings.Contains(r.Reason, c.want) {
			t.Errorf("facts %+v: got %s %q, want inconclusive …%s…", c.f, r.Verdict, r.Reason, c.want)
		}
	}
	r = &Result{MissingSecrets: []string{"QUOTE_PASSWORD"}, Checks: []Check{chk("a", Passed, true)}}
	DecideRun(r, Policy{}, Facts{SpecsSelected: -1})
	if r.Verdict != Inconclusive || !strings.Contains(r.Reason, "QUOTE_PASSWORD not set") {
		t.Errorf("missing secret: %s %q", r.Verdict, r.Reason)
	}
	r = &Result{Checks: []Check{chk("a", Passed, true), chk("b", Flaky, true), chk("c", Failed, false), chk("d", Skipped, true)}}
	Decide(r, Policy{}, "")
	if r.Summary != (Summary{Total: 4, Passed: 2, Failed: 1, Skipped: 1, Flaky: 1, AdvisoryFailed: 1}) {
		t.Errorf("summary %+v", r.Summary)
	}
}

func TestCombineIsTheWorstTarget(t *testing.T) {
	pass := func() *Result {
		r := &Result{Checks: []Check{chk("technical port", Passed, true)}}
		Decide(r, Policy{}, "")
		return r
	}
	bad := &Result{Checks: []Check{chk("quote API", Failed, true)}}
	Decide(bad, Policy{}, "")
	r := &Result{}
	Combine(r, []Part{{Target: "app-01", Result: pass()}, {Target: "app-02", Result: bad, Dir: "targets/app-02"}, {Target: "service", Result: pass()}}, Policy{})
	if r.Verdict != Fail || !strings.HasPrefix(r.Reason, "app-02: 1 blocking check(s) failed: quote API") || strings.Contains(r.Reason, "app-01") {
		t.Fatalf("fleet: %s %q", r.Verdict, r.Reason)
	}
	if r.Summary.Total != 3 || r.Checks[1].Target != "app-02" {
		t.Fatalf("checks: %+v %+v", r.Summary, r.Checks)
	}
	inc := &Result{Checks: []Check{chk("a", Passed, true)}}
	Decide(inc, Policy{}, "timed out")
	r = &Result{}
	Combine(r, []Part{{Target: "app-01", Result: bad}, {Target: "service", Result: inc}}, Policy{})
	if r.Verdict != Inconclusive || !strings.HasPrefix(r.Reason, "service: timed out | app-01:") {
		t.Fatalf("worst first: %s %q", r.Verdict, r.Reason)
	}
	r = &Result{}
	Combine(r, nil, Policy{})
	if r.Verdict != Inconclusive {
		t.Fatalf("no parts: %s", r.Verdict)
	}
	r = &Result{}
	Combine(r, []Part{{Target: "app-01", Result: pass()}, {Target: "service", Result: pass()}}, Policy{})
	if r.Verdict != Pass || r.Reason != "" {
		t.Fatalf("all pass: %s %q", r.Verdict, r.Reason)
	}
}

func TestCombineWithoutAResultIsInconclusive(t *testing.T) {
	ok := &Result{Checks: []Check{chk("a", Passed, true)}}
	Decide(ok, Policy{}, "")
	r := &Result{}
	Combine(r, []Part{{Target: "app-01", Result: ok}, {Target: "app-02"}}, Policy{})
	if r.Verdict != Inconclusive || !strings.Contains(r.Reason, "app-02: no result") {
		t.Fatalf("%s %q", r.Verdict, r.Reason)
	}
}

func TestCombineIsNeverBetterThanItsChecks(t *testing.T) {
	r := &Result{}
	Combine(r, []Part{{Target: "app-01", Result: &Result{Verdict: Pass}}, {Target: "service", Result: &Result{Verdict: Pass}}}, Policy{})
	if r.Verdict != Inconclusive {
		t.Fatalf("parts that say pass with no checks: %s %q", r.Verdict, r.Reason)
	}
}

func TestCombineSeesTheTargetsVersion(t *testing.T) {
	part := func() *Result {
		r := &Result{ExpectedVersion: "2.4.1", ObservedVersion: "2.4.1", Checks: []Check{chk("technical version", Passed, true)}}
		Decide(r, Policy{}, "")
		return r
	}
	r := &Result{ExpectedVersion: "2.4.1"}
	Combine(r, []Part{{Target: "app-01", Result: part()}, {Target: "service", Result: part()}}, Policy{})
	if r.Verdict != Pass || r.ObservedVersion != "2.4.1" {
		t.Fatalf("%s %q observed %q", r.Verdict, r.Reason, r.ObservedVersion)
	}
}
