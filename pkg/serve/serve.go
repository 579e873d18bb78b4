// Package serve is the gate over HTTP (`piv serve`): POST /v1/gates for
// callers that read gate.json (Argo Rollouts' web metric provider), POST
// /v1/flagger for Flagger's webhooks, GET /healthz and GET /metrics.
//
// Each gate runs as its own `piv run` child process: Ginkgo runs once per
// process, a misbehaving suite cannot take the server down, and the child's
// exit code is the same contract pipelines script against. The server only
// authenticates, bounds, validates, limits and maps; the verdict is the
// child's (decided by gate.Decide), and whatever the server cannot vouch for
// is inconclusive, never pass.
package serve

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/report"
)

// Options configure a Server. The CLI fills them from piv serve's flags.
type Options struct {
	Exe             string // piv's own executable: what runs each gate
	ConfigDir       string // app definitions (passed to the child as --config)
	ReportsDir      string // each gate's reports go to ReportsDir/APP/RUN-ID/
	RemediationsDir string // where "remediation" names a record; empty: none allowed
	// Token is the bearer token callers must send. Empty means no
	// authentication, which the CLI allows on loopback only.
	Token []byte
	// FlaggerMetadataToken names a Flagger metadata key that may carry the
	// token instead of the Authorization header (Flagger cannot send
	// headers). Empty: header only.
	FlaggerMetadataToken string
	MaxConcurrent        int           // gates at once; beyond: 503 with Retry-After
	MaxBody              int64         // request body bound in bytes; beyond: 413
	RunTimeout           time.Duration // each gate's --timeout
	// KillGrace is how long an interrupted child has to write its
	// inconclusive gate.json before its process group is killed.
	KillGrace time.Duration
	// Check validates a request against the app definitions before anything
	// runs, with `piv run`'s own messages; it returns a *RequestError (see
	// NotFound and Usage). Nil: the child's exit 2 is the only check.
	Check    func(Gate) error
	ChildEnv []string  // the children's environment (secrets for the suites)
	Log      io.Writer // one line per gate and per refusal; never a token
}

// Server serves gates. Create it with New.
type Server struct {
	opt     Options
	slots   chan struct{}
	mu      sync.Mutex
	busy    map[string]bool
	m       *metrics
	base    context.Context
	stop    context.CancelFunc
	running sync.WaitGroup
	closing bool
}

// New checks o and returns a Server.
func New(o Options) (*Server, error) {
	if o.Exe == "" || o.ConfigDir == "" || o.ReportsDir == "" {
		return nil, errors.New("serve: Exe, ConfigDir and ReportsDir are required")
	}
	if o.MaxConcurrent < 1 {
		return nil, errors.New("serve: MaxConcurrent must be at least 1")
	}
	if o.MaxBody < 1 || o.RunTimeout <= 0 || o.KillGrace <= 0 {
		return nil, errors.New("serve: MaxBody, RunTimeout and KillGrace must be positive")
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Server{opt: o, slots: make(chan struct{}, o.MaxConcurrent), busy: map[string]bool{}, m: newMetrics(), base: ctx, stop: cancel}, nil
}

// Handler is the HTTP API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/gates", s.handleGates)
	mux.HandleFunc("/v1/flagger", s.handleFlagger)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			methodNotAllowed(w, "GET, HEAD")
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.Handle("/metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	if len(s.opt.Token) > 0 {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e := localOnly(r); e != nil {
			s.refuse(w, "forbidden", e)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Interrupt stops taking gates and interrupts the running ones: each child
// gets SIGTERM, writes an inconclusive gate.json, and its caller gets that
// answer. Children that do not stop within KillGrace are killed.
func (s *Server) Interrupt() {
	s.mu.Lock()
	s.closing = true
	s.mu.Unlock()
	s.stop()
}

// Wait returns when no gate is running any more (every child reaped).
func (s *Server) Wait() { s.running.Wait() }

func (s *Server) logf(format string, a ...any) {
	fmt.Fprintf(s.opt.Log, "piv serve: "+format+"\n", a...)
}

// refuse answers an error before any gate ran.
func (s *Server) refuse(w http.ResponseWriter, reason string, e *RequestError) {
	s.m.refused.WithLabelValues(reason).Inc()
	s.logf("refused (%s): %d %s", reason, e.Status, e.Msg)
	writeJSONError(w, e.Status, e.Msg)
}

func writeJSONError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Write(append(b, '\n'))
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSONError(w, http.StatusMethodNotAllowed, "method not allowed (allowed: "+allow+")")
}

// authorized compares the caller's token in constant time (over SHA-256
// digests, so not even the length leaks). extra is a token from the body
// (Flagger's metadata), tried only when the header is absent.
func (s *Server) authorized(r *http.Request, extra string) bool {
	if len(s.opt.Token) == 0 {
		return true
	}
	got := ""
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		got = strings.TrimSpace(tok)
	} else {
		got = extra
	}
	if got == "" {
		return false
	}
	a, b := sha256.Sum256([]byte(got)), sha256.Sum256(s.opt.Token)
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

func (s *Server) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="piv"`)
	s.refuse(w, "unauthorized", &RequestError{Status: http.StatusUnauthorized, Msg: "missing or wrong bearer token (Authorization: Bearer TOKEN)"})
}

// readBody reads a bounded body: 413 beyond MaxBody.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	tooLarge := &RequestError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("request body larger than %d bytes", s.opt.MaxBody)}
	if r.ContentLength > s.opt.MaxBody {
		s.refuse(w, "too_large", tooLarge)
		return nil, false
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opt.MaxBody))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		s.refuse(w, "too_large", tooLarge)
		return nil, false
	case err != nil:
		s.refuse(w, "malformed", badRequest("reading the request body: %v", err))
		return nil, false
	}
	return b, true
}

func (s *Server) handleGates(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	if !s.authorized(r, "") {
		s.unauthorized(w)
		return
	}
	if e := jsonContent(r); e != nil {
		s.refuse(w, "unsupported_media_type", e)
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	g, rerr := parseGateBody(body)
	if rerr != nil {
		s.refuse(w, "malformed", rerr)
		return
	}
	o, ok := s.gate(w, r, g)
	if !ok {
		return
	}
	// Every verdict is 200 with gate.json: Argo Rollouts' web provider
	// treats a non-2xx answer as an error, not as a measurement, and tells
	// pass, fail and inconclusive apart with successCondition and
	// failureCondition on $.verdict.
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Piv-Verdict", string(o.res.Verdict))
	w.Header().Set("Server-Timing", serverTiming(o))
	w.WriteHeader(http.StatusOK)
	w.Write(o.body)
}

func (s *Server) handleFlagger(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		methodNotAllowed(w, "POST")
		return
	}
	// With the token in the metadata, the body must be read before the
	// caller is known: it is still bounded, and nothing runs unauthenticated.
	if s.opt.FlaggerMetadataToken == "" || r.Header.Get("Authorization") != "" {
		if !s.authorized(r, "") {
			s.unauthorized(w)
			return
		}
	}
	if e := jsonContent(r); e != nil {
		s.refuse(w, "unsupported_media_type", e)
		return
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	g, fb, token, rerr := parseFlaggerBody(body, s.opt.FlaggerMetadataToken)
	if s.opt.FlaggerMetadataToken != "" && r.Header.Get("Authorization") == "" && !s.authorized(r, token) {
		s.unauthorized(w)
		return
	}
	if rerr != nil {
		s.refuse(w, "malformed", rerr)
		return
	}
	o, ok := s.gate(w, r, g)
	if !ok {
		return
	}
	// Flagger reads only the status: 2xx advances the canary, anything else
	// counts as a failed check, and the body goes into its events: keep it
	// short.
	status := http.StatusOK
	switch o.res.Verdict {
	case gate.Pass:
	case gate.Fail:
		status = http.StatusPreconditionFailed
	default:
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Piv-Verdict", string(o.res.Verdict))
	w.Header().Set("Server-Timing", serverTiming(o))
	w.WriteHeader(status)
	line := strings.ToUpper(string(o.res.Verdict))
	if o.res.Reason != "" {
		line += ": " + o.res.Reason
	}
	fmt.Fprintf(w, "%s (canary %s/%s, phase %s, run %s)\n", line, fb.Namespace, fb.Name, fb.Phase, o.res.RunID)
}

// gate validates g against the app definitions, takes its target's lock
// and a slot, runs it, and records it. false: the answer was already
// written (a refusal).
func (s *Server) gate(w http.ResponseWriter, r *http.Request, g Gate) (outcome, bool) {
	if g.Remediation != "" {
		if s.opt.RemediationsDir == "" {
			s.refuse(w, "usage", badRequest("remediation %q: this server has no --remediations folder", g.Remediation))
			return outcome{}, false
		}
		if _, err := os.Stat(filepath.Join(s.opt.RemediationsDir, g.Remediation)); err != nil {
			s.refuse(w, "not_found", &RequestError{Status: http.StatusNotFound, Msg: fmt.Sprintf("remediation %q: no such record in %s", g.Remediation, s.opt.RemediationsDir)})
			return outcome{}, false
		}
	}
	if s.opt.Check != nil {
		if err := s.opt.Check(g); err != nil {
			var re *RequestError
			if !errors.As(err, &re) {
				re = badRequest("%v", err)
			}
			reason := "usage"
			if re.Status == http.StatusNotFound {
				reason = "not_found"
			}
			s.refuse(w, reason, re)
			return outcome{}, false
		}
	}
	key := g.App + "\x00" + g.Scope + "\x00" + g.Node
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		w.Header().Set("Retry-After", "30")
		s.refuse(w, "shutting_down", &RequestError{Status: http.StatusServiceUnavailable, Msg: "piv serve is shutting down"})
		return outcome{}, false
	}
	if s.busy[key] {
		s.mu.Unlock()
		s.refuse(w, "busy", &RequestError{Status: http.StatusConflict, Msg: fmt.Sprintf("a gate for %s %s is already running: one at a time per app and target", g.App, g.Target())})
		return outcome{}, false
	}
	select {
	case s.slots <- struct{}{}:
	default:
		s.mu.Unlock()
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter(s.opt.RunTimeout)))
		s.refuse(w, "overloaded", &RequestError{Status: http.StatusServiceUnavailable, Msg: fmt.Sprintf("%d gates are running, the most this server runs at once: retry later", s.opt.MaxConcurrent)})
		return outcome{}, false
	}
	s.busy[key] = true
	s.running.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.busy, key)
		s.mu.Unlock()
		<-s.slots
		s.running.Done()
	}()

	started := time.Now()
	dir, err := report.Dir(s.opt.ReportsDir, g.App, report.RunID(started, g.App, g.Scope, g.Node))
	s.m.running.Inc()
	defer s.m.running.Dec()
	var o outcome
	if err != nil {
		// No folder, no evidence: the gate cannot start.
		o = outcome{dir: ""}
		res := &gate.Result{Schema: gate.Schema, App: g.App, ExpectedVersion: g.ExpectVersion, StartedAt: started.UTC(),
			Target: gate.Target{Scope: g.Scope, Node: g.Node}, Checks: []gate.Check{}}
		gate.Decide(res, gate.Policy{}, fmt.Sprintf("the gate could not start: report folder: %v", err))
		b, _ := report.JSON(res)
		o.res, o.body = res, b
	} else {
		// The caller going away (or the server stopping) interrupts the
		// gate: nobody would read its answer, and the target's lock frees.
		// The child bounds its own run (--timeout); the server's bound
		// behind it catches a child that does not.
		ctx, cancel := context.WithTimeout(r.Context(), s.opt.RunTimeout+2*s.opt.KillGrace)
		stop := context.AfterFunc(s.base, cancel)
		childStart := time.Now()
		o = s.runChild(ctx, g, dir, started)
		o.childTime = time.Since(childStart)
		stop()
		cancel()
	}
	if o.usage != nil {
		// Nothing ran: no report folder is left to be taken for a gate.
		if _, err := os.Stat(filepath.Join(dir, "gate.json")); err != nil {
			os.RemoveAll(dir)
		}
		s.refuse(w, "usage", o.usage)
		return outcome{}, false
	}
	if dir != "" {
		dir = s.matchFolder(dir, o.res.RunID, report.RunID(started, g.App, g.Scope, g.Node))
	}
	el := time.Since(started)
	s.m.observe(g, o.res.Verdict, el.Seconds(), float64(time.Now().Unix()))
	s.logf("gate %s %s: %s in %.2fs (run %s, report %s)", g.App, g.Target(), o.res.Verdict, el.Seconds(), o.res.RunID, dir)
	return o, true
}

// runIDElem is what a run id must look like to name a folder.
var (
	runIDElem = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)
	runTime   = regexp.MustCompile(`^[0-9]{8}T[0-9]{6}Z$`)
)

// matchFolder makes the gate's report folder carry its runId. The server
// names the folder (unique, by report.Dir) from its own clock before the
// child starts; the child names the run from its clock when it prepares,
// which may be the next second under load: then the folder is renamed to
// the child's runId, which no other folder holds (one gate per app and
// target at a time, and the id names both), so evidence, merge and the
// caller find the run under the id it carries. A name that is already taken
// is left alone and logged: renaming over another run's evidence would be
// worse. See the report of the R2 fix for the Prepare rule that makes the
// child take the folder's name instead, whatever the second.
func (s *Server) matchFolder(dir, runID, ours string) string {
	if runID == "" || runID == filepath.Base(dir) || !runIDElem.MatchString(runID) {
		return dir
	}
	// Only a run id of this gate at another second: TIME-app-scope[-node],
	// the same after the time as the one the folder was named from.
	_, want, _ := strings.Cut(ours, "-")
	t, rest, ok := strings.Cut(runID, "-")
	if !ok || rest != want || !runTime.MatchString(t) {
		return dir
	}
	to := filepath.Join(filepath.Dir(dir), runID)
	if _, err := os.Lstat(to); err == nil {
		s.logf("run %s: report folder %s keeps its name: %s already exists", runID, dir, to)
		return dir
	}
	if err := os.Rename(dir, to); err != nil {
		s.logf("run %s: report folder %s could not be renamed to its runId: %v", runID, dir, err)
		return dir
	}
	return to
}

// serverTiming names the child's share of the answer (W3C Server-Timing),
// so a caller can tell the gate's own time from what the server added.
func serverTiming(o outcome) string {
	return fmt.Sprintf("gate;desc=\"piv run\";dur=%.1f", float64(o.childTime.Microseconds())/1000)
}

// retryAfter suggests when a slot may be free: a fraction of a run's bound,
// between 5 s and 60 s.
func retryAfter(run time.Duration) int {
	s := int(run.Seconds() / 10)
	if s < 5 {
		return 5
	}
	if s > 60 {
		return 60
	}
	return s
}
