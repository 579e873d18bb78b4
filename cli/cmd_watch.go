package cli

import (
	"context"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/watch"
)

func init() {
	register(command{name: "watch", summary: "continuity sampler: prove a rollout lost no requests", run: runWatch})
}

const watchHelp = `Usage: piv watch TARGET... [flags]

Samples every TARGET at a fixed interval over two streams each, a new
connection per sample ("fresh") and one reused keep-alive connection
("keepalive"), until SIGINT/SIGTERM or --for. Then writes continuity.json and
continuity.html to --out, prints a summary, and exits by the verdict:

  0  pass          judged targets lost at most --max-failed requests and no
                   outage was longer than --max-outage (defaults: none at all)
  1  fail          more failures or a longer outage than allowed
  2  usage error   nothing was sampled
  3  inconclusive  the sampler could not tell: a judged target never answered
                   (wrong URL, address or CA look like a total outage), or the
                   sampler could not take enough samples (no sockets, ...)

SIGTERM/SIGINT is the normal way to stop an open-ended watch: sampling stops,
the report is written and the exit code is the verdict. A second signal kills.

TARGET is [NAME=]URL[@ADDR]:
  https://quote.test:8443/health              labelled by host, connects to the URL's host
  lb=https://quote.test:8443/health           labelled "lb"
  app-01=https://quote.test:8443/health@127.0.0.2
                                              connects to 127.0.0.2:8443 while Host, SNI and
                                              certificate checks use quote.test (a pinned node)

A sample succeeds on HTTP 2xx/3xx (redirects are not followed). Failures are
classified: connect refused, connect timeout, connect unreachable, dns, tls,
reset, eof, timeout, protocol, http 4xx, http 5xx. Errors on the sampler's own
side (EMFILE, ENOBUFS, no local port) are counted apart as sampler errors and
never as the target's failures.

Examples:
  # watch the service for the whole rollout; the deploy script stops it with SIGTERM
  piv watch lb=https://quote.test:8443/health --ca fixtures/tls/ca.pem --out reports/watch/rollout &
  WATCH=$!; ./deploy.sh; kill -TERM $WATCH; wait $WATCH

  # the service is judged, each node is only observed (a node goes down on purpose)
  piv watch https://quote.test:8443/health --for 5m \
    --observe app-01=https://quote.test:8443/health@127.0.0.2 \
    --observe app-02=https://quote.test:8443/health@127.0.0.3

  # tolerate up to 2 failed requests but no outage longer than 100ms
  piv watch https://quote.test:8443/health --for 60s --max-failed 2 --max-outage 100ms

Flags:
`

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

func runWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("watch", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		forD      = fs.Duration("for", 0, "stop after this long (default: until SIGINT/SIGTERM; at most 24h)")
		interval  = fs.Duration("interval", watch.DefaultInterval, "time between sample starts, per stream")
		timeout   = fs.Duration("timeout", watch.DefaultTimeout, "bound on one sample, connect to last body byte")
		maxFailed = fs.Int("max-failed", 0, "failed requests tolerated over all judged targets")
		maxOutage = fs.Duration("max-outage", 0, "longest outage tolerated on any judged target")
		out       = fs.String("out", "", "report folder (default reports/watch/<UTC timestamp>/)")
		caFile    = fs.String("ca", "", "PEM file of the CA(s) to trust instead of the system roots")
		progress  = fs.Duration("progress", 5*time.Second, "progress line to stderr this often (0: none)")
		connectTo stringList
		observe   stringList
	)
	fs.Var(&connectTo, "connect-to", "HOST1:PORT1:HOST2:PORT2: connect to HOST2:PORT2 for URLs on HOST1:PORT1, keeping Host/SNI (curl semantics; repeatable)")
	fs.Var(&observe, "observe", "TARGET recorded and charted but not judged, e.g. a node (repeatable)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), watchHelp)
		fs.PrintDefaults()
	}

	// Flags may come before, between or after the targets.
	var specs []string
	for rest := args; ; {
		fs.SetOutput(io.Discard)
		err := fs.Parse(rest)
		fs.SetOutput(stderr)
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return nil
		}
		if err != nil {
			return usageErr("watch: %v (see piv watch --help)", err)
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		specs, rest = append(specs, rest[0]), rest[1:]
	}

	switch {
	case len(specs) == 0:
		return usageErr("watch: no target to judge: give the service URL as an argument (see piv watch --help)")
	case *interval < time.Millisecond:
		return usageErr("watch: --interval %v: must be at least 1ms", *interval)
	case *timeout < time.Millisecond:
		return usageErr("watch: --timeout %v: must be at least 1ms", *timeout)
	case *forD < 0 || *forD > watch.MaxDuration:
		return usageErr("watch: --for %v: must be between 0 (until a signal) and %v", *forD, watch.MaxDuration)
	case *maxFailed < 0:
		return usageErr("watch: --max-failed %d: must not be negative", *maxFailed)
	case *maxOutage < 0:
		return usageErr("watch: --max-outage %v: must not be negative", *maxOutage)
	case *progress < 0:
		return usageErr("watch: --progress %v: must not be negative", *progress)
	}

	var targets []watch.Target
	names := map[string]bool{}
	add := func(spec string, judged bool) error {
		t, err := watch.ParseTarget(spec)
		if err != nil {
			return usageErr("watch: %v", err)
		}
		t.Judged = judged
		if names[t.Name] {
			return usageErr("watch: two targets named %q: label them NAME=URL", t.Name)
		}
		names[t.Name] = true
		targets = append(targets, t)
		return nil
	}
	for _, s := range specs {
		if err := add(s, true); err != nil {
			return err
		}
	}
	for _, s := range observe {
		if err := add(s, false); err != nil {
			return err
		}
	}
	for _, rule := range connectTo {
		for i := range targets {
			if _, err := targets[i].ConnectTo(rule); err != nil {
				return usageErr("watch: %v", err)
			}
		}
	}

	var roots *x509.CertPool
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return usageErr("watch: --ca: %v", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return usageErr("watch: --ca %s: no PEM certificate in it", *caFile)
		}
	}

	dir := *out
	if dir == "" {
		dir = filepath.Join("reports", "watch", time.Now().UTC().Format("20060102T150405Z"))
	}
	// Fail before sampling, not after an hour of it, if the report cannot be written.
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usageErr("watch: --out: %v", err)
	}

	s, err := watch.New(watch.Config{Targets: targets, Interval: *interval, Timeout: *timeout, For: *forD, RootCAs: roots})
	if err != nil {
		return usageErr("watch: %v", err)
	}

	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	progressDone := make(chan struct{})
	var progressWG sync.WaitGroup
	if *progress > 0 {
		progressWG.Add(1)
		go func() {
			defer progressWG.Done()
			tick := time.NewTicker(*progress)
			defer tick.Stop()
			for {
				select {
				case <-progressDone:
					return
				case <-tick.C:
					fmt.Fprintln(stderr, progressLine(s.Snapshot()))
				}
			}
		}()
	}
	res := s.Run(ctx)
	stop() // a second signal from here on kills, as usual
	close(progressDone)
	progressWG.Wait()

	lim := watch.Limits{MaxFailed: *maxFailed, MaxOutage: *maxOutage}
	v, reason := watch.Judge(res, lim)
	rep := watch.BuildReport(res, lim, v, reason)
	watch.RenderText(stdout, rep)
	if err := watch.WriteFiles(dir, rep); err != nil {
		return inconclusiveErr("watch: writing the report: %v", err)
	}
	fmt.Fprintf(stdout, "report: %s\n", filepath.Join(dir, "continuity.json"))

	// The same verdict-to-code mapping as a gate's (gate.Verdict.ExitCode).
	if v != gate.Pass && v != gate.Fail {
		return inconclusiveErr("watch: inconclusive: %s", reason)
	}
	return verdictErr(v.ExitCode())
}

// progressLine is one line per progress tick: elapsed time, then per
// target sent and failed over both streams, DOWN while a stream is failing.
func progressLine(sn watch.Snapshot) string {
	var b strings.Builder
	fmt.Fprintf(&b, "piv watch: %s", sn.Elapsed.Round(time.Second))
	for i, t := range sn.Targets {
		sep := " "
		if i > 0 {
			sep = " | "
		}
		var sent, failed, se int
		down := false
		for _, st := range t.Streams {
			sent += st.Sent
			failed += st.Failed
			se += st.SamplerErrors
			down = down || st.InOutage
		}
		fmt.Fprintf(&b, "%s%s sent %d failed %d", sep, t.Name, sent, failed)
		if se > 0 {
			fmt.Fprintf(&b, " sampler-errors %d", se)
		}
		if down {
			b.WriteString(" DOWN")
		}
	}
	return b.String()
}
