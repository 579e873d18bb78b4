// Package browser runs the browser journeys' Chromium for piv: it finds a
// local Chromium (never downloads one) or connects to a remote one, and gives
// each target a page whose every connection is pinned like the rest of piv's
// traffic while the address bar keeps the service URL and certificates are
// verified against the app's own CA.
//
// Design, and why:
//
//   - One browser process per run. Starting Chromium costs far more than a
//     page, so every spec and every target of a run shares one process.
//   - One browser context per target, each with its own proxy. Chromium's
//     --host-resolver-rules would pin the whole process to one node, so
//     instead every context is given (Target.createBrowserContext
//     proxyServer) a small HTTP CONNECT proxy owned by piv that dials through
//     target.Target.Dial: the node pin applies, hosts other than the
//     service's are refused, and the proxy adds nothing to the traffic. TLS
//     stays end to end between Chromium and the node, so Chromium itself sees
//     the node's certificate and SNI is the service host name.
//   - Trust by verification, never by ignoring errors. The app CAs a run
//     needs are added as trusted roots to an NSS database in a temporary HOME
//     given to the Chromium process only ($HOME/.pki/nssdb is where Chromium
//     on Linux reads locally trusted roots); chain and host name are then
//     checked by Chromium as for any customer. No --ignore-certificate-errors,
//     no Security.setIgnoreCertificateErrors.
//   - The process is piv's: a fresh temporary user-data-dir and HOME, killed
//     with its process group and removed on Close. go-rod's launcher is not
//     used because it downloads a browser when none is given and its
//     leakless helper does not run everywhere; here the child gets
//     Pdeathsig so it dies with piv.
package browser

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/piv-gate/piv/pkg/timeouts"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"

	"github.com/piv-gate/piv/pkg/target"
)

// Bounds, from pkg/timeouts (where each says what it bounds and why).
var (
	LaunchTimeout    = timeouts.Default.BrowserLaunch
	CloseTimeout     = timeouts.Default.BrowserClose
	PageLoadTimeout  = timeouts.Default.PageNavigate
	ElementTimeout   = timeouts.Default.PageAction
	CaptureTimeout   = timeouts.Default.PageCapture
	ProxyDialTimeout = timeouts.Default.ProxyDial
)

// Polling of element waits.
const (
	// ElementPollMin and ElementPollMax bound the backoff between checks
	// while go-rod waits for an element. go-rod's default starts at 100 ms,
	// which alone added a tenth of a second to every "wait for #premium".
	ElementPollMin = 10 * time.Millisecond
	ElementPollMax = 200 * time.Millisecond
)

// EnvBrowser names the environment variable holding the Chromium binary to use.
const EnvBrowser = "PIV_BROWSER"

// Window size of every page, so screenshots are comparable between runs.
const (
	WindowWidth  = 1280
	WindowHeight = 800
)

// ErrNoBrowser is returned (wrapped, with what was looked for and how to
// install one) when no browser binary can be found or started. A run that
// needs a browser and gets this error is inconclusive, not failed.
var ErrNoBrowser = errors.New("no browser")

// InstallHint says how to make a browser available.
const InstallHint = "install Chromium (apt-get install -y chromium), or set " + EnvBrowser +
	" to a Chromium/Chrome binary, or pass --browser-url with a DevTools URL of a running browser"

// Candidates looked for, in order, when neither Options.Bin nor $PIV_BROWSER
// is set: absolute paths first, then names on PATH. Variables so tests can
// simulate a machine without a browser.
var (
	defaultPaths = []string{"/usr/bin/chromium"}
	defaultNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}
)

// Options configures Launch.
type Options struct {
	// Bin is the Chromium binary. Default: $PIV_BROWSER, else
	// /usr/bin/chromium, else chromium, chromium-browser or google-chrome on
	// PATH. A browser is never downloaded.
	Bin string
	// RemoteURL is a DevTools URL (ws://…/devtools/browser/… or
	// http://host:port) of a running browser to connect to instead of
	// launching one. The per-target proxies listen on ProxyHost, which that
	// browser must be able to reach, and trusting the app CAs is then the
	// remote browser's business: without it pages fail with certificate
	// errors (fail closed), they are never ignored.
	RemoteURL string
	// Show opens a visible window instead of running headless (the default).
	Show bool
	// CAs are PEM bundles of every private CA the run's targets need
	// (config.App.CAPEM of each app). They are trusted by the launched
	// browser only (an NSS database in its temporary HOME) and must be known
	// before it starts: see Browser.Page.
	CAs [][]byte
	// ProxyHost is the IP address the per-target proxies listen on and the
	// browser reaches them by. Default 127.0.0.1.
	ProxyHost string
	// Stderr, when set, receives the browser's own log output.
	Stderr io.Writer
	// Prepare lists targets whose first page is made while the browser
	// starts (see Browser.Prepare): a gate knows its target before the
	// browser is up, so the first journey does not wait for a renderer.
	Prepare []PrepareTarget
}

// PrepareTarget is a target to prepare a page for, with its app's CA.
type PrepareTarget struct {
	Target target.Target
	CAPEM  []byte
}

// Browser is one Chromium shared by every page of a run.
type Browser struct {
	rod       *rod.Browser
	cancel    context.CancelFunc // ends the DevTools connection
	proxyHost string
	wsURL     string // DevTools endpoint

	// local process only
	cmd    *exec.Cmd
	dir    string        // temp dir holding HOME and the user-data-dir
	exited chan struct{} // closed when cmd has been waited for
	cas    []caEntry     // trusted in the browser's NSS database, fixed at launch
	log    *tailBuffer   // the browser's recent stderr, for error messages

	mu       sync.Mutex
	contexts map[proto.BrowserBrowserContextID]*proxy
	spares   map[string]*spare // pages prepared ahead, by target (see Prepare)
	closed   bool
	closeErr error
	once     sync.Once
}

// Rod returns the underlying go-rod browser (default context) for callers
// that need more than Page. Pages for targets must come from Page.
func (b *Browser) Rod() *rod.Browser { return b.rod }

// ControlURL is the browser's DevTools WebSocket URL.
func (b *Browser) ControlURL() string { return b.wsURL }

// UserDataDir is the temporary directory the launched browser owns (HOME and
// profile), or "" for a remote browser. It is removed by Close.
func (b *Browser) UserDataDir() string { return b.dir }

// PID is the launched browser's process id, or 0 for a remote browser.
func (b *Browser) PID() int {
	if b.cmd == nil || b.cmd.Process == nil {
		return 0
	}
	return b.cmd.Process.Pid
}

// Launch starts (or, with RemoteURL, connects to) the run's browser. ctx
// bounds the start only; the browser lives until Close.
func Launch(ctx context.Context, opt Options) (*Browser, error) {
	if opt.ProxyHost == "" {
		opt.ProxyHost = "127.0.0.1"
	}
	if opt.RemoteURL != "" {
		return connectRemote(ctx, opt)
	}
	bin, err := FindBin(opt.Bin)
	if err != nil {
		return nil, err
	}
	cas, err := parseCAs(opt.CAs)
	if err != nil {
		return nil, err
	}
	dir, err := newProfileDir() // profile.go: swept if piv is killed
	if err != nil {
		return nil, err
	}
	b := &Browser{dir: dir, cas: cas, proxyHost: opt.ProxyHost, exited: make(chan struct{}), log: &tailBuffer{max: 8 << 10},
		contexts: map[proto.BrowserBrowserContextID]*proxy{}}
	ctx, cancelLaunch := context.WithTimeout(ctx, LaunchTimeout)
	defer cancelLaunch()
	// trusted reports certutil's result; it must be received before dir is
	// removed, on every path.
	trusted := make(chan error, 1)
	fail := func(err error) (*Browser, error) {
		if b.cancel != nil {
			b.cancel()
		}
		b.kill()
		if trusted != nil {
			<-trusted // bounded: certutil runs under ctx
		}
		killStragglers(dir) // a crashpad handler of a browser that died at start
		_ = removeProfileDir(dir)
		return nil, err
	}
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		trusted = nil
		return fail(fmt.Errorf("browser: %w", err))
	}
	// The NSS database is written while Chromium starts: Chromium opens it
	// only when it first verifies a certificate (measured: no .pki/nssdb
	// exists seconds after start), and no page can exist before Launch
	// returns, which waits for certutil.
	if len(cas) > 0 {
		go func() { trusted <- trustCAs(ctx, home, cas) }()
	} else {
		trusted <- nil
	}

	b.cmd = exec.Command(bin, launchArgs(filepath.Join(dir, "profile"), opt.ProxyHost, opt.Show)...)
	// TMPDIR inside dir: Chromium's own temporary folders go with it.
	b.cmd.Env = append(withoutEnv(os.Environ(), "HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "TMPDIR"), "HOME="+home, "TMPDIR="+browserTmp(dir))
	b.cmd.Dir = dir
	b.cmd.SysProcAttr = sysProcAttr()
	stderr, err := b.cmd.StderrPipe()
	if err != nil {
		return fail(fmt.Errorf("browser: %w", err))
	}
	if err := b.cmd.Start(); err != nil {
		return fail(fmt.Errorf("%w: starting %s: %v; %s", ErrNoBrowser, bin, err, InstallHint))
	}
	go func() { _ = b.cmd.Wait(); close(b.exited) }()

	wsURL := make(chan string, 1)
	go scanDevTools(stderr, b.log, opt.Stderr, wsURL)
	var ws string
	select {
	case ws = <-wsURL:
	case <-b.exited:
		return fail(fmt.Errorf("%w: %s exited before DevTools was ready: %s", ErrNoBrowser, bin, b.log.String()))
	case <-ctx.Done():
		return fail(fmt.Errorf("browser: %s did not open DevTools within %s: %w: %s", bin, LaunchTimeout, ctx.Err(), b.log.String()))
	}
	if err := b.connect(ws); err != nil {
		return fail(err)
	}
	// Pages can be made before the CAs are trusted: Chromium reads its NSS
	// database when it first verifies a certificate, and no page navigates
	// before Launch returns.
	for _, pt := range opt.Prepare {
		b.Prepare(pt.Target, pt.CAPEM)
	}
	err = <-trusted
	trusted = nil
	if err != nil {
		return fail(err)
	}
	return b, nil
}

func connectRemote(ctx context.Context, opt Options) (*Browser, error) {
	ctx, cancel := context.WithTimeout(ctx, LaunchTimeout)
	defer cancel()
	ws, err := resolveDevTools(ctx, opt.RemoteURL)
	if err != nil {
		return nil, fmt.Errorf("%w: remote browser %s: %v; %s", ErrNoBrowser, opt.RemoteURL, err, InstallHint)
	}
	b := &Browser{proxyHost: opt.ProxyHost, contexts: map[proto.BrowserBrowserContextID]*proxy{}}
	if err := b.connect(ws); err != nil {
		return nil, fmt.Errorf("%w: remote browser %s: %v", ErrNoBrowser, opt.RemoteURL, err)
	}
	for _, pt := range opt.Prepare {
		b.Prepare(pt.Target, pt.CAPEM)
	}
	return b, nil
}

func (b *Browser) connect(ws string) error {
	connCtx, cancel := context.WithCancel(context.Background())
	r := rod.New().Context(connCtx).ControlURL(ws).NoDefaultDevice()
	if err := r.Connect(); err != nil {
		cancel()
		return fmt.Errorf("browser: connecting to DevTools %s: %w", ws, err)
	}
	b.rod, b.cancel, b.wsURL = r, cancel, ws
	return nil
}

// launchArgs are the Chromium flags. The ones named in DESIGN.md are known to
// work on these machines; the rest keep a test browser quiet and fast.
func launchArgs(profile, proxyHost string, show bool) []string {
	args := []string{
		"--no-sandbox",
		"--disable-gpu",
		"--disable-dev-shm-usage",
		"--disable-background-networking",
		"--disable-component-update",
		"--no-first-run",
		"--no-default-browser-check",
		"--disable-sync",
		"--disable-breakpad",
		"--disable-crash-reporter",
		"--disable-default-apps",
		"--disable-extensions",
		// Pages of several targets run side by side: none may be throttled
		// as a background tab.
		"--disable-background-timer-throttling",
		"--disable-backgrounding-occluded-windows",
		"--disable-renderer-backgrounding",
		"--disable-hang-monitor",
		"--disable-ipc-flooding-protection",
		"--disable-field-trial-config",
		"--disable-client-side-phishing-detection",
		"--disable-component-extensions-with-background-pages",
		"--disable-search-engine-choice-screen",
		"--no-service-autorun",
		// SpareRendererForSitePerProcess: Chromium keeps a renderer
		// started ahead for the next navigation; piv makes its own pages
		// ahead (Prepare), so the spare was one more process and ~50 ms
		// of CPU per run that nothing used (measured: 11 -> 10 processes).
		// WebUIOmnibox*: every window (so every target's browser context)
		// started a second renderer for the address bar's popup
		// (chrome://omnibox-popup.top-chrome), measured at up to 330 ms of
		// CPU, in a headless browser nobody types into.
		"--disable-features=Translate,MediaRouter,OptimizationHints,AutofillServerCommunication,BackForwardCache,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions,LensOverlay,SpareRendererForSitePerProcess,WebUIOmniboxPopup,WebUIOmniboxAimPopup,WebUIOmniboxFullPopup",
		"--metrics-recording-only",
		"--password-store=basic",
		"--use-mock-keychain",
		"--mute-audio",
		// Every page gets a proxy; nothing else should ever need DNS.
		// A context without one (or a bug) cannot reach the network directly.
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE " + proxyHost,
		fmt.Sprintf("--window-size=%d,%d", WindowWidth, WindowHeight),
		"--user-data-dir=" + profile,
		"--remote-debugging-port=0",
		"--remote-debugging-address=127.0.0.1",
	}
	if !show {
		args = append(args, "--headless")
	}
	// No start page: every page piv uses is made in a browser context of
	// its own, so the default window's about:blank tab would only cost a
	// renderer (measured: ~200-270 ms, 250 MiB, three processes).
	return append(args, "--no-startup-window")
}

var devToolsLine = regexp.MustCompile(`DevTools listening on (ws://\S+)`)

// scanDevTools reads the browser's stderr: the first DevTools line gives the
// endpoint; everything is kept (tail) for error messages and drained until
// the process exits so the browser never blocks on a full pipe.
func scanDevTools(r io.Reader, tail *tailBuffer, extra io.Writer, found chan<- string) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sent := false
	for sc.Scan() {
		line := sc.Bytes()
		tail.Write(append(line, '\n'))
		if extra != nil {
			_, _ = extra.Write(append(line, '\n'))
		}
		if !sent {
			if m := devToolsLine.FindSubmatch(line); m != nil {
				found <- string(m[1])
				sent = true
			}
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// FindBin resolves the browser binary: explicit, then $PIV_BROWSER, then the
// usual Chromium locations. It never downloads anything; when nothing is
// found the error wraps ErrNoBrowser and says what was looked for.
func FindBin(explicit string) (string, error) {
	check := func(p, from string) (string, error) {
		path, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%w: %s %q not found or not executable: %v; %s", ErrNoBrowser, from, p, err, InstallHint)
		}
		return path, nil
	}
	if explicit != "" {
		return check(explicit, "browser binary")
	}
	if env := os.Getenv(EnvBrowser); env != "" {
		return check(env, "$"+EnvBrowser)
	}
	for _, p := range defaultPaths {
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	for _, n := range defaultNames {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: looked for $%s (unset), %s, and %s on PATH; %s", ErrNoBrowser, EnvBrowser,
		strings.Join(defaultPaths, ", "), strings.Join(defaultNames, ", "), InstallHint)
}

// resolveDevTools turns an http://host:port DevTools address into the
// browser's WebSocket URL; ws:// URLs are used as given.
func resolveDevTools(ctx context.Context, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	switch u.Scheme {
	case "ws", "wss":
		return raw, nil
	case "http", "https":
	default:
		return "", fmt.Errorf("unsupported scheme %q (want ws://, wss://, http:// or https://)", u.Scheme)
	}
	u.Path, u.RawQuery = "/json/version", ""
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return "", err
	}
	res, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var v struct {
		WS string `json:"webSocketDebuggerUrl"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 1<<20)).Decode(&v); err != nil || v.WS == "" {
		return "", fmt.Errorf("%s: no webSocketDebuggerUrl (HTTP %d)", u, res.StatusCode)
	}
	return v.WS, nil
}

// Close ends the browser: a launched one is killed with its whole process
// group (renderers and helpers included) and its temporary directory
// removed. There is no graceful Browser.close first: the profile is thrown
// away anyway, and a graceful shutdown costs about half a second. For a
// remote browser, only the contexts this Browser created are disposed.
// Calling Close again returns the first result.
func (b *Browser) Close() error {
	b.once.Do(func() {
		b.mu.Lock()
		b.closed = true
		proxies := b.contexts
		b.contexts = nil
		b.mu.Unlock()

		var errs []error
		if b.cmd == nil && b.rod != nil { // remote: leave the browser, take our contexts away
			for id := range proxies {
				ctx, cancel := context.WithTimeout(context.Background(), CloseTimeout)
				_ = proto.TargetDisposeBrowserContext{BrowserContextID: id}.Call(b.rod.Context(ctx))
				cancel()
			}
		}
		for _, p := range proxies {
			p.Close()
		}
		if b.cancel != nil {
			b.cancel()
		}
		if b.cmd != nil {
			b.kill()
			killStragglers(b.dir)
			if err := removeProfileDir(b.dir); err != nil {
				errs = append(errs, fmt.Errorf("browser: removing %s: %w", b.dir, err))
			}
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// kill sends SIGKILL to the browser's process group (helpers included) and
// waits for the browser process itself.
func (b *Browser) kill() {
	if b.cmd == nil || b.cmd.Process == nil {
		return
	}
	pid := b.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	_ = b.cmd.Process.Kill()
	select {
	case <-b.exited:
	case <-time.After(CloseTimeout):
	}
}

func withoutEnv(env []string, names ...string) []string {
	out := env[:0:0]
next:
	for _, kv := range env {
		for _, n := range names {
			if strings.HasPrefix(kv, n+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = t.buf[len(t.buf)-t.max:]
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(bytes.TrimSpace(t.buf))
}
