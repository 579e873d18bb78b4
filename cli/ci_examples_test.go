package cli

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/piv-gate/piv/internal/fleettest"
)

// The shell in the CI integrations (action.yml, the reusable workflow, the
// GitLab template, the Jenkinsfile) run for real here: with the real piv
// against a real fleet, inputs given as the CI system gives them
// (environment variables), so a quoting mistake, an empty node taken for a
// service gate or an exit code mapped wrongly fails a test, not a
// deployment.

// ciFleet: technical PIV only (no browser journeys), app-03 on a wrong version.
func ciFleet(t *testing.T) *fleettest.Fleet {
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) {
		if s.Name == "app-03" {
			s.Version = "2.4.0"
		}
	})
	q := strings.Replace(f.YAML(""), "suites: [quote]\n", "", 1)
	if err := os.WriteFile(filepath.Join(f.Dir, "quote.yaml"), []byte(q), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// runScript runs script with bash in dir, with env added to a minimal
// environment whose PATH finds the test's piv as "piv".
func runScript(t *testing.T, script, dir string, env map[string]string) (int, string) {
	t.Helper()
	bin := t.TempDir()
	if err := os.Symlink(pivBin, filepath.Join(bin, "piv")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + bin + ":/usr/local/bin:/usr/bin:/bin", "HOME=" + t.TempDir()}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), out.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, out.String()
}

type step struct {
	ID   string            `yaml:"id"`
	Name string            `yaml:"name"`
	Run  string            `yaml:"run"`
	Env  map[string]string `yaml:"env"`
}

func actionSteps(t *testing.T) []step {
	t.Helper()
	var a struct {
		Runs struct{ Steps []step } `yaml:"runs"`
	}
	b, err := os.ReadFile("../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	return a.Runs.Steps
}

func findStep(t *testing.T, steps []step, pick func(step) bool) step {
	t.Helper()
	for _, s := range steps {
		if pick(s) {
			return s
		}
	}
	t.Fatal("step not found")
	return step{}
}

// Every ${{ }} of a step that runs a script is in its env:, none in run:.
func TestCIInputsOnlyThroughEnv(t *testing.T) {
	files := []string{"../action.yml", "../.github/workflows/node-gate.yml", "../.github/workflows/ci.yml", "../.github/workflows/nightly.yml"}
	expr := regexp.MustCompile(`\$\{\{`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				if run, ok := x["run"].(string); ok && expr.MatchString(run) {
					t.Errorf("%s: a run: script interpolates ${{ }}:\n%s", f, run)
				}
				for _, c := range x {
					walk(c)
				}
			case []any:
				for _, c := range x {
					walk(c)
				}
			}
		}
		walk(doc)
	}
}

func outputs(t *testing.T, path string) map[string]string {
	b, _ := os.ReadFile(path)
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

func TestCIActionGateStep(t *testing.T) {
	f := ciFleet(t)
	gateStep := findStep(t, actionSteps(t), func(s step) bool { return s.ID == "gate" })
	for k := range gateStep.Env {
		if !strings.HasPrefix(k, "PIV_") {
			t.Errorf("unexpected env %s", k)
		}
	}
	ws := t.TempDir()
	fleet := "false"
	run := func(node, service, version string) (int, map[string]string, string) {
		out := filepath.Join(t.TempDir(), "github_output")
		env := map[string]string{"PIV_BIN": pivBin, "PIV_APP": "quote", "PIV_NODE": node, "PIV_SERVICE": service, "PIV_FLEET": fleet, "PIV_VERSION": version,
			"PIV_NO_VERSION_CHECK": "false", "PIV_LABEL_FILTER": "technical", "PIV_CONFIG_DIR": f.Dir, "PIV_SETTLE": "",
			"PIV_TIMEOUT": "60s", "PIV_OUT": "reports/gate-" + node + strings.TrimSuffix(fleet, "false"), "GITHUB_OUTPUT": out, "GITHUB_STEP_SUMMARY": filepath.Join(ws, "summary.md")}
		rc, log := runScript(t, gateStep.Run, ws, env)
		return rc, outputs(t, out), log
	}

	rc, o, log := run("app-02", "false", "2.4.1")
	if rc != 0 || o["verdict"] != "pass" || o["exit-code"] != "0" || o["junit"] != "reports/gate-app-02/junit.xml" {
		t.Fatalf("pass: rc %d %v\n%s", rc, o, log)
	}
	if _, err := os.Stat(filepath.Join(ws, o["junit"])); err != nil {
		t.Fatalf("junit.xml: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(ws, "summary.md")); !strings.Contains(string(b), "PASS") {
		t.Fatalf("step summary:\n%s", b)
	}

	if rc, o, log = run("app-03", "false", "2.4.1"); rc != 0 || o["verdict"] != "fail" || o["exit-code"] != "1" {
		t.Fatalf("fail: rc %d %v\n%s", rc, o, log)
	}

	// After the last node: the fleet gate, where app-03's wrong version
	// cannot hide behind the balancer.
	fleet = "true"
	if rc, o, log = run("", "false", "2.4.1"); rc != 0 || o["verdict"] != "fail" {
		t.Fatalf("fleet: rc %d %v\n%s", rc, o, log)
	}
	if rc, o, log = run("app-02", "false", "2.4.1"); o["verdict"] != "usage" || !strings.Contains(log, "not several") {
		t.Fatalf("node and fleet: rc %d %v\n%s", rc, o, log)
	}
	fleet = "false"

	// Empty values are refused, never turned into a service gate or a gate
	// without the version check; nothing runs.
	for _, c := range []struct{ node, service, version, msg string }{
		{"", "false", "2.4.1", "input node is empty"},
		{"app-02", "true", "2.4.1", "not several"},
		{"app-02", "false", "", "input version is empty"},
	} {
		rc, o, log := run(c.node, c.service, c.version)
		if rc != 0 || o["verdict"] != "usage" || o["exit-code"] != "2" || !strings.Contains(log, c.msg) {
			t.Errorf("%+v: rc %d %v\n%s", c, rc, o, log)
		}
	}
	if d, _ := filepath.Glob(filepath.Join(ws, "reports", "gate-", "*")); len(d) != 0 {
		t.Fatalf("a refused input ran a gate: %v", d)
	}

	// A hostile node name is one argument: piv refuses it, no command runs.
	marker := filepath.Join(t.TempDir(), "pwned")
	rc, o, log = run(`app-02"; touch `+marker+`; echo "`, "false", "2.4.1")
	if rc != 0 || o["exit-code"] != "2" || !strings.Contains(log, "unknown node") {
		t.Fatalf("hostile node: rc %d %v\n%s", rc, o, log)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the node input ran a command")
	}

	// binary: an existing piv (or a team's gate) is used as is; a wrong one
	// stops before any gate.
	build := findStep(t, actionSteps(t), func(s step) bool { return s.ID == "build" })
	bout := filepath.Join(t.TempDir(), "github_output")
	if rc, log := runScript(t, build.Run, ws, map[string]string{"PIV_BINARY": pivBin, "GITHUB_OUTPUT": bout}); rc != 0 || outputs(t, bout)["bin"] != pivBin {
		t.Fatalf("binary: rc %d %v\n%s", rc, outputs(t, bout), log)
	}
	if rc, log := runScript(t, build.Run, ws, map[string]string{"PIV_BINARY": "/nonexistent/piv", "GITHUB_OUTPUT": bout}); rc != 2 || !strings.Contains(log, "not an executable") {
		t.Fatalf("missing binary: rc %d\n%s", rc, log)
	}

	// The last step turns the verdict into the step's exit code.
	verdict := findStep(t, actionSteps(t), func(s step) bool { return s.Name == "the verdict" })
	for v, want := range map[string]int{"pass": 0, "fail": 1, "usage": 2, "inconclusive": 3, "": 3} {
		rc, log := runScript(t, verdict.Run, ws, map[string]string{"PIV_VERDICT": v, "PIV_EXIT": "3"})
		if rc != want {
			t.Errorf("verdict %q: exit %d, want %d\n%s", v, rc, want, log)
		}
		if v == "inconclusive" && !strings.Contains(log, "not a pass") {
			t.Errorf("inconclusive message: %s", log)
		}
	}
}

func TestCIReusableWorkflowSecrets(t *testing.T) {
	var wf struct {
		Jobs map[string]struct{ Steps []step } `yaml:"jobs"`
	}
	b, _ := os.ReadFile("../.github/workflows/node-gate.yml")
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	s := findStep(t, wf.Jobs["gate"].Steps, func(s step) bool { return strings.Contains(s.Name, "secrets") })
	envFile := filepath.Join(t.TempDir(), "github_env")
	rc, log := runScript(t, s.Run, t.TempDir(), map[string]string{"GITHUB_ENV": envFile,
		"PIV_SECRET_ENV": "QUOTE_TEST_PASSWORD=p=a$s w'o\"rd\n# a comment\n\nOTHER=x"})
	if rc != 0 {
		t.Fatalf("rc %d\n%s", rc, log)
	}
	if !strings.Contains(log, "::add-mask::p=a$s w'o\"rd") {
		t.Errorf("value not masked:\n%s", log)
	}
	env, _ := os.ReadFile(envFile)
	if !regexp.MustCompile(`(?s)^QUOTE_TEST_PASSWORD<<(piv_[0-9a-f]{32})\np=a\$s w'o"rd\n(piv_[0-9a-f]{32})\nOTHER<<piv_[0-9a-f]{32}\nx\npiv_[0-9a-f]{32}\n$`).Match(env) {
		t.Fatalf("GITHUB_ENV:\n%s", env)
	}
	if rc, log := runScript(t, s.Run, t.TempDir(), map[string]string{"GITHUB_ENV": envFile, "PIV_SECRET_ENV": "just a line"}); rc != 2 || !strings.Contains(log, "not KEY=value") {
		t.Fatalf("bad line: rc %d\n%s", rc, log)
	}
}

func TestCIGitLabTemplate(t *testing.T) {
	f := ciFleet(t)
	var tpl map[string]struct {
		Variables map[string]string `yaml:"variables"`
		Script    []string          `yaml:"script"`
		Retry     struct {
			Max       int   `yaml:"max"`
			ExitCodes []int `yaml:"exit_codes"`
		} `yaml:"retry"`
		AllowFailure bool `yaml:"allow_failure"`
		Artifacts    struct {
			When    string            `yaml:"when"`
			Reports map[string]string `yaml:"reports"`
		} `yaml:"artifacts"`
	}
	b, _ := os.ReadFile("../examples/gitlab/piv-gate.gitlab-ci.yml")
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	job := tpl[".piv-gate"]
	if job.Retry.Max != 1 || len(job.Retry.ExitCodes) != 1 || job.Retry.ExitCodes[0] != 3 || job.AllowFailure || job.Artifacts.When != "always" || job.Artifacts.Reports["junit"] != "reports/gate/junit.xml" {
		t.Fatalf("template: %+v", job)
	}
	run := func(vars map[string]string) (int, string) {
		env := map[string]string{}
		for k, v := range job.Variables {
			env[k] = v
		}
		for k, v := range vars {
			env[k] = v
		}
		env["PIV_CONFIG"], env["PIV_SETTLE"], env["PIV_TIMEOUT"] = f.Dir, "0s", "60s"
		return runScript(t, strings.Join(job.Script, "\n"), t.TempDir(), env)
	}
	for _, c := range []struct {
		vars map[string]string
		rc   int
		msg  string
	}{
		{map[string]string{"PIV_APP": "quote", "PIV_NODE": "app-02", "PIV_VERSION": "2.4.1", "PIV_LABEL_FILTER": "technical"}, 0, "piv gate: PASS"},
		{map[string]string{"PIV_APP": "quote", "PIV_NODE": "app-03", "PIV_VERSION": "2.4.1", "PIV_LABEL_FILTER": "technical"}, 1, "roll app-03 back"},
		{map[string]string{"PIV_APP": "quote", "PIV_NODE": "app-01", "PIV_VERSION": "2.4.1", "PIV_LABEL_FILTER": "technical && browser"}, 3, "not a pass"},
		{map[string]string{"PIV_APP": "quote", "PIV_FLEET": "true", "PIV_VERSION": "2.4.1", "PIV_LABEL_FILTER": "technical"}, 1, "roll the release back"},
		{map[string]string{"PIV_APP": "quote", "PIV_NODE": "app-02", "PIV_FLEET": "true", "PIV_VERSION": "2.4.1"}, 2, "set one of"},
		{map[string]string{"PIV_APP": "quote", "PIV_VERSION": "2.4.1"}, 2, "PIV_NODE is empty"},
		{map[string]string{"PIV_APP": "quote", "PIV_NODE": "app-02"}, 2, "PIV_VERSION is empty"},
	} {
		if rc, log := run(c.vars); rc != c.rc || !strings.Contains(log, c.msg) {
			t.Errorf("%v: exit %d, want %d with %q\n%s", c.vars, rc, c.rc, c.msg, log)
		}
	}
}

func TestCIJenkinsfileScript(t *testing.T) {
	f := ciFleet(t)
	b, _ := os.ReadFile("../examples/jenkins/Jenkinsfile")
	m := regexp.MustCompile(`(?s)script: '''\n(.*?)'''`).FindSubmatch(b)
	if m == nil {
		t.Fatal("no sh script in the Jenkinsfile")
	}
	for _, want := range []string{"skipMarkingBuildUnstable: true", "case 3:\n              unstable(", "case 1:\n              error("} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("Jenkinsfile lacks %q", want)
		}
	}
	run := func(node, fleet, version, filter string) (int, string) {
		return runScript(t, string(m[1]), t.TempDir(), map[string]string{"PIV_APP": "quote", "PIV_NODE": node, "PIV_SERVICE": "false", "PIV_FLEET": fleet,
			"PIV_VERSION": version, "PIV_LABEL_FILTER": filter, "PIV_CONFIG": f.Dir, "PIV_OUT": "reports/gate"})
	}
	for _, c := range []struct {
		node, fleet, version, filter string
		rc                           int
	}{
		{"app-02", "false", "2.4.1", "technical", 0},
		{"app-03", "false", "2.4.1", "technical", 1},
		{"app-01", "false", "2.4.1", "technical && browser", 3},
		{"", "true", "2.4.1", "technical", 1},
		{"app-02", "true", "2.4.1", "technical", 2},
		{"", "false", "2.4.1", "technical", 2},
		{"app-02", "false", "", "technical", 2},
	} {
		if rc, log := run(c.node, c.fleet, c.version, c.filter); rc != c.rc {
			t.Errorf("%+v: exit %d, want %d\n%s", c, rc, c.rc, log)
		}
	}
}
