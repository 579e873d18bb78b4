package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/report"
)

// outcome is what one child `piv run` came to.
type outcome struct {
	res *gate.Result
	// body is gate.json as the response carries it: the child's own bytes
	// when they agree with its exit code.
	body []byte
	// usage is set when the child exited 2: nothing ran.
	usage *RequestError
	dir   string
	// childTime is how long the child ran, start to reaped.
	childTime time.Duration
}

// childArgs is the `piv run` command line for g. Every value goes in
// --flag=value form, so no request field can become a flag of its own; app
// and node names were checked against a strict pattern.
func (s *Server) childArgs(g Gate, dir string) []string {
	args := []string{"run", g.App}
	switch g.Scope {
	case "node":
		args = append(args, "--node="+g.Node)
	case "fleet":
		args = append(args, "--fleet")
	default:
		args = append(args, "--service")
	}
	if g.ExpectVersion != "" {
		args = append(args, "--expect-version="+g.ExpectVersion)
	}
	if g.LabelFilter != "" {
		args = append(args, "--label-filter="+g.LabelFilter)
	}
	if g.Remediation != "" {
		args = append(args, "--remediation="+filepath.Join(s.opt.RemediationsDir, g.Remediation))
	}
	return append(args, "--format=json", "--out="+dir, "--timeout="+s.opt.RunTimeout.String(), "--config="+s.opt.ConfigDir)
}

// runChild runs one gate as its own `piv run` process (Ginkgo runs once per
// process) and maps what it did to an outcome. Fail closed: only exit 0 with
// a gate.json on stdout that says pass is a pass; a child that could not
// start, was killed, or printed something that does not parse is
// inconclusive. ctx ending interrupts the child (SIGTERM: it writes an
// inconclusive gate.json); one that does not exit within KillGrace is killed
// with its whole process group (browsers included), so nothing is left
// behind.
func (s *Server) runChild(ctx context.Context, g Gate, dir string, started time.Time) outcome {
	o := outcome{dir: dir}
	cmd := exec.Command(s.opt.Exe, s.childArgs(g, dir)...)
	cmd.Env = s.opt.ChildEnv
	cmd.SysProcAttr = childAttr()
	var stdout limitedBuffer
	stdout.max = 64 << 20
	cmd.Stdout = &stdout
	var stderrTail limitedBuffer
	stderrTail.max, stderrTail.keepTail = 16<<10, true
	var stderr io.Writer = &stderrTail
	if f, err := os.Create(filepath.Join(dir, "piv-stderr.log")); err == nil {
		defer f.Close()
		stderr = io.MultiWriter(&stderrTail, f)
	}
	cmd.Stderr = stderr

	if err := cmd.Start(); err != nil {
		return s.synthesize(o, g, started, fmt.Sprintf("the gate could not start: %v", err), nil)
	}
	pid := cmd.Process.Pid
	done := make(chan struct{})
	go func() {
		select {
		case <-done:
			return
		case <-ctx.Done():
		}
		_ = syscall.Kill(pid, syscall.SIGTERM)
		t := time.NewTimer(s.opt.KillGrace)
		defer t.Stop()
		select {
		case <-done:
		case <-t.C:
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}()
	err := cmd.Wait()
	close(done)
	// Whatever the child started in its group (Chromium) goes with it.
	_ = syscall.Kill(-pid, syscall.SIGKILL)

	code := -1
	var ee *exec.ExitError
	switch {
	case err == nil:
		code = 0
	case errors.As(err, &ee):
		code = ee.ExitCode() // -1 when killed by a signal
	}
	if code == 2 {
		o.usage = &RequestError{Status: 400, Msg: usageMessage(stderrTail.String())}
		return o
	}
	want := map[int]gate.Verdict{0: gate.Pass, 1: gate.Fail, 3: gate.Inconclusive}[code]
	var res gate.Result
	perr := json.Unmarshal(stdout.Bytes(), &res)
	switch {
	case stdout.over:
		return s.synthesize(o, g, started, "the gate's output was larger than 64 MiB", stdout.Bytes())
	case perr != nil:
		why := fmt.Sprintf("the gate's output is not gate.json (%v); exit %s", perr, exitText(code, err))
		return s.synthesize(o, g, started, why, stdout.Bytes())
	case want == "":
		gate.Decide(&res, gate.Policy{}, fmt.Sprintf("the gate ended abnormally (%s)%s", exitText(code, err), reasonSuffix(res.Reason)))
		return s.keep(o, &res, stdout.Bytes())
	case res.Verdict != want:
		gate.Decide(&res, gate.Policy{}, fmt.Sprintf("the gate's exit code %d disagrees with its verdict %q", code, res.Verdict))
		return s.keep(o, &res, stdout.Bytes())
	}
	o.res, o.body = &res, stdout.Bytes()
	return o
}

// synthesize is the outcome when the child gave no usable gate.json: an
// inconclusive gate decided by gate.Decide, written to the report folder so
// the evidence says what happened.
func (s *Server) synthesize(o outcome, g Gate, started time.Time, reason string, childOut []byte) outcome {
	res := &gate.Result{Schema: gate.Schema, App: g.App, ExpectedVersion: g.ExpectVersion, StartedAt: started.UTC(),
		Target: gate.Target{Scope: g.Scope, Node: g.Node}, Checks: []gate.Check{},
		Selection: gate.Selection{LabelFilter: g.LabelFilter, Narrowed: g.LabelFilter != ""}}
	if o.dir != "" {
		res.RunID = filepath.Base(o.dir) // the run is the folder the server made for it
	}
	res.DurationSeconds = time.Since(started).Seconds()
	gate.Decide(res, gate.Policy{}, reason)
	return s.keep(o, res, childOut)
}

// keep makes res the outcome and the report folder's gate.json. The
// child's own output, when there was any, is kept beside it: a gate.json on
// disk must never say pass where the server answered otherwise.
func (s *Server) keep(o outcome, res *gate.Result, childOut []byte) outcome {
	b, err := report.JSON(res)
	if err != nil {
		b = []byte(`{"schema":"piv.gate/v1","verdict":"inconclusive","reason":"gate.json could not be rendered"}`)
	}
	if len(childOut) > 0 {
		_ = report.WriteFileAtomic(filepath.Join(o.dir, "child-stdout.txt"), childOut)
	}
	_ = report.WriteFileAtomic(filepath.Join(o.dir, "gate.json"), b)
	o.res, o.body = res, b
	return o
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}

func exitText(code int, err error) string {
	if code >= 0 {
		return fmt.Sprintf("exit %d", code)
	}
	if err != nil {
		return err.Error()
	}
	return "no exit status"
}

// usageMessage is the child's own usage error: its last "piv: " line, the
// message `piv run` prints before exiting 2.
func usageMessage(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if m, ok := strings.CutPrefix(lines[i], "piv: "); ok {
			return m
		}
	}
	if len(lines) > 0 && lines[len(lines)-1] != "" {
		return lines[len(lines)-1]
	}
	return "piv run refused the request (exit 2)"
}

// limitedBuffer keeps at most max bytes: the first ones, or with keepTail
// the last ones. A child cannot make the server hold unbounded output.
type limitedBuffer struct {
	buf      bytes.Buffer
	max      int
	keepTail bool
	over     bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if l.keepTail {
		l.buf.Write(p)
		if l.buf.Len() > l.max {
			b := l.buf.Bytes()
			tail := append([]byte(nil), b[len(b)-l.max:]...)
			l.buf.Reset()
			l.buf.Write(tail)
		}
		return n, nil
	}
	if room := l.max - l.buf.Len(); room < len(p) {
		l.over = true
		if room > 0 {
			l.buf.Write(p[:room])
		}
		return n, nil
	}
	l.buf.Write(p)
	return n, nil
}

func (l *limitedBuffer) Bytes() []byte  { return l.buf.Bytes() }
func (l *limitedBuffer) String() string { return l.buf.String() }
