package cli

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
)

// Whatever a suite does to the process, the deployer gets exit 3 and a
// gate.json that says why: never 0 (pass), 1 (the app is wrong) or 2.
func TestHarnessFaultsAreInconclusiveWithGateWritten(t *testing.T) {
	for _, c := range []struct{ fault, reason string }{
		{"goroutine-panic", "crashed (exit 2)"},
		{"exit0", "exited 0 before the gate finished"},
		{"exit1", "crashed (exit 1)"},
		{"describe-panic", "before the gate finished"},
		{"setting-missing", "before the gate finished"},
	} {
		t.Run(c.fault, func(t *testing.T) {
			f := selftestFleet(t, "settings: { fault: "+c.fault+" }\n")
			r := pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--label-filter", "functional")
			wantExit(t, r, 3)
			if r.gate == nil || r.gate.Verdict != gate.Inconclusive || !strings.Contains(r.gate.Reason, c.reason) {
				t.Fatalf("gate.json: %+v\n%s", r.gate, r.explain())
			}
			if !strings.Contains(r.stdout, "INCONCLUSIVE") {
				t.Fatalf("summary:\n%s", r.explain())
			}
		})
	}
}

// A signal in a gate's first milliseconds still ends in exit 3 with
// gate.json: sent as soon as the report folder exists (before the gate
// process is started) and as soon as the gate process exists (before it
// can have set up its own handling).
func TestSIGTERMAtStartIsInconclusive(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: pass }\n")
	for _, when := range []string{"folder", "child"} {
		t.Run(when, func(t *testing.T) {
			out := t.TempDir()
			cmd := exec.Command(pivBin, "run", "quote", "--node", "app-01", "--config", f.Dir, "--out", out, "--timeout", "60s")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			ready := false
			for i := 0; i < 5000 && !ready; i++ { // bounded: 5000 × 1 ms
				switch when {
				case "folder":
					_, err := os.Stat(out + "/gate.json")
					ready = err == nil
				case "child":
					// Any of its threads may have started the child.
					tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(cmd.Process.Pid) + "/task/*/children")
					for _, p := range tasks {
						b, _ := os.ReadFile(p)
						ready = ready || strings.TrimSpace(string(b)) != ""
					}
				}
				if !ready {
					time.Sleep(time.Millisecond)
				}
			}
			if !ready {
				cmd.Process.Kill()
				t.Fatalf("never reached %s", when)
			}
			cmd.Process.Signal(syscall.SIGTERM)
			err := cmd.Wait()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != 3 {
				t.Fatalf("want exit 3, got %v", err)
			}
			g := readGate(t, out)
			if g == nil || g.Verdict != gate.Inconclusive || !strings.Contains(g.Reason, "SIGTERM") {
				t.Fatalf("gate.json: %+v", g)
			}
		})
	}
}

// Two gates given the same --out: the second is refused while the first
// runs, and the first's gate.json describes the first.
func TestBusyOutIsRefused(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: hang }\n")
	out := t.TempDir()
	first := exec.Command(pivBin, "run", "quote", "--node", "app-01", "--label-filter", "functional", "--config", f.Dir, "--out", out, "--timeout", "8s")
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill()
	locked := false
	for i := 0; i < 500 && !locked; i++ { // bounded: 500 × 10 ms
		b, _ := os.ReadFile(out + "/.piv-lock")
		locked = strings.Contains(string(b), "token ")
		if !locked {
			time.Sleep(10 * time.Millisecond)
		}
	}
	if !locked {
		t.Fatal("the first gate never took the lock")
	}
	second := exec.Command(pivBin, "run", "quote", "--node", "app-02", "--label-filter", "technical", "--config", f.Dir, "--out", out)
	b, err := second.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(string(b), "in use by another gate") {
		t.Fatalf("second gate on a busy --out: %v\n%s", err, b)
	}
	first.Wait()
	g := readGate(t, out)
	if g == nil || g.Target.Node != "app-01" {
		t.Fatalf("gate.json describes another gate: %+v", g)
	}
}

// Empty values are not absent values: an unset pipeline variable must not
// turn a node gate into a service gate or drop version pinning.
func TestEmptyFlagValuesAreUsageErrors(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: pass }\n")
	for _, args := range [][]string{
		{"run", "quote", "--node", ""},
		{"run", "quote", "--node", "  "},
		{"run", "quote", "--node", "app-01", "--expect-version", ""},
		{"run", "quote", "--label-filter", ""},
		{"run", "quote", "--node=", "--service"},
		{"run", "quote", "--node", "app-01", "--settle", "-5s"},
	} {
		r := pivRun(t, f, nil, args...)
		if r.code != 2 {
			t.Errorf("%q: want exit 2, got %s", args, r.explain())
		}
	}
}

// A secret the environment lacks is a configuration error (exit 2), with
// gate.json saying which variable to export — not a failed deployment.
func TestMissingSecretIsAConfigError(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: secret }\n")
	r := pivRun(t, f, []string{"PIV_SELFTEST_SECRET="}, "run", "quote", "--node", "app-01", "--label-filter", "functional")
	wantExit(t, r, 2)
	if r.gate == nil || r.gate.Verdict != gate.Inconclusive || !strings.Contains(r.gate.Reason, "PIV_SELFTEST_SECRET") ||
		len(r.gate.MissingSecrets) != 1 {
		t.Fatalf("gate.json: %+v\n%s", r.gate, r.explain())
	}
}

// A report that cannot be written (here junit.xml, blocked during the run
// by a folder of that name, as a full disk would) makes the gate inconclusive, and
// gate.json says so: the record never contradicts the exit code.
func TestUnwritableReportIsInconclusiveInGateJSON(t *testing.T) {
	f := selftestFleet(t, "settings: { fault: block-junit }\n")
	out := t.TempDir()
	cmd := exec.Command(pivBin, "run", "quote", "--node", "app-01", "--label-filter", "functional", "--config", f.Dir, "--out", out, "--timeout", "60s")
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("want exit 3, got %v", err)
	}
	g := readGate(t, out)
	if g == nil || g.Verdict != gate.Inconclusive || !strings.Contains(g.Reason, "reports could not be written") {
		t.Fatalf("gate.json: %+v", g)
	}
}

// A crash that prints a secret (the Go runtime writes the panic itself, past
// the child's redaction) reaches neither stderr nor gate.json in clear: the
// child handed its secrets to the supervising parent.
func TestCrashWithASecretIsRedactedByTheParent(t *testing.T) {
	const value = "crash-secret-0451"
	f := selftestFleet(t, "settings: { fault: secret-panic }\n")
	r := pivRun(t, f, []string{"PIV_SELFTEST_SECRET=" + value}, "run", "quote", "--node", "app-01", "--label-filter", "functional")
	wantExit(t, r, 3)
	if !strings.Contains(r.stderr, "crashing with [REDACTED]") {
		t.Fatalf("the crash is not relayed redacted:\n%s", r.explain())
	}
	if strings.Contains(r.stdout+r.stderr, value) {
		t.Fatalf("secret in the output:\n%s", r.explain())
	}
	filepath.Walk(r.out, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			if b, _ := os.ReadFile(p); strings.Contains(string(b), value) {
				t.Errorf("secret written to %s", p)
			}
		}
		return nil
	})
}

// A failure inside a piv helper is located at the suite's line (Ginkgo's
// GinkgoHelper), not in piv's own code.
func TestFailureLocationIsTheSpecsLine(t *testing.T) {
	src, err := os.ReadFile("../suites/selftest/faults.go")
	if err != nil {
		t.Fatal(err)
	}
	line := 0
	for i, l := range strings.Split(string(src), "\n") {
		if strings.Contains(l, "// failure location: this line") {
			line = i + 1
		}
	}
	f := selftestFleet(t, "settings: { fault: setting-in-spec }\n")
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--label-filter", "functional")
	wantExit(t, r, 1)
	want := fmt.Sprintf("suites/selftest/faults.go:%d", line)
	for _, c := range r.gate.Checks {
		if c.Failure != nil {
			if !strings.HasSuffix(c.Failure.Location, want) {
				t.Fatalf("location %q, want …%s", c.Failure.Location, want)
			}
			return
		}
	}
	t.Fatalf("no failed check:\n%s", r.explain())
}

// A blocking check that skips itself while running verified nothing: the
// gate is inconclusive. A pending check is listed, and does not block.
func TestSkippedAndPendingChecks(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: pass, absent: yes }\n")
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--label-filter", "functional")
	wantExit(t, r, 3)
	if !strings.Contains(r.gate.Reason, "skipped themselves while running") {
		t.Fatalf("reason %q", r.gate.Reason)
	}
	found := false
	for _, c := range r.gate.Checks {
		if strings.Contains(c.Name, "is not written yet") {
			found = c.State == gate.Skipped && !c.Blocking
		}
	}
	if !found {
		t.Fatalf("pending check not listed as skipped, non-blocking: %+v", r.gate.Checks)
	}
}

// Signals a shell or an operator may send end the gate inconclusive with
// gate.json, never with 129 or the usage code 2 (SIGQUIT's default).
func TestSIGHUPAndSIGQUITAreInconclusive(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: hang }\n")
	for _, sig := range []syscall.Signal{syscall.SIGHUP, syscall.SIGQUIT} {
		out := t.TempDir()
		cmd := exec.Command(pivBin, "run", "quote", "--node", "app-01", "--label-filter", "functional", "--config", f.Dir, "--out", out, "--timeout", "60s")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Wait until the gate is running its specs (the hanging one).
		for i := 0; i < 1000; i++ { // bounded: 1000 × 10 ms
			if b, _ := os.ReadFile(out + "/.piv-lock"); strings.Contains(string(b), "token") {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		cmd.Process.Signal(sig)
		err := cmd.Wait()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
			t.Fatalf("%v: want exit 3, got %v", sig, err)
		}
		if g := readGate(t, out); g == nil || g.Verdict != gate.Inconclusive {
			t.Fatalf("%v: gate.json %+v", sig, g)
		}
	}
}

// A suite that starts a process which outlives it (holding the gate's
// output pipes) neither holds the gate nor turns its pass into a fault, and
// the process goes with the gate.
func TestGrandchildDoesNotHoldTheGate(t *testing.T) {
	f := selftestFleet(t, "settings: { fault: fork }\n")
	start := time.Now()
	r := pivRun(t, f, nil, "run", "quote", "--node", "app-01", "--label-filter", "functional")
	wantExit(t, r, 0)
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("the gate waited %s for the suite's process", el)
	}
	b, _ := os.ReadFile(filepath.Join(r.out, "grandchild.pid"))
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 {
		t.Fatal("the suite recorded no process")
	}
	for i := 0; i < 200; i++ { // bounded: 200 × 10 ms for the kill to land
		if syscall.Kill(pid, 0) != nil {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("the suite's process %d is still running after the gate", pid)
}

// A suite writing a secret straight to the process's stdout and stderr
// (in two writes) does not put it on piv's: the supervising parent learned
// the secret in band before those bytes and redacts both streams.
func TestSecretWrittenToStdioIsRedacted(t *testing.T) {
	const value = "stdio-secret-7391"
	f := selftestFleet(t, "settings: { fault: secret-stdio }\n")
	r := pivRun(t, f, []string{"PIV_SELFTEST_SECRET=" + value}, "run", "quote", "--node", "app-01", "--label-filter", "functional")
	wantExit(t, r, 0)
	if strings.Contains(r.stdout+r.stderr, value) || strings.Contains(r.stdout+r.stderr, "PIV-SECRET") {
		t.Fatalf("secret or marker on piv's output:\n%s", r.explain())
	}
	if !strings.Contains(r.stdout, "stdout: [REDACTED]") || !strings.Contains(r.stderr, "stderr: [REDACTED]") {
		t.Fatalf("the suite's writes should be relayed, redacted:\n%s", r.explain())
	}
}

// A single-valued flag given twice is a usage error: the flag package would
// keep the last one silently (--node down --node app-01 verified app-01).
func TestRepeatedFlagIsAUsageError(t *testing.T) {
	f := selftestFleet(t, "settings: { mode: pass }\n")
	for _, args := range [][]string{
		{"run", "quote", "--node", "app-03", "--node", "app-01"},
		{"run", "quote", "--node=app-01", "--expect-version", "2.4.1", "--expect-version", "2.4.2"},
		{"run", "quote", "--node", "app-01", "--allow-mutating", "--allow-mutating"},
	} {
		r := pivRun(t, f, nil, args...)
		if r.code != 2 || !strings.Contains(r.stderr, "given more than once") {
			t.Errorf("%q: want exit 2 naming the repeated flag, got %s", args, r.explain())
		}
	}
}
