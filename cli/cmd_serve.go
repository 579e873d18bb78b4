package cli

import (
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/runner"
	"github.com/piv-gate/piv/pkg/serve"
	"github.com/piv-gate/piv/pkg/timeouts"
)

const serveUsage = `Usage: piv serve [--listen ADDR] [--config DIR] --token-file F [flags]

The gate over HTTP, for deployers that call a URL rather than a command
(Argo Rollouts' web metric provider, Flagger's webhooks). Each gate runs as
its own 'piv run' process; its reports are kept under --out.

  POST /v1/gates    {"app":"quote","node":"app-02","expectVersion":"2.4.1"}
                    or "scope":"service" (the whole service) or "fleet"
                    (every node and the service, piv run --fleet); optional
                    "labelFilter", "remediation". Answers 200 with gate.json
                    (verdict pass, fail or inconclusive); 400/404 when the
                    request is wrong (nothing ran).
  POST /v1/flagger  Flagger's webhook payload; metadata: app, node (or
                    scope: service), version. 200 only on pass, 412 on fail,
                    503 when inconclusive.
  GET  /healthz     ok
  GET  /metrics     Prometheus: piv_gates_total, piv_gate_duration_seconds,
                    piv_gate_last_verdict, piv_serve_requests_refused_total

Every /v1 request needs 'Authorization: Bearer TOKEN' (the token file's
content, at least 16 bytes), unless --insecure-no-auth on a loopback address;
then only a loopback Host and no Origin header are answered (no web page can
start a gate). POSTs need Content-Type: application/json (415 otherwise), and a
body that repeats a key, at any depth, is a 400. At most
--max-concurrent gates run at once (503 + Retry-After beyond that), one at a
time per app and target (409). On SIGTERM the server stops taking gates,
lets running ones finish for --drain, then interrupts them (their callers get
an inconclusive gate.json) and exits when every child is gone.

Examples:
  piv serve --listen 0.0.0.0:8089 --token-file /run/secrets/piv-token --config /etc/piv/apps
  curl -H "Authorization: Bearer $(cat token)" -H 'Content-Type: application/json' -d '{"app":"quote","node":"app-02","expectVersion":"2.4.1"}' http://piv:8089/v1/gates
`

func init() {
	register(command{name: "serve", summary: "the gate over HTTP (Argo Rollouts web metric, Flagger webhooks), with /metrics", run: runServe})
}

type serveFlags struct {
	listen, config, tokenFile, out, remediations, flaggerToken string
	insecureNoAuth                                             bool
	maxConcurrent                                              int
	maxBody                                                    int64
	timeout, killGrace, drain                                  time.Duration
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f serveFlags
	fs := newFlagSet("serve", serveUsage, stderr)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8089", "address to listen on (host:port)")
	fs.StringVar(&f.config, "config", "", "app definitions folder (default $PIV_CONFIG, else ./fixtures/apps)")
	fs.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token callers must send (required unless --insecure-no-auth)")
	fs.BoolVar(&f.insecureNoAuth, "insecure-no-auth", false, "no authentication: only allowed when --listen is a loopback address")
	fs.IntVar(&f.maxConcurrent, "max-concurrent", 4, "gates running at once; beyond that requests get 503 with Retry-After")
	fs.StringVar(&f.out, "out", "reports", "reports folder: each gate's reports go to OUT/APP/RUN-ID/")
	fs.StringVar(&f.remediations, "remediations", "", "folder of remediation records a request's \"remediation\" may name")
	fs.Int64Var(&f.maxBody, "max-body", 64<<10, "largest request body in bytes; beyond that 413")
	fs.DurationVar(&f.timeout, "timeout", timeouts.Default.Run, "bound on each gate's run (its --timeout); on expiry the gate is inconclusive")
	fs.DurationVar(&f.killGrace, "kill-grace", 10*time.Second, "how long an interrupted gate has to write its inconclusive report before it is killed")
	fs.DurationVar(&f.drain, "drain", 20*time.Second, "on SIGTERM, how long running gates may go on before they are interrupted")
	fs.StringVar(&f.flaggerToken, "flagger-metadata-token", "", "also accept the token in this Flagger metadata key (Flagger cannot send headers; the token is then in the Canary spec)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) > 0 {
		return usageErr("serve takes no arguments (got %q)", pos[0])
	}
	if f.maxConcurrent < 1 {
		return usageErr("--max-concurrent must be at least 1")
	}
	if f.maxBody < 1 {
		return usageErr("--max-body must be positive")
	}
	if f.timeout <= 0 || f.killGrace <= 0 || f.drain < 0 {
		return usageErr("--timeout and --kill-grace must be positive, --drain not negative")
	}
	var token []byte
	switch {
	case f.tokenFile != "" && f.insecureNoAuth:
		return usageErr("--token-file and --insecure-no-auth are exclusive")
	case f.tokenFile != "":
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return usageErr("--token-file: %v", err)
		}
		token = []byte(strings.TrimSpace(string(b)))
		if len(token) == 0 {
			return usageErr("--token-file %s is empty", f.tokenFile)
		}
		// A short token is guessed: 16 bytes is the least a bearer token
		// that starts deployment gates may be (openssl rand -hex 16 gives 32).
		if len(token) < minToken {
			return usageErr("--token-file %s holds %d bytes: a token must have at least %d (openssl rand -hex 16)", f.tokenFile, len(token), minToken)
		}
	case f.insecureNoAuth:
		if !isLoopback(f.listen) {
			return usageErr("--insecure-no-auth is only allowed on a loopback address (--listen %s is not)", f.listen)
		}
		if f.flaggerToken != "" {
			return usageErr("--flagger-metadata-token needs --token-file")
		}
	default:
		return usageErr("piv serve needs --token-file (or --insecure-no-auth on a loopback address)")
	}
	if f.remediations != "" {
		if st, err := os.Stat(f.remediations); err != nil || !st.IsDir() {
			return usageErr("--remediations %s: not a folder", f.remediations)
		}
	}
	dir := configDir(f.config)
	if _, err := config.LoadDir(dir); err != nil {
		return usageErr("%v", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return usageErr("cannot find piv's own executable: %v", err)
	}
	if err := os.MkdirAll(f.out, 0o755); err != nil {
		return usageErr("--out: %v", err)
	}
	srv, err := serve.New(serve.Options{
		Exe: exe, ConfigDir: dir, ReportsDir: f.out, RemediationsDir: f.remediations,
		Token: token, FlaggerMetadataToken: f.flaggerToken,
		MaxConcurrent: f.maxConcurrent, MaxBody: f.maxBody, RunTimeout: f.timeout, KillGrace: f.killGrace,
		Check: serveCheck(dir), ChildEnv: os.Environ(), Log: stderr,
	})
	if err != nil {
		return usageErr("%v", err)
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return usageErr("--listen: %v", err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10, ErrorLog: log.New(stderr, "piv serve: ", 0)}

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(sigs)
	served := make(chan error, 1)
	go func() { served <- hs.Serve(ln) }()
	fmt.Fprintf(stderr, "piv serve: listening on http://%s\n", ln.Addr())

	select {
	case err := <-served:
		srv.Interrupt()
		srv.Wait()
		return inconclusiveErr("serve: %v", err)
	case s := <-sigs:
		fmt.Fprintf(stderr, "piv serve: got %s: no new gates; running gates have %s to finish\n", signalName(s), f.drain)
	case <-ctx.Done():
		fmt.Fprintln(stderr, "piv serve: stopping: no new gates")
	}
	// Stop listening and wait for the running gates, up to --drain; then
	// interrupt them and wait until every child is gone: their callers get
	// an inconclusive gate.json, and no gate outlives the server.
	dctx, cancel := context.WithTimeout(context.Background(), f.drain)
	err = hs.Shutdown(dctx)
	cancel()
	if err != nil {
		fmt.Fprintln(stderr, "piv serve: interrupting the running gates")
		srv.Interrupt()
		wctx, cancel := context.WithTimeout(context.Background(), f.killGrace+5*time.Second)
		if err := hs.Shutdown(wctx); err != nil {
			hs.Close()
		}
		cancel()
	}
	srv.Interrupt()
	srv.Wait()
	fmt.Fprintln(stderr, "piv serve: stopped")
	return nil
}

// serveCheck refuses what `piv run` would refuse before starting a child,
// with the same messages: an unknown app or node is 404, a broken
// definition or a bad label filter 400.
func serveCheck(dir string) func(serve.Gate) error {
	return func(g serve.Gate) error {
		app, err := loadApp(dir, g.App)
		if err != nil {
			msg := errMsg(err)
			if strings.Contains(msg, ": no app ") {
				return serve.NotFound(msg)
			}
			return serve.Usage(msg)
		}
		if g.Scope == "node" {
			if _, ok := app.NodeByName(g.Node); !ok {
				return serve.NotFound(fmt.Sprintf("%s: unknown node %q (nodes: %s)", app.Where("nodes"), g.Node, nodeNames(app)))
			}
		}
		if err := runner.ValidateFilter(g.LabelFilter); err != nil {
			return serve.Usage(err.Error())
		}
		return nil
	}
}

func errMsg(err error) string {
	if ee, ok := err.(*exitError); ok {
		return ee.msg
	}
	return err.Error()
}

// minToken is the shortest bearer token piv serve accepts, in bytes.
const minToken = 16

// isLoopback: --insecure-no-auth is for a developer's own machine only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
