// Package session is one gate from start to finish, without flags: it
// resolves the target and the report folder (locked, so two gates never share
// one), starts an image when asked, owns the browser's lifecycle, runs the
// specs (pkg/runner), writes every report and turns a harness fault into an
// inconclusive result. The command line (package cli) turns flags into
// Options and the result into an exit code; piv serve and tests call the
// same functions.
package session

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/remediation"
	"github.com/piv-gate/piv/pkg/report"
	"github.com/piv-gate/piv/pkg/runner"
	"github.com/piv-gate/piv/pkg/secret"
	"github.com/piv-gate/piv/pkg/target"
)

// Options is one gate as a deployer asks for it.
type Options struct {
	App *config.App
	// Node verifies that node alone (pinned, service host name kept); Image
	// starts that local image and verifies it; neither: the whole service.
	Node, Image string
	// Fleet: every node and the service (see Gate.Fleet); Node and Image
	// must be empty.
	Fleet           bool
	ExpectedVersion string
	LabelFilter     string
	Focus           string
	AllowMutating   bool
	// Settle overrides the definition's settle.timeout when non-nil.
	Settle  *time.Duration
	Timeout time.Duration
	// Out is the report folder; "" makes <ReportsRoot>/<app>/<run id>.
	Out         string
	ReportsRoot string // "" means "reports"
	// RunID and Locked are set by a supervising parent process (see
	// Supervise), which has already chosen the id and holds Out's lock.
	RunID  string
	Locked bool
	Policy gate.Policy
	// BrowserURL is a running browser's DevTools URL ("" launches Chromium).
	BrowserURL string
	// Summary is a path to also write the Markdown summary to; StepSummary
	// is appended to (GitHub's $GITHUB_STEP_SUMMARY).
	Summary, StepSummary string
	PivVersion           string
	// Remediation, when set (--remediation), adds the record's checks to
	// the gate (suites/remediation) and its id to gate.json.
	Remediation *remediation.Record
	Progress    io.Writer // diagnostics (stderr); redacted
	Verbose     bool      // -v: Ginkgo's verbose progress (every spec as it runs)
	// Interrupted returns the signal's name once one arrived, "" before.
	Interrupted func() string
	Started     time.Time
}

// Gate is a prepared gate: target resolved, report folder made and locked,
// a provisional inconclusive gate.json already in it.
type Gate struct {
	o       Options
	ro      runner.Options
	release func()
}

// Prepare checks the options against the app definition and makes the
// report folder. Its errors are UsageErrors: nothing has run. It writes a
// provisional gate.json (inconclusive: "did not finish"), so a gate that
// dies before writing its own result never leaves an older pass behind.
func Prepare(o Options) (*Gate, error) {
	app := o.App
	if o.Started.IsZero() {
		o.Started = time.Now()
	}
	if o.Node != "" && o.Image != "" {
		return nil, usagef("--node and --image are exclusive: pick one scope")
	}
	ro := runner.Options{Started: o.Started, App: app, ExpectedVersion: o.ExpectedVersion, LabelFilter: o.LabelFilter, Focus: o.Focus,
		AllowMutating: o.AllowMutating, Timeout: o.Timeout, Policy: o.Policy, Progress: o.Progress, Verbose: o.Verbose, Interrupted: o.Interrupted}
	ro.Settle = app.Settle.Timeout.D()
	if o.Settle != nil {
		ro.Settle = *o.Settle
	}
	if o.ExpectedVersion != "" && app.Technical.Version == nil {
		return nil, usagef("--expect-version needs technical.version (path and JSON path of the running version) in %s", app.Where("technical"))
	}
	if ro.Settle > 0 && app.Technical.Health == nil {
		return nil, usagef("--settle needs technical.health in %s", app.Where("technical"))
	}
	switch {
	case o.Node != "":
		n, ok := app.NodeByName(o.Node)
		if !ok {
			return nil, usagef("%s: unknown node %q (nodes: %s)", app.Where("nodes"), o.Node, NodeNames(app))
		}
		ro.Target = target.ForNode(app, n)
	case o.Image != "":
		ro.Image = o.Image
		ro.Target = target.Target{Scope: target.ScopeImage, Name: o.Image, URL: app.ServiceURL, Roots: app.Roots}
	default:
		ro.Target = target.ForService(app)
		for _, n := range app.Nodes {
			ro.Nodes = append(ro.Nodes, target.ForNode(app, n))
		}
	}
	ro.RunID = o.RunID
	if ro.RunID == "" {
		scope, name := string(ro.Target.Scope), ro.Target.Name
		if o.Fleet {
			scope, name = "fleet", ""
		}
		ro.RunID = report.RunID(o.Started, app.App, scope, name)
	}
	out := o.Out
	if out == "" {
		root := o.ReportsRoot
		if root == "" {
			root = "reports"
		}
		dir, err := report.Dir(root, app.App, ro.RunID)
		if err != nil {
			return nil, usagef("--out: %v", err)
		}
		out = dir
		ro.RunID = filepath.Base(dir) // the default folder may carry a -2 suffix: keep them equal
	} else if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, usagef("--out: %v", err)
	} else if o.RunID == "" {
		// A folder named for this run (piv serve's, a pipeline's
		// .../RUN-ID-2): the id follows the folder, as with the default.
		if b := filepath.Base(filepath.Clean(out)); sameRun(b, ro.RunID) {
			ro.RunID = b
		}
	}
	ro.OutDir = out
	g := &Gate{o: o, ro: ro, release: func() {}}
	if !o.Locked {
		release, err := lockDir(out)
		if err != nil {
			return nil, usagef("--out: %v", err)
		}
		g.release = release
		// A reused --out keeps nothing of an earlier gate: its screenshots
		// and reports would sit beside this gate's as if they were its own.
		if err := clearReports(out); err != nil {
			g.Close()
			return nil, usagef("--out: %v", err)
		}
	}
	headers := map[string][]string{"X-Piv-Run": {ro.RunID}}
	g.ro.Target.Headers = headers
	for i := range g.ro.Nodes {
		g.ro.Nodes[i].Headers = headers
	}
	if !o.Locked {
		// The provisional record: whatever happens next, gate.json never
		// says pass unless this gate wrote it.
		prov := g.base()
		gate.DecideRun(prov, o.Policy, gate.Facts{Abort: provisionalReason})
		if err := writeGateJSON(prov, out); err != nil {
			g.Close()
			return nil, usagef("--out: %v", err)
		}
	}
	return g, nil
}

// OutDir is the report folder; RunID the run's id (the folder's name by default).
func (g *Gate) OutDir() string { return g.ro.OutDir }
func (g *Gate) RunID() string  { return g.ro.RunID }

// Close releases the report folder.
func (g *Gate) Close() { g.release() }

// Run runs the gate and writes its reports. The error is a UsageError when
// the result does not count as a verdict on the app (a missing image, a
// secret the environment lacks); the result is then written too.
func (g *Gate) Run(ctx context.Context) (res *gate.Result, err error) {
	ro := g.ro
	var closers []func(*gate.Result)
	defer func() {
		if p := recover(); p != nil {
			res = g.base()
			gate.DecideRun(res, ro.Policy, gate.Facts{Abort: secret.Redact(fmt.Sprintf("harness panic: %v", p))})
		}
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i](res)
		}
		res.Piv = g.o.PivVersion
		g.writeOrDecide(res)
	}()
	bp := newBrowserProvider(ctx, ro.App, g.o.BrowserURL, &closers)
	ro.Browser = bp
	if ro.Image != "" {
		if err := startImage(ctx, &ro, &closers, progress(g.o.Progress)); err != nil {
			res = g.base()
			gate.DecideRun(res, ro.Policy, gate.Facts{Abort: err.Error()})
			return res, err
		}
	}
	bp.warm(runner.EffectiveFilter(ro.LabelFilter, ro.AllowMutating), ro.Target)
	remediation.Bind(g.o.Remediation)
	res = runner.Run(ctx, ro)
	if rec := g.o.Remediation; rec != nil {
		res.Remediation = rec.Identify()
		// A filter that left the record's checks out has not verified it.
		if why := remediation.Unverified(res, rec); why != "" && res.Verdict == gate.Pass {
			gate.DecideRun(res, ro.Policy, gate.Facts{Abort: why, SpecsSelected: -1})
		}
	}
	if m := res.MissingSecrets; len(m) > 0 {
		return res, usagef("secret(s) %s not set or unusable (blank, shorter than 4 bytes, not UTF-8): export them in the environment that runs piv", strings.Join(m, ", "))
	}
	return res, nil
}

// Fault is the result when the gate itself broke before or outside the run
// (a crashed child process, a panic): inconclusive, never pass, written.
func (g *Gate) Fault(reason string) *gate.Result {
	res := g.base()
	res.Piv = g.o.PivVersion
	gate.DecideRun(res, g.ro.Policy, gate.Facts{Abort: secret.Redact(reason)})
	g.writeOrDecide(res)
	return res
}

// base is an empty result for this gate: what was asked, no checks.
func (g *Gate) base() *gate.Result {
	ro := g.ro
	res := &gate.Result{Schema: gate.Schema, Piv: g.o.PivVersion, RunID: ro.RunID, App: ro.App.App, ExpectedVersion: ro.ExpectedVersion,
		Target:    gate.Target{Scope: string(ro.Target.Scope), Address: ro.Target.Address, URL: ro.App.Service.URL, Image: ro.Image},
		StartedAt: ro.Started.UTC(), Checks: []gate.Check{},
		Selection: runner.Selection(ro)}
	if ro.Target.Scope == target.ScopeNode {
		res.Target.Node = ro.Target.Name
	}
	if g.o.Remediation != nil {
		res.Remediation = g.o.Remediation.Identify()
	}
	return res
}

// writeOrDecide writes every report; when one cannot be written (a full
// disk) the evidence is lost, so the verdict becomes inconclusive and
// gate.json alone is written again with that reason: the record never says
// pass when the exit code does not.
func (g *Gate) writeOrDecide(res *gate.Result) {
	if err := g.write(res); err != nil {
		gate.DecideRun(res, g.ro.Policy, gate.Facts{ReportError: err.Error()})
		_ = writeGateJSON(res, g.ro.OutDir)
	}
}

func (g *Gate) write(res *gate.Result) error {
	return WriteReports(res, g.ro.OutDir, g.o.Summary, g.o.StepSummary)
}

// NodeNames lists the app's node names for error messages.
func NodeNames(app *config.App) string {
	if len(app.Nodes) == 0 {
		return "none defined"
	}
	names := make([]string, len(app.Nodes))
	for i, n := range app.Nodes {
		names[i] = n.Name
	}
	return strings.Join(names, ", ")
}

func progress(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return secret.Writer{W: w}
}

// clearReports removes what an earlier gate wrote into a report folder —
// only piv's own names, never anything else a user keeps there.
func clearReports(dir string) error {
	for _, name := range []string{"gate.json", "junit.xml", "report.html", "attachments", "targets"} {
		if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
			return err
		}
	}
	stale, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
	for _, p := range stale {
		os.Remove(p)
	}
	return nil
}

var runStamp = regexp.MustCompile(`^\d{8}T\d{6}Z$`)

// sameRun: is name a run id of the run id — the same app, scope and
// target, at any second, possibly with a -N suffix (a folder made a moment
// earlier by piv serve, or numbered because its name was taken)?
func sameRun(name, id string) bool {
	_, rest, ok1 := strings.Cut(id, "-")
	stamp, tail, ok2 := strings.Cut(name, "-")
	if !ok1 || !ok2 || !runStamp.MatchString(stamp) {
		return false
	}
	if tail == rest {
		return true
	}
	n, ok := strings.CutPrefix(tail, rest+"-")
	if !ok || n == "" {
		return false
	}
	for _, r := range n {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
