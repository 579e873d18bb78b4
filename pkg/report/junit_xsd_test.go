package report

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/gate"
)

// The real schemas CI tools validate JUnit against, kept byte for byte in
// testdata/xsd (README.md there says where each came from).
const (
	xunitXSD    = "testdata/xsd/junit-10.xsd"             // Jenkins xUnit plugin
	surefireXSD = "testdata/xsd/surefire-test-report.xsd" // Maven Surefire
)

// xmllint is required, not optional: a schema test that skips is a test
// that never fails.
func xmllint(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint is needed to validate junit.xml against the real XSDs: apt-get install -y libxml2-utils (or scripts/ensure-deps.sh as root)")
	}
	return p
}

// validateJUnit checks one junit.xml against junit-10.xsd as a whole and,
// since Surefire's schema describes one <testsuite> per file, every
// <testsuite> taken out on its own (xmllint --xpath) against Surefire's.
func validateJUnit(t *testing.T, name string, doc []byte) {
	t.Helper()
	bin := xmllint(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "junit.xml")
	if err := os.WriteFile(file, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	if out, err := run("--noout", "--schema", xunitXSD, file); err != nil {
		t.Errorf("%s: not valid against %s: %v\n%s", name, xunitXSD, err, out)
	}
	count, err := run("--xpath", "count(/testsuites/testsuite)", file)
	if err != nil {
		t.Fatalf("%s: %v %s", name, err, count)
	}
	var n int
	if _, err := fmt.Sscan(strings.TrimSpace(count), &n); err != nil || n == 0 {
		t.Fatalf("%s: want at least one <testsuite>, xmllint counted %q", name, count)
	}
	for i := 1; i <= n; i++ {
		suite, err := run("--xpath", fmt.Sprintf("/testsuites/testsuite[%d]", i), file)
		if err != nil {
			t.Fatalf("%s: testsuite %d: %v %s", name, i, err, suite)
		}
		one := filepath.Join(dir, fmt.Sprintf("testsuite-%d.xml", i))
		if err := os.WriteFile(one, []byte(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+suite), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := run("--noout", "--schema", surefireXSD, one); err != nil {
			t.Errorf("%s: testsuite %d is not valid against %s: %v\n%s\n%s", name, i, surefireXSD, err, out, suite)
		}
	}
}

// TestJUnitValidatesAgainstCISchemas renders every fixture, and results
// with every state, no checks and hostile text, and validates each with
// xmllint against both XSDs; the golden files on disk too.
func TestJUnitValidatesAgainstCISchemas(t *testing.T) {
	docs := map[string][]byte{}
	results := fixtures()
	results["hostile"] = hostileResult()
	empty := &gate.Result{App: "quote", Target: gate.Target{Scope: "service"}}
	gate.Decide(empty, gate.Policy{}, "")
	results["no checks"] = empty
	every := failingResult()
	every.Checks = append(every.Checks,
		gate.Check{Name: "panics", Suite: "technical", State: gate.Panicked, Blocking: true, Attempts: 1, Failure: &gate.Failure{Message: "panic: boom"}},
		gate.Check{Name: "interrupted", State: gate.Aborted, Blocking: true, Attempts: 1},
		gate.Check{Name: "flaky with a kept failure", Suite: "x", State: gate.Flaky, Blocking: true, Attempts: 2,
			Failure: &gate.Failure{Message: "first attempt: 500", Location: "a.go:1"}})
	gate.Decide(every, gate.Policy{}, "")
	results["every state"] = every
	for name, r := range results {
		b, err := JUnitWith(r, JUnitOptions{AttachmentDir: "/ci/reports"})
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = b
	}
	files, _ := filepath.Glob("testdata/*.junit.xml")
	if len(files) < 5 {
		t.Fatalf("expected at least 5 golden junit.xml files, found %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = b
	}
	for name, b := range docs {
		validateJUnit(t, name, b)
	}
}

// TestJUnitSchemaCheckIsNotVacuous feeds the validator what the issue
// reported (root skipped and timestamp, which junit-10.xsd rejects) and a
// <rerunFailure> without the <stackTrace> Surefire requires.
func TestJUnitSchemaCheckIsNotVacuous(t *testing.T) {
	bin := xmllint(t)
	dir := t.TempDir()
	for name, c := range map[string]struct{ xsd, doc string }{
		"root skipped and timestamp": {xunitXSD, `<testsuites name="x" tests="0" failures="0" errors="0" skipped="0" timestamp="2026-11-25T19:01:02"></testsuites>`},
		"rerunFailure without type":  {xunitXSD, `<testsuites><testsuite name="s" tests="1" failures="0" errors="0"><testcase name="c"><rerunFailure message="m"/></testcase></testsuite></testsuites>`},
		"rerunFailure without trace": {surefireXSD, `<testsuite name="s" tests="1" failures="0" errors="0" skipped="0"><testcase name="c" time="0"><rerunFailure type="flaky"/></testcase></testsuite>`},
		"no skipped on the suite":    {surefireXSD, `<testsuite name="s" tests="0" failures="0" errors="0"></testsuite>`},
		"suite-level system-out":     {surefireXSD, `<testsuite name="s" tests="0" failures="0" errors="0" skipped="0"><system-out>x</system-out></testsuite>`},
	} {
		f := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".xml")
		if err := os.WriteFile(f, []byte(c.doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(bin, "--noout", "--schema", c.xsd, f).CombinedOutput(); err == nil {
			t.Errorf("%s: %s accepted it:\n%s", name, c.xsd, out)
		}
	}
}
