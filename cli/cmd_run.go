package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/runner"
	"github.com/piv-gate/piv/pkg/target"
)

const runUsage = `Usage: piv run APP [--node NAME | --service | --image REF] [flags]

Runs the technical PIV and the app's functional suites against one drained
node, the whole service, or a container image, and exits with the verdict:
0 pass, 1 fail, 2 usage/config error (nothing ran), 3 inconclusive.

--node NAME pins every connection (TCP, TLS, HTTP, browser) to that node's
address while Host, SNI and certificate checks keep the service host name.

Reports go to --out (default reports/APP/RUN-ID/): gate.json (canonical),
junit.xml, report.html, attachments/.

Examples:
  # gate after deploying 2.4.1 on the drained node app-02
  piv run quote --node app-02 --expect-version 2.4.1 --settle 2m
  # after the last node: the whole service
  piv run quote --service --expect-version 2.4.1
  # before deploying: the image, started with testcontainers
  piv run quote --image quote:2.4.2 --expect-version 2.4.2
  # nightly: every app's functional suites against its service
  piv run --all --label-filter functional
`

// runFlags are piv run's flags, kept together so --all can pass them on.
type runFlags struct {
	node, expect, filter, focus, out, format, config, image, flaky, browserURL, summary, shard string
	service, all, allowMutating                                                                bool
	settle, timeout                                                                            time.Duration
	settleSet                                                                                  bool
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.node, "node", "", "verify this node alone (pinned, service host name kept)")
	fs.BoolVar(&f.service, "service", false, "verify the whole service (the default)")
	fs.StringVar(&f.image, "image", "", "start this local container image and verify it (testcontainers)")
	fs.StringVar(&f.expect, "expect-version", "", "the version that must be running")
	fs.StringVar(&f.filter, "label-filter", "", "Ginkgo label filter, e.g. 'technical || smoke' (labels: advisory, browser, functional, mutating, smoke, technical)")
	fs.StringVar(&f.focus, "focus", "", "only checks whose full name matches this regexp (e.g. 'quote page'); combined with --label-filter")
	fs.DurationVar(&f.settle, "settle", 0, "wait up to this long for health to pass settle.consecutive times in a row (default: the definition's settle.timeout)")
	fs.DurationVar(&f.timeout, "timeout", 15*time.Minute, "bound on the whole run; on expiry the verdict is inconclusive")
	fs.StringVar(&f.out, "out", "", "report folder (default reports/APP/RUN-ID/)")
	fs.StringVar(&f.format, "format", "text", "stdout format: text (summary) or json (gate.json)")
	fs.StringVar(&f.config, "config", "", "app definitions folder (default $PIV_CONFIG, else ./fixtures/apps)")
	fs.BoolVar(&f.allowMutating, "allow-mutating", false, "also run specs labelled mutating (they create data)")
	fs.StringVar(&f.flaky, "flaky", "warn", "a check that passed only on retry: warn (pass with a warning) or fail")
	fs.StringVar(&f.browserURL, "browser-url", "", "use a running browser at this DevTools URL instead of launching Chromium")
	fs.StringVar(&f.summary, "summary", "", "also write a Markdown summary here (and to $GITHUB_STEP_SUMMARY when set)")
	fs.BoolVar(&f.all, "all", false, "run every app in the config folder (each in its own process); exit with the worst verdict")
	fs.StringVar(&f.shard, "shard", "", "with --all: run only shard K of N of the apps (K/N, e.g. 2/4; stable as apps are added); piv merge joins the shards' reports")
}

func init() {
	register(command{name: "run", summary: "run the gate for one app: technical PIV + functional suites", run: runRun})
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f runFlags
	fs := newFlagSet("run", runUsage, stderr)
	f.register(fs)
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagErr(err)
	}
	f.settleSet = flagWasSet(fs, "settle")
	if f.all {
		if len(pos) > 0 {
			return usageErr("run --all takes no APP (got %q)", pos[0])
		}
		return runAll(ctx, args, f, stdout, stderr)
	}
	if len(pos) != 1 {
		fs.Usage()
		return usageErr("run needs exactly one APP (got %d arguments)", len(pos))
	}
	if err := f.check(); err != nil {
		return err
	}
	app, err := loadApp(configDir(f.config), pos[0])
	if err != nil {
		return err
	}
	if err := runner.ValidateFilter(f.filter); err != nil {
		return usageErr("%v", err)
	}

	// Signals: remember which one, cancel the run; the verdict is then
	// inconclusive and gate.json is still written.
	var sigMu sync.Mutex
	var gotSig string
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			sigMu.Lock()
			gotSig = signalName(s)
			sigMu.Unlock()
			fmt.Fprintf(stderr, "piv: got %s: stopping, writing an inconclusive gate\n", signalName(s))
			cancel()
		case <-ctx.Done():
		}
	}()
	interrupted := func() string { sigMu.Lock(); defer sigMu.Unlock(); return gotSig }

	o, cleanup, err := f.options(ctx, app, stderr)
	if err != nil {
		return err
	}
	o.Interrupted = interrupted
	res := func() (res *gate.Result) {
		defer func() {
			if p := recover(); p != nil {
				res = harnessFault(o, fmt.Sprintf("harness panic: %v", p))
			}
		}()
		defer func() { cleanup(res) }()
		return runner.Run(ctx, o)
	}()
	return finishRun(res, o, f, stdout, stderr)
}

func (f *runFlags) check() error {
	if f.shard != "" {
		return usageErr("--shard %s needs --all: it picks a share of the apps", f.shard)
	}
	n := 0
	for _, set := range []bool{f.node != "", f.service, f.image != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return usageErr("--node, --service and --image are exclusive: pick one scope")
	}
	if f.format != "text" && f.format != "json" {
		return usageErr("--format %q: want text or json", f.format)
	}
	if f.flaky != "warn" && f.flaky != "fail" {
		return usageErr("--flaky %q: want warn or fail", f.flaky)
	}
	if f.focus != "" {
		if _, err := regexp.Compile(f.focus); err != nil {
			return usageErr("--focus %q: %v", f.focus, err)
		}
	}
	if f.timeout <= 0 {
		return usageErr("--timeout must be positive")
	}
	return nil
}

// options resolves the target and the report folder. cleanup runs after the
// run whatever happened (stops containers, closes the browser).
func (f *runFlags) options(ctx context.Context, app *config.App, stderr io.Writer) (runner.Options, func(*gate.Result), error) {
	o := runner.Options{Started: time.Now(), App: app, ExpectedVersion: f.expect, LabelFilter: f.filter, Focus: f.focus, AllowMutating: f.allowMutating,
		Timeout: f.timeout, Policy: gate.Policy{FlakyBlocks: f.flaky == "fail"}, Progress: stderr}
	o.Settle = app.Settle.Timeout.D()
	if f.settleSet {
		o.Settle = f.settle
	}
	if f.expect != "" && app.Technical.Version == nil {
		return o, nil, usageErr("--expect-version needs technical.version (path and JSON path of the running version) in %s", app.Where("technical"))
	}
	if o.Settle > 0 && app.Technical.Health == nil {
		return o, nil, usageErr("--settle needs technical.health in %s", app.Where("technical"))
	}
	switch {
	case f.node != "":
		n, ok := app.NodeByName(f.node)
		if !ok {
			return o, nil, usageErr("%s: unknown node %q (nodes: %s)", app.Where("nodes"), f.node, nodeNames(app))
		}
		o.Target = target.ForNode(app, n)
	case f.image != "":
		o.Image = f.image
		o.Target = target.Target{Scope: target.ScopeImage, Name: f.image, URL: app.ServiceURL, RootCAs: app.RootCAs}
	default:
		o.Target = target.ForService(app)
		for _, n := range app.Nodes {
			o.Nodes = append(o.Nodes, target.ForNode(app, n))
		}
	}
	o.RunID = runID(time.Now(), app.App, o.Target)
	out, err := outDir(f.out, app.App, o.RunID)
	if err != nil {
		return o, nil, usageErr("--out: %v", err)
	}
	o.OutDir = out
	if f.out == "" {
		o.RunID = filepath.Base(out) // the default folder may carry a -2 suffix: keep them equal
	}
	headers := map[string][]string{"X-Piv-Run": {o.RunID}}
	o.Target.Headers = headers
	for i := range o.Nodes {
		o.Nodes[i].Headers = headers
	}
	closers := []func(*gate.Result){}
	bp := newBrowserProvider(ctx, app, f.browserURL, &closers)
	o.Browser = bp
	if f.image != "" {
		if err := startImage(ctx, &o, &closers, stderr); err != nil {
			return o, nil, err
		}
	}
	bp.warm(runner.EffectiveFilter(f.filter, f.allowMutating))
	return o, func(res *gate.Result) {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i](res)
		}
	}, nil
}

func nodeNames(app *config.App) string {
	if len(app.Nodes) == 0 {
		return "none defined"
	}
	s := ""
	for i, n := range app.Nodes {
		if i > 0 {
			s += ", "
		}
		s += n.Name
	}
	return s
}

func signalName(s os.Signal) string {
	switch s {
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGINT:
		return "SIGINT"
	}
	return s.String()
}
