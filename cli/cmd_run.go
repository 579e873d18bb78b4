package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"sync"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/runner"
	"github.com/piv-gate/piv/pkg/session"
	"github.com/piv-gate/piv/pkg/timeouts"
)

const runUsage = `Usage: piv run APP [--node NAME | --service | --image REF] [flags]

Runs the technical PIV and the app's functional suites against one drained
node, the whole service, or a container image, and exits with the verdict:
0 pass, 1 fail, 2 usage/config error (nothing ran), 3 inconclusive.

--node NAME pins every connection (TCP, TLS, HTTP, browser) to that node's
address while Host, SNI and certificate checks keep the service host name.

Reports go to --out (default reports/APP/RUN-ID/): gate.json (canonical),
junit.xml, report.html, attachments/. Two gates never share an --out: the
second is refused while the first runs. Stdout is the summary, or gate.json
itself with --format text|json; progress goes to stderr (-q: none).

Examples:
  # gate after deploying 2.4.1 on the drained node app-02
  piv run quote --node app-02 --expect-version 2.4.1 --settle 2m
  # after the last node: every node on its own and the service, at once
  piv run quote --fleet --expect-version 2.4.1
  # the whole service only (through the load balancer)
  piv run quote --service --expect-version 2.4.1
  # before deploying: the image, started with testcontainers
  piv run quote --image quote:2.4.2 --expect-version 2.4.2
  # a vulnerability fix proven live on the node (see 'piv evidence')
  piv run quote --node app-02 --remediation CHG-2026-0412.yaml
  # nightly, machine 2 of 4: its share of the apps, every node and the service
  piv run --all --fleet --shard 2/4
`

// runFlags are piv run's flags, kept together so --all can pass them on.
type runFlags struct {
	node, expect, filter, focus, out, format, config, image, flaky, browserURL, summary, shard string
	remediation                                                                                string
	service, all, allowMutating, fleet                                                         bool
	settle, timeout                                                                            time.Duration
	settleSet                                                                                  bool
}

func (f *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.node, "node", "", "verify this node alone (pinned, service host name kept)")
	fs.BoolVar(&f.service, "service", false, "verify the whole service (the default)")
	fs.BoolVar(&f.fleet, "fleet", false, "verify every node individually and the service, at once (one browser, a pinned context per target); the worst target's verdict")
	fs.StringVar(&f.image, "image", "", "start this local container image and verify it (testcontainers)")
	fs.StringVar(&f.expect, "expect-version", "", "the version that must be running")
	fs.StringVar(&f.filter, "label-filter", "", "Ginkgo label filter, e.g. 'technical || smoke' (labels: advisory, browser, functional, mutating, remediation, smoke, technical)")
	fs.StringVar(&f.focus, "focus", "", "only checks whose full name matches this regexp (e.g. 'quote page'); combined with --label-filter")
	fs.DurationVar(&f.settle, "settle", 0, "wait up to this long for health to pass settle.consecutive times in a row (default: the definition's settle.timeout; 0: no settling)")
	fs.DurationVar(&f.timeout, "timeout", timeouts.Default.Run, "bound on the whole run; on expiry the verdict is inconclusive")
	fs.StringVar(&f.out, "out", "", "report folder (default reports/APP/RUN-ID/)")
	fs.StringVar(&f.format, "format", "text", "stdout format: text (summary) or json (gate.json)")
	fs.StringVar(&f.config, "config", "", "app definitions folder (default $PIV_CONFIG, else ./fixtures/apps)")
	fs.BoolVar(&f.allowMutating, "allow-mutating", false, "also run specs labelled mutating (they create data)")
	fs.StringVar(&f.flaky, "flaky", "warn", "a check that passed only on retry: warn (pass with a warning) or fail")
	fs.StringVar(&f.browserURL, "browser-url", "", "use a running browser at this DevTools URL instead of launching Chromium")
	fs.StringVar(&f.summary, "summary", "", "also write a Markdown summary here (and to $GITHUB_STEP_SUMMARY when set)")
	fs.StringVar(&f.remediation, "remediation", "", "also verify this remediation record on the target (label remediation); gate.json carries its id")
	fs.BoolVar(&f.all, "all", false, "run every app in the config folder (each in its own process); exit with the worst verdict")
	fs.StringVar(&f.shard, "shard", "", "with --all: run only shard K of N of the apps (K/N, e.g. 2/4; stable as apps are added); piv merge joins the shards' reports")
}

func init() {
	register(command{name: "run", summary: "run the gate for one app: technical PIV + functional suites", run: runRun, handlesSignals: true})
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
		releaseSignals()
		if len(pos) > 0 {
			return usageErr("run --all takes no APP (got %q)", pos[0])
		}
		return runAll(ctx, args, f, stdout, stderr)
	}
	if len(pos) != 1 {
		return usageErr("run needs exactly one APP (got %d arguments); see 'piv run --help'", len(pos))
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
	interrupted := func() string { sigMu.Lock(); defer sigMu.Unlock(); return gotSig }
	o := f.options(app, stderr, interrupted)
	if o.Remediation, err = loadRemediation(f.remediation, app); err != nil {
		return err
	}
	if f.fleet {
		return runFleet(ctx, o, fs, f, stdout, stderr)
	}
	child, supervised := session.SupervisedChild(f.out)
	if supervised {
		o.RunID, o.Locked = child.RunID, true
	}
	g, err := session.Prepare(o)
	if err != nil {
		return usageErr("%v", err)
	}
	defer g.Close()

	if !supervised {
		// The parent: run the gate in a child and judge how it ended.
		exe, err := os.Executable()
		if err != nil {
			return exitFor(g.Fault("cannot find piv's own executable: "+err.Error()), nil, f, g.OutDir(), stdout)
		}
		res, code, accepted := g.Supervise(ctx, exe, append([]string{"run"}, args...), stdout, stderr, earlySignals)
		if !accepted {
			fmt.Fprintf(stderr, "piv: %s\n", res.Reason)
			return exitFor(res, nil, f, g.OutDir(), stdout)
		}
		return &exitError{code: code}
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case s := <-earlySignals:
			sigMu.Lock()
			gotSig = signalName(s)
			sigMu.Unlock()
			fmt.Fprintf(stderr, "piv: got %s: stopping, writing an inconclusive gate\n", signalName(s))
			cancel()
		case <-ctx.Done():
		}
	}()
	res, runErr := g.Run(ctx)
	err = exitFor(res, runErr, f, g.OutDir(), stdout)
	child.ReportExit(exitCodeOf(err))
	return err
}

// runFleet runs the --fleet gate: every node and the service, each in its
// own gate process, with the flags that say what to verify passed on.
func runFleet(ctx context.Context, o session.Options, fs *flag.FlagSet, f runFlags, stdout, stderr io.Writer) error {
	o.Fleet = true
	g, err := session.Prepare(o)
	if err != nil {
		return usageErr("%v", err)
	}
	defer g.Close()
	exe, err := os.Executable()
	if err != nil {
		return exitFor(g.Fault("cannot find piv's own executable: "+err.Error()), nil, f, g.OutDir(), stdout)
	}
	// Every flag given passes on, but those that choose the scope or where
	// this gate's own reports go.
	own := map[string]bool{"fleet": true, "out": true, "summary": true, "format": true, "node": true, "service": true, "image": true, "all": true, "shard": true}
	var pass []string
	fs.Visit(func(fl *flag.Flag) {
		if !own[fl.Name] {
			pass = append(pass, "--"+fl.Name+"="+fl.Value.String())
		}
	})
	res := g.Fleet(ctx, exe, session.FleetOptions{ChildArgs: pass}, stderr, earlySignals)
	return exitFor(res, nil, f, g.OutDir(), stdout)
}

// exitFor prints the result and maps it to the exit: the one place a gate's
// outcome becomes a code (a usage error found while running is 2, else the
// verdict's own code).
func exitFor(res *gate.Result, runErr error, f runFlags, outDir string, stdout io.Writer) error {
	printResult(res, outDir, f.format, stdout)
	var ue *session.UsageError
	if errors.As(runErr, &ue) {
		return usageErr("%v", ue)
	}
	return verdictErr(res.Verdict.ExitCode())
}

func (f *runFlags) check() error {
	if f.shard != "" {
		return usageErr("--shard %s needs --all: it picks a share of the apps", f.shard)
	}
	n := 0
	for _, set := range []bool{f.node != "", f.service, f.image != "", f.fleet} {
		if set {
			n++
		}
	}
	if n > 1 {
		return usageErr("--node, --service, --fleet and --image are exclusive: pick one scope")
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
		return usageErr("--timeout %s: must be positive", f.timeout)
	}
	if f.settle < 0 {
		return usageErr("--settle %s: must not be negative (0 turns settling off)", f.settle)
	}
	return nil
}

// options turns the flags into a session's options; nothing else.
func (f *runFlags) options(app *config.App, stderr io.Writer, interrupted func() string) session.Options {
	o := session.Options{Started: time.Now(), App: app, Node: f.node, Image: f.image, ExpectedVersion: f.expect,
		LabelFilter: f.filter, Focus: f.focus, AllowMutating: f.allowMutating, Timeout: f.timeout,
		Out: f.out, Policy: gate.Policy{FlakyBlocks: f.flaky == "fail"}, BrowserURL: f.browserURL,
		Summary: f.summary, StepSummary: os.Getenv("GITHUB_STEP_SUMMARY"), PivVersion: Version(),
		Progress: progressOut(stderr), Verbose: verbose(), Interrupted: interrupted}
	if f.settleSet {
		s := f.settle
		o.Settle = &s
	}
	return o
}
