package session

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/piv-gate/piv/pkg/browser"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/runner"
	"github.com/piv-gate/piv/pkg/secret"
)

// FleetOptions says how to run each target's gate: ChildArgs are the
// command-line flags every target's gate gets (expected version, filter,
// settle, timeout, config — not scope, --out or report paths).
type FleetOptions struct {
	ChildArgs []string
}

// Fleet verifies every node individually and the service, at once: one
// supervised child process per target (Ginkgo runs once per process, and
// each target's specs then run concurrently with the others'), all sharing
// one Chromium that this process launches, each child in its own pinned
// browser context. A round robin through the service can hide one bad node
// behind good ones; a fleet gate names it. The result carries every check
// with its target, the verdict is the worst target's (gate.Combine), and
// each target's own reports stay under targets/<name>/.
func (g *Gate) Fleet(ctx context.Context, exe string, fo FleetOptions, stderr io.Writer, sigs <-chan os.Signal) *gate.Result {
	app := g.ro.App
	res := g.base()
	res.Target.Scope = "fleet"
	res.Target.Node, res.Target.Address = "", ""

	// One browser for every target, when the selection can reach a
	// browser spec; launched before the children so they connect to it.
	args := append([]string{}, fo.ChildArgs...)
	// A browser the user named (--browser-url, passed on in ChildArgs) is
	// the one every target uses.
	if g.o.BrowserURL == "" && mayUseBrowser(app.Suites, runner.EffectiveFilter(g.ro.LabelFilter, g.ro.AllowMutating)) {
		var cas [][]byte
		if len(app.CAPEM) > 0 {
			cas = append(cas, app.CAPEM)
		}
		b, err := browser.Launch(ctx, browser.Options{CAs: cas})
		if err != nil {
			fmt.Fprintf(stderr, "piv: --fleet: no shared browser (%v); each target's browser specs will say why\n", err)
		} else {
			defer b.Close()
			args = append(args, "--browser-url", b.ControlURL())
		}
	}

	type child struct {
		name  string
		scope []string
		gate  *Gate
		sigs  chan os.Signal
		res   *gate.Result
	}
	var children []*child
	for _, n := range app.Nodes {
		children = append(children, &child{name: n.Name, scope: []string{"--node", n.Name}})
	}
	children = append(children, &child{name: "service", scope: []string{"--service"}})
	for _, c := range children {
		o := g.o
		o.Node = ""
		if c.name != "service" {
			o.Node = c.name
		}
		o.Out = filepath.Join(g.OutDir(), "targets", c.name)
		o.RunID = g.RunID() + "-" + c.name
		o.Summary, o.StepSummary = "", ""
		cg, err := Prepare(o)
		if err != nil {
			c.res = g.base()
			gate.DecideRun(c.res, g.ro.Policy, gate.Facts{Abort: err.Error()})
			continue
		}
		c.gate = cg
		c.sigs = make(chan os.Signal, 4)
		defer cg.Close()
	}
	// Forward signals to every child.
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case s := <-sigs:
				for _, c := range children {
					if c.sigs != nil {
						select {
						case c.sigs <- s:
						default:
						}
					}
				}
			case <-stop:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for _, c := range children {
		if c.gate == nil {
			continue
		}
		wg.Add(1)
		go func(c *child) {
			defer wg.Done()
			cargs := append(append([]string{"run", app.App}, args...), c.scope...)
			pw := prefixWriter(stderr, c.name)
			r, _, _ := c.gate.supervise(ctx, exe, cargs, io.Discard, pw, c.sigs, []string{"GITHUB_STEP_SUMMARY"})
			pw.Close()
			c.res = r
		}(c)
	}
	wg.Wait()
	var parts []gate.Part
	for _, c := range children {
		parts = append(parts, gate.Part{Target: c.name, Result: c.res, Dir: filepath.ToSlash(filepath.Join("targets", c.name))})
	}
	gate.Combine(res, parts, g.ro.Policy)
	res.Piv = g.o.PivVersion
	if rec := g.o.Remediation; rec != nil {
		res.Remediation = rec.Identify()
	}
	res.DurationSeconds = timeSince(g.ro.Started)
	g.writeOrDecide(res)
	return res
}

// mayUseBrowser: could the effective label filter select a browser spec of
// one of these suites?
func mayUseBrowser(suites []string, filter string) bool {
	lf, err := types.ParseLabelFilter(filter)
	if err != nil {
		return false
	}
	for _, s := range suites {
		if lf([]string{"browser", "functional", "app:" + s}) {
			return true
		}
	}
	return false
}

// prefixWriter prefixes every line written with [name], so the targets'
// interleaved progress stays readable.
func prefixWriter(w io.Writer, name string) *linePrefixer {
	return &linePrefixer{w: secret.Writer{W: w}, prefix: "[" + name + "] "}
}

type linePrefixer struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

// maxLine bounds a line held for its prefix: a target writing without
// newlines is relayed in pieces rather than held without end.
const maxLine = 64 << 10

func (l *linePrefixer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			if len(l.buf) > maxLine {
				l.emit(append(l.buf, '\n'))
				l.buf = l.buf[:0]
			}
			return len(p), nil
		}
		l.emit(l.buf[:i+1])
		l.buf = l.buf[i+1:]
	}
}

func (l *linePrefixer) emit(line []byte) {
	l.w.Write(append([]byte(l.prefix), line...))
}

// Close relays a last line that had no newline (the tail of a crash).
func (l *linePrefixer) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buf) > 0 {
		l.emit(append(l.buf, '\n'))
		l.buf = nil
	}
	return nil
}

func timeSince(t time.Time) float64 { return time.Since(t).Seconds() }
