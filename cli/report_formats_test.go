package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/piv-gate/piv/pkg/gate"
)

// What real gates write is held to the real schemas: junit.xml to the
// Jenkins xUnit plugin's junit-10.xsd and Surefire's report schema (kept in
// pkg/report/testdata/xsd), gate.json to schema/gate.schema.json with a
// real JSON Schema validator. And a narrowed run says so in every output.

const (
	xunitXSD    = "../pkg/report/testdata/xsd/junit-10.xsd"
	surefireXSD = "../pkg/report/testdata/xsd/surefire-test-report.xsd"
	gateSchema  = "../schema/gate.schema.json"
)

func TestReportsOfRealRunsMatchTheSchemas(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: flaky, advisory: fail }\n")
	sch := compileGateSchema(t)
	for name, args := range map[string][]string{
		"flaky and advisory":  {"run", "quote", "--node", "app-01"},
		"narrowed technical":  append([]string{"run", "quote", "--node", "app-02"}, technicalOnly()...),
		"focus":               {"run", "quote", "--node", "app-01", "--focus", "port \\d+ accepts"},
		"wrong version fails": {"run", "quote", "--node", "app-01", "--expect-version", "9.9.9"},
	} {
		t.Run(name, func(t *testing.T) {
			r := pivRun(t, f, nil, args...)
			if r.gate == nil {
				t.Fatalf("no gate.json: %s", r.explain())
			}
			b, err := os.ReadFile(filepath.Join(r.out, "gate.json"))
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("gate.json does not match %s: %v", gateSchema, err)
			}
			junit := filepath.Join(r.out, "junit.xml")
			validateJUnitFile(t, junit)
			jb, _ := os.ReadFile(junit)
			if n := strings.Count(string(jb), "<testcase "); n != r.gate.Summary.Total {
				t.Errorf("junit.xml has %d test cases for %d checks", n, r.gate.Summary.Total)
			}
			if r.gate.Summary.Flaky > 0 && !strings.Contains(string(jb), "<rerunFailure ") {
				t.Errorf("a flaky pass should carry <rerunFailure>")
			}
			if r.gate.Target.Node != "" && !strings.Contains(string(jb), `classname="quote.node.`+r.gate.Target.Node+`"`) {
				t.Errorf("junit.xml classname should name the node")
			}

			// A narrowed run says so everywhere; a full one nowhere.
			html, _ := os.ReadFile(filepath.Join(r.out, "report.html"))
			outputs := map[string]string{"stdout": r.stdout, "report.html": string(html), "junit.xml": string(jb)}
			if md, err := os.ReadFile(filepath.Join(r.out, "summary.md")); err == nil {
				outputs["summary.md"] = string(md)
			}
			for what, s := range outputs {
				if got := strings.Contains(s, "NARROWED"); got != r.gate.Selection.Narrowed {
					t.Errorf("%s: NARROWED shown %v, gate.json selection.narrowed %v (%+v)", what, got, r.gate.Selection.Narrowed, r.gate.Selection)
				}
			}
			if r.gate.Piv != "" && !strings.Contains(string(html), "piv "+r.gate.Piv+"</footer>") {
				t.Errorf("report.html footer should name piv %s", r.gate.Piv)
			}
		})
	}
}

// TestNarrowedRunIsRecorded: the selection the user asked for reaches
// gate.json (filled by the run, rendered by the reporters).
func TestNarrowedRunIsRecorded(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: pass }\n")
	r := pivRun(t, f, nil, append([]string{"run", "quote", "--node", "app-02"}, technicalOnly()...)...)
	wantExit(t, r, 0)
	if s := r.gate.Selection; !s.Narrowed || s.LabelFilter != "technical" || s.LeftOut == 0 {
		t.Fatalf("selection: %+v", s)
	}
	if !strings.Contains(r.stdout, "NARROWED: label filter technical;") || !strings.Contains(r.stdout, "this is not a full gate") {
		t.Errorf("stdout should say the run was narrowed:\n%s", r.stdout)
	}
	if r.gate.Verdict != gate.Pass {
		t.Errorf("narrowed is shown, not judged: verdict %s", r.gate.Verdict)
	}
}

func compileGateSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	fh, err := os.Open(gateSchema)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	doc, err := jsonschema.UnmarshalJSON(fh)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("gate.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("gate.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

// validateJUnitFile: the whole file against junit-10.xsd, each testsuite
// on its own against Surefire's (which has no <testsuites> root).
func validateJUnitFile(t *testing.T, file string) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint is needed to validate junit.xml: apt-get install -y libxml2-utils")
	}
	run := func(args ...string) (string, error) {
		out, err := exec.Command(bin, args...).CombinedOutput()
		return string(out), err
	}
	if out, err := run("--noout", "--schema", xunitXSD, file); err != nil {
		t.Errorf("junit.xml not valid against junit-10.xsd: %v\n%s", err, out)
	}
	count, err := run("--xpath", "count(/testsuites/testsuite)", file)
	var n int
	if _, serr := fmt.Sscan(strings.TrimSpace(count), &n); err != nil || serr != nil || n == 0 {
		t.Fatalf("counting testsuites: %v %q", err, count)
	}
	dir := t.TempDir()
	for i := 1; i <= n; i++ {
		suite, err := run("--xpath", fmt.Sprintf("/testsuites/testsuite[%d]", i), file)
		if err != nil {
			t.Fatalf("testsuite %d: %v %s", i, err, suite)
		}
		one := filepath.Join(dir, fmt.Sprintf("s%d.xml", i))
		os.WriteFile(one, []byte(suite), 0o644)
		if out, err := run("--noout", "--schema", surefireXSD, one); err != nil {
			t.Errorf("testsuite %d not valid against surefire-test-report.xsd: %v\n%s", i, err, out)
		}
	}
}
