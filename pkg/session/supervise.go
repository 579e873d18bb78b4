package session

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/piv-gate/piv/internal/earlysignal"
	"github.com/piv-gate/piv/pkg/timeouts"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/secret"
)

// Why a supervising parent: a gate runs suites written by other teams, in
// the same process as Ginkgo. Whatever those suites do — panic in a
// goroutine they started (the Go runtime exits 2), call os.Exit(0), or get
// killed — the deployer must get exit 3 and a gate.json that says why, never
// a code that means pass, fail or usage. Only a process outside the suites
// can promise that, so `piv run` re-executes itself as a child and judges
// how the child ended. The child reports the exit code it means to use over
// a private pipe just before it exits; the parent accepts the child's code
// only when that report, the child's actual exit status and the gate.json
// the child wrote all agree.

// Environment of a supervised child.
const (
	envSupervised = "PIV_SUPERVISED" // "<token>": the lock file holds the same token
	envRunID      = "PIV_RUN_ID"
	envReportFD   = "PIV_SUPERVISOR_FD"
)

const provisionalReason = "the gate did not finish: it is still running, or it stopped before writing its result"

// supervisorGrace is how long the parent waits for a child that was asked
// to stop (signal forwarded, or its --timeout passed) before killing it.
var supervisorGrace = timeouts.Default.SupervisorGrace

// maxChildStdout bounds what the parent holds of the child's stdout.
const maxChildStdout = 64 << 20

// Child is what a process learns from its environment about a supervising
// parent. The zero value means: not supervised.
type Child struct {
	RunID string
	fd    *os.File
}

// SupervisedChild reads the environment. A child is trusted as supervised
// only when the token in its environment is the one in the report folder's
// lock file, so a stray environment variable cannot switch supervision (and
// the folder lock) off.
func SupervisedChild(out string) (Child, bool) {
	tok := os.Getenv(envSupervised)
	if tok == "" || out == "" {
		return Child{}, false
	}
	b, err := os.ReadFile(filepath.Join(out, ".piv-lock"))
	if err != nil || !strings.Contains(string(b), "token "+tok+"\n") {
		return Child{}, false
	}
	c := Child{RunID: os.Getenv(envRunID)}
	if n, err := strconv.Atoi(os.Getenv(envReportFD)); err == nil && n > 2 {
		// Processes a suite starts must not inherit the report pipe: they
		// would hold it open past the gate's end.
		syscall.CloseOnExec(n)
		c.fd = os.NewFile(uintptr(n), "piv-supervisor")
	}
	// Each secret goes to the parent in band, on stderr itself, the moment
	// it is registered and before it can be printed: the parent learns it
	// before any later byte of that stream, so what a suite writes straight
	// to stderr (and a Go runtime crash) is redacted as the parent relays
	// it; the parent redacts the child's stdout, which it holds, at the end.
	secret.OnRegister(func(v string) {
		os.Stderr.WriteString(secretMarker + base64.StdEncoding.EncodeToString([]byte(v)) + "\n")
	})
	return c, true
}

// secretMarker starts an in-band secret on a supervised child's stderr; the
// parent removes the line before anything is shown.
const secretMarker = "\x1bPIV-SECRET "

// ReportExit tells the parent the exit code this child is about to use.
func (c Child) ReportExit(code int) {
	if c.fd != nil {
		fmt.Fprintf(c.fd, "exit %d\n", code)
		c.fd.Close()
	}
}

// Supervise runs this prepared gate in a child process: exe with args (the
// same command line) plus --out and the supervision environment. It returns
// the result and the exit code to use. stdout receives the child's stdout
// only when the child's result is accepted; otherwise the caller prints the
// returned fault result. sigs are forwarded to the child.
func (g *Gate) Supervise(ctx context.Context, exe string, args []string, stdout, stderr io.Writer, sigs <-chan os.Signal) (*gate.Result, int, bool) {
	return g.supervise(ctx, exe, args, stdout, stderr, sigs, nil)
}

// supervise is Supervise with environment variables left out of the child's
// environment (a fleet's targets must not each append to the step summary).
func (g *Gate) supervise(ctx context.Context, exe string, args []string, stdout, stderr io.Writer, sigs <-chan os.Signal, dropEnv []string) (*gate.Result, int, bool) {
	// A signal that came before the child could start: do not start it.
	select {
	case sg := <-sigs:
		return g.Fault(fmt.Sprintf("interrupted by %s before the gate started", earlysignal.Name(sg))), 3, false
	default:
	}
	token := make([]byte, 16)
	rand.Read(token)
	tok := hex.EncodeToString(token)
	if err := g.stampToken(tok); err != nil {
		return g.Fault("cannot start the gate process: " + err.Error()), 3, false
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return g.Fault("cannot start the gate process: " + err.Error()), 3, false
	}
	cmd := exec.Command(exe, append(withoutFlag(args, "out"), "--out", g.OutDir())...)
	env := os.Environ()
	for _, d := range dropEnv {
		kept := env[:0:0]
		for _, kv := range env {
			if !strings.HasPrefix(kv, d+"=") {
				kept = append(kept, kv)
			}
		}
		env = kept
	}
	cmd.Env = append(env, envSupervised+"="+tok, envRunID+"="+g.RunID(), envReportFD+"=3")
	var so boundedBuffer
	so.max = maxChildStdout
	tail := &tailWriter{max: 8 << 10}
	cmd.Stdout = &so
	// Redacted as a stream (a secret split across writes is still caught),
	// with the secrets the child hands over in band, in order.
	errStream := secret.NewStream(stderr)
	defer errStream.Close()
	markers := &secretFilter{out: io.MultiWriter(errStream, tail)}
	defer markers.Close()
	cmd.Stderr = markers
	cmd.ExtraFiles = []*os.File{pw}
	// Once the child has exited, grandchildren a suite started must not
	// hold the gate by keeping its output pipes open.
	cmd.WaitDelay = 2 * time.Second
	// Its own process group: a terminal's Ctrl-C reaches the parent, which
	// forwards it once. If the parent dies, the child is told to stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		pr.Close()
		pw.Close()
		return g.Fault("cannot start the gate process: " + err.Error()), 3, false
	}
	pw.Close()
	// "exit N" arrives just before the child exits; it is taken as soon as
	// it is read, not at the pipe's end (which a leaked descriptor could
	// postpone for ever).
	reported := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(io.LimitReader(pr, 1<<20))
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "exit ") {
				select {
				case reported <- line:
				default:
				}
			}
		}
		pr.Close()
	}()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	var killTimer <-chan time.Time
	var deadline <-chan time.Time
	if g.ro.Timeout > 0 {
		t := time.NewTimer(g.ro.Timeout + supervisorGrace)
		defer t.Stop()
		deadline = t.C
	}
	var waitErr error
	why, gotSig := "", ""
	ctxDone := ctx.Done()
wait:
	for {
		select {
		case waitErr = <-done:
			break wait
		case s := <-sigs:
			if gotSig == "" {
				gotSig = earlysignal.Name(s)
			}
			if p := cmd.Process; p != nil {
				p.Signal(s)
			}
			if killTimer == nil {
				killTimer = time.After(supervisorGrace)
			}
		case <-ctxDone:
			ctxDone = nil // asked once; then wait for the child or the grace
			if gotSig == "" {
				gotSig = "cancellation"
			}
			cmd.Process.Signal(syscall.SIGTERM)
			if killTimer == nil {
				killTimer = time.After(supervisorGrace)
			}
		case <-killTimer:
			why = fmt.Sprintf("the gate process did not stop within %s of being asked to: killed", supervisorGrace)
			killGroup(cmd)
		case <-deadline:
			why = fmt.Sprintf("the gate process outlived its --timeout %s by %s: killed", g.ro.Timeout, supervisorGrace)
			killGroup(cmd)
		}
	}
	// The exit status; a WaitDelay expiry only means something the suites
	// started still held the output pipes after the child ended.
	var ee *exec.ExitError
	ps := cmd.ProcessState
	if waitErr != nil && !errors.As(waitErr, &ee) && !errors.Is(waitErr, exec.ErrWaitDelay) || ps == nil {
		return g.Fault(fmt.Sprintf("the gate process could not be waited for: %v", waitErr)), 3, false
	}
	code := ps.ExitCode()
	// Whatever the suites started and left running goes with the gate.
	killGroup(cmd)
	markers.Close()
	rep := ""
	select {
	case rep = <-reported:
	case <-time.After(500 * time.Millisecond):
	}
	if why == "" {
		why = g.judgeChild(code, ps, strings.TrimSpace(rep), tail.String())
	}
	if why != "" {
		if gotSig != "" {
			why = "interrupted by " + gotSig + ": " + why
		}
		return g.Fault(why), 3, false
	}
	// Every secret the child registered has been read from its stderr by
	// now (Wait returned after the stream was copied).
	stdout.Write(secret.RedactBytes(so.Bytes()))
	res, err := readGate(g.OutDir())
	if err != nil {
		return g.Fault("the gate's gate.json could not be read back: " + err.Error()), 3, false
	}
	return res, code, true
}

// judgeChild returns "" when the child's end is one piv itself chose, or
// why it is not (a harness fault).
func (g *Gate) judgeChild(code int, ps *os.ProcessState, reported, stderrTail string) string {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return fmt.Sprintf("the gate process was killed by %s before it finished", ws.Signal())
	}
	crash := ""
	if i := strings.LastIndex(stderrTail, "panic: "); i >= 0 {
		line := stderrTail[i:]
		if j := strings.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		crash = ": " + secret.Redact(line)
	}
	if reported != fmt.Sprintf("exit %d", code) {
		if code == 0 {
			return "the gate process exited 0 before the gate finished (a suite called os.Exit?): nothing was verified"
		}
		return fmt.Sprintf("the gate process crashed (exit %d) before the gate finished%s", code, crash)
	}
	res, err := readGate(g.OutDir())
	if err != nil {
		return fmt.Sprintf("the gate process exited %d without a readable gate.json: %v", code, err)
	}
	if res.RunID != g.RunID() || res.Reason == provisionalReason {
		return fmt.Sprintf("the gate process exited %d without writing its own gate.json", code)
	}
	want := res.Verdict.ExitCode()
	if code == 2 && res.Verdict == gate.Inconclusive {
		want = 2 // a configuration error found while running (missing secret or image)
	}
	if code != want {
		return fmt.Sprintf("the gate process exited %d but its gate.json says %s", code, res.Verdict)
	}
	return ""
}

// stampToken writes the supervision token into the held lock file.
func (g *Gate) stampToken(tok string) error {
	p := filepath.Join(g.OutDir(), ".piv-lock")
	return os.WriteFile(p, []byte(fmt.Sprintf("%d\ntoken %s\n", os.Getpid(), tok)), 0o644)
}

func readGate(dir string) (*gate.Result, error) {
	b, err := os.ReadFile(filepath.Join(dir, "gate.json"))
	if err != nil {
		return nil, err
	}
	var r gate.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// boundedBuffer keeps at most max bytes (a child flooding stdout cannot
// exhaust the parent's memory); the rest is dropped.
type boundedBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (w *boundedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - w.b.Len(); room > 0 {
		w.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (w *boundedBuffer) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Bytes()
}

// tailWriter keeps the last max bytes written (the child's last stderr
// lines, to name a crash).
type tailWriter struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (w *tailWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b = append(w.b, p...)
	if len(w.b) > w.max {
		w.b = append([]byte{}, w.b[len(w.b)-w.max:]...)
	}
	return len(p), nil
}

func (w *tailWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.b)
}

// killGroup kills the child's process group: the child (started with
// Setpgid) and whatever it started that did not leave the group.
func killGroup(cmd *exec.Cmd) {
	if cmd.Process == nil {
		return
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}

// secretFilter removes in-band secrets from a child's stderr, registering
// each before passing on the bytes that follow it.
type secretFilter struct {
	mu   sync.Mutex
	out  io.Writer
	buf  []byte
	skip bool // dropping the rest of an over-long marker line
}

// maxMarker bounds a marker line (a base64 secret) held while incomplete.
const maxMarker = 1 << 20

func (f *secretFilter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.skip {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			return len(p), nil
		}
		f.skip = false
		f.buf = append(f.buf, p[i+1:]...)
	} else {
		f.buf = append(f.buf, p...)
	}
	if len(f.buf) == 0 {
		return len(p), nil
	}
	for {
		i := bytes.Index(f.buf, []byte(secretMarker))
		if i < 0 {
			// Keep a tail that may be the start of a marker.
			keep := 0
			for k := min(len(secretMarker)-1, len(f.buf)); k > 0; k-- {
				if bytes.HasSuffix(f.buf, []byte(secretMarker[:k])) {
					keep = k
					break
				}
			}
			f.out.Write(f.buf[:len(f.buf)-keep])
			f.buf = append(f.buf[:0], f.buf[len(f.buf)-keep:]...)
			return len(p), nil
		}
		if i > 0 {
			f.out.Write(f.buf[:i])
			f.buf = append(f.buf[:0], f.buf[i:]...)
		}
		nl := bytes.IndexByte(f.buf, '\n')
		if nl < 0 {
			if len(f.buf) > maxMarker {
				// Not a marker we sent, or a secret too large to hand
				// over: show none of it, up to the end of its line.
				f.buf, f.skip = f.buf[:0], true
			}
			return len(p), nil
		}
		if b, err := base64.StdEncoding.DecodeString(string(f.buf[len(secretMarker):nl])); err == nil {
			secret.Register(string(b))
		}
		f.buf = append(f.buf[:0], f.buf[nl+1:]...)
	}
}

// Close passes on what is held (no marker can complete any more).
func (f *secretFilter) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.buf) > 0 && !bytes.HasPrefix(f.buf, []byte(secretMarker)) {
		f.out.Write(f.buf)
	}
	f.buf = nil
	return nil
}

// withoutFlag returns args without flag name and its value (--name V,
// -name V, --name=V, -name=V): the child gets the folder this parent chose,
// once (a flag given twice is a usage error).
func withoutFlag(args []string, name string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			return append(out, args[i:]...)
		}
		if a == "--"+name || a == "-"+name {
			i++ // and its value
			continue
		}
		if strings.HasPrefix(a, "--"+name+"=") || strings.HasPrefix(a, "-"+name+"=") {
			continue
		}
		out = append(out, a)
	}
	return out
}
