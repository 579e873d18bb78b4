// Package watch is piv's continuity sampler: it measures, during a rolling
// deployment, whether customers lost requests.
//
// The package keeps facts and judgement apart, like the rest of piv:
// sampler.go gathers samples (facts), outage.go turns them into intervals
// (pure bookkeeping), judge.go decides pass/fail/inconclusive, and report.go
// renders continuity.json and continuity.html as pure functions of the
// result.
//
// Each target is sampled by two streams, because a rollout breaks them in
// different ways: "fresh" opens a new connection per sample (what a new
// customer sees: refused connects while a node restarts, TLS failures with a
// wrong certificate) and "keepalive" reuses one connection (what an existing
// customer sees: resets and EOFs when a server closes connections it should
// have drained). Neither stream retries: net/http and browsers silently retry
// an idempotent request that fails on a reused connection, which would hide
// exactly the races a zero-downtime claim must rule out.
//
// Requests are plain HTTP/1.1 GETs written and read on the sampler's own
// connections (no proxy from the environment, no HTTP/2, redirects not
// followed: a 3xx is a success).
package watch

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// Defaults and hard bounds. Every loop in the sampler ends: sampling stops
// at Config.For or MaxDuration, each sample at its Timeout.
const (
	DefaultInterval = 50 * time.Millisecond
	// DefaultTimeout bounds one sample. One second, not a multiple of the
	// interval: a request that takes 700 ms is slow, not lost, and the
	// latency percentiles show it; a hang longer than a second is what a
	// customer would call an outage.
	DefaultTimeout = time.Second
	// MaxDuration bounds a run without --for (a forgotten watcher stops).
	MaxDuration = 24 * time.Hour
	// DefaultMaxSamples is how many per-sample records a stream keeps
	// (12 bytes each: 12 MiB per stream at most, 14.5 h at 50 ms). Beyond
	// it counts, outages and the verdict stay exact; only the chart and the
	// latency percentiles stop at the bound (Truncated).
	DefaultMaxSamples = 1 << 20
	// maxBody is how much of a response body is read; a longer body ends
	// the connection's reuse rather than the sample's success.
	maxBody = 1 << 20
)

// StreamKind names a sample stream.
type StreamKind int

const (
	Fresh     StreamKind = iota // a new connection per sample
	KeepAlive                   // one reused connection
	numStreams
)

func (s StreamKind) String() string {
	if s == Fresh {
		return "fresh"
	}
	return "keepalive"
}

// Config is what to sample and how.
type Config struct {
	Targets  []Target
	Interval time.Duration // between sample starts, per stream; DefaultInterval if 0
	Timeout  time.Duration // per sample, connect to last body byte; DefaultTimeout if 0
	// For ends sampling after this long; 0 means until ctx is cancelled.
	// Either way sampling ends at MaxDuration.
	For     time.Duration
	RootCAs *x509.CertPool // nil: the system roots
	// MaxInFlight caps concurrent samples per stream so a hanging target
	// cannot pile up goroutines and sockets; a tick that finds the cap
	// reached is counted as Skipped. 0: Timeout/Interval+2, within [2, 64].
	MaxInFlight int
	MaxSamples  int // per-sample records kept per stream; DefaultMaxSamples if 0
}

// Sample is the compact record of one sample (12 bytes): an hour at 50 ms
// on four streams is 3.5 MB.
type Sample struct {
	StartMs   uint32 // start, milliseconds after the run's start
	LatencyUs uint32 // start to last body byte (or to the failure), microseconds
	Kind      Kind
}

// Start is the sample's start offset from the run's start.
func (s Sample) Start() time.Duration { return time.Duration(s.StartMs) * time.Millisecond }

// Latency is the sample's duration.
func (s Sample) Latency() time.Duration { return time.Duration(s.LatencyUs) * time.Microsecond }

// OK reports whether the sample succeeded.
func (s Sample) OK() bool { return s.Kind == KindOK }

// StreamResult is what one stream observed.
type StreamResult struct {
	Stream StreamKind
	// Sent = OK + Failed: samples whose outcome is the target's.
	Sent, OK, Failed int
	// SamplerErrors: samples this machine could not send (no socket, no
	// buffer space, no local port). Never target failures.
	SamplerErrors     int
	SamplerErrorKinds map[string]int
	// Discarded: samples cut off by the sampler's own shutdown (SIGTERM
	// mid-request). They say nothing about the target.
	Discarded int
	// Skipped: ticks not sampled because MaxInFlight samples were still
	// running (the target is hanging; the running ones will time out and
	// be counted as failures).
	Skipped        int
	Samples        []Sample // start order, at most MaxSamples
	Truncated      bool     // more samples were taken than kept
	Outages        []Outage
	OutagesDropped int           // outages beyond the kept bound (still in Failed and Longest)
	Longest        time.Duration // longest outage, including dropped ones
	FirstOK        time.Duration // start of the first successful sample; -1 if none
}

// TargetResult is one target's streams.
type TargetResult struct {
	Target  Target
	Streams [numStreams]StreamResult
}

// Result is the facts of one run, before any judgement.
type Result struct {
	StartedAt time.Time
	Duration  time.Duration // from the first sample to the end of sampling
	Interval  time.Duration
	Timeout   time.Duration
	// Stopped is why sampling ended: "for" (the --for bound), "signal" (ctx
	// cancelled) or "max-duration".
	Stopped string
	Targets []TargetResult
}

// Sampler runs the streams of a Config. It is used once: New, Run, and
// meanwhile Snapshot from any goroutine.
type Sampler struct {
	cfg     Config
	streams []*stream
	t0      time.Time
	started chan struct{}
}

// New checks cfg and prepares the streams.
func New(cfg Config) (*Sampler, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("no targets")
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Interval < time.Millisecond {
		return nil, fmt.Errorf("interval %v: must be at least 1ms", cfg.Interval)
	}
	if cfg.Timeout < time.Millisecond {
		return nil, fmt.Errorf("timeout %v: must be at least 1ms", cfg.Timeout)
	}
	if cfg.For < 0 {
		return nil, fmt.Errorf("for %v: must not be negative", cfg.For)
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = min(max(int(cfg.Timeout/cfg.Interval)+2, 2), 64)
	}
	if cfg.MaxSamples <= 0 {
		cfg.MaxSamples = DefaultMaxSamples
	}
	s := &Sampler{cfg: cfg, started: make(chan struct{})}
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		if t.u == nil {
			pt, err := ParseTarget(t.URL)
			if err != nil {
				return nil, err
			}
			pt.Name, pt.Judged = t.Name, t.Judged
			if t.Address != "" {
				pt.Address, pt.Pinned = t.Address, t.Address != pt.Address || t.Pinned
			}
			*t = pt
		}
		for k := StreamKind(0); k < numStreams; k++ {
			st, err := newStream(s, i, k)
			if err != nil {
				return nil, err
			}
			s.streams = append(s.streams, st)
		}
	}
	return s, nil
}

// Run samples until ctx is cancelled, Config.For has elapsed, or
// MaxDuration; then it waits for samples in flight (each bounded by the
// timeout; those cut off by ctx are discarded) and returns the facts.
func (s *Sampler) Run(ctx context.Context) *Result {
	bound, why := MaxDuration, "max-duration"
	if s.cfg.For > 0 && s.cfg.For < bound {
		bound, why = s.cfg.For, "for"
	}
	stop := make(chan struct{})
	startedAt := time.Now()
	s.t0 = startedAt
	close(s.started)
	timer := time.AfterFunc(bound, func() { close(stop) })
	defer timer.Stop()

	var loops, samples sync.WaitGroup
	for _, st := range s.streams {
		loops.Add(1)
		go func() {
			defer loops.Done()
			st.loop(ctx, stop, &samples)
		}()
	}
	loops.Wait()
	end := time.Since(startedAt)
	stopped := why
	select {
	case <-stop:
	default:
		stopped = "signal"
	}
	samples.Wait()
	for _, st := range s.streams {
		st.closeIdle()
	}

	res := &Result{
		StartedAt: startedAt,
		Duration:  end,
		Interval:  s.cfg.Interval,
		Timeout:   s.cfg.Timeout,
		Stopped:   stopped,
	}
	for i, t := range s.cfg.Targets {
		tr := TargetResult{Target: t}
		for k := StreamKind(0); k < numStreams; k++ {
			tr.Streams[k] = s.streams[i*int(numStreams)+int(k)].result(end)
		}
		res.Targets = append(res.Targets, tr)
	}
	return res
}

// StreamSnapshot is a stream's live counters.
type StreamSnapshot struct {
	Sent, OK, Failed, SamplerErrors, Skipped, Outages int
	InOutage                                          bool
	Kinds                                             KindSet // every failure kind seen so far
}

// TargetSnapshot is a target's live counters.
type TargetSnapshot struct {
	Name    string
	Judged  bool
	Streams [numStreams]StreamSnapshot
}

// Snapshot is the live state of a run, for progress lines and for tests
// that wait on events ("the fresh stream has seen a refused connect")
// instead of sleeping.
type Snapshot struct {
	Elapsed time.Duration
	Targets []TargetSnapshot
}

// Snapshot returns the counters so far. Safe to call concurrently with Run.
func (s *Sampler) Snapshot() Snapshot {
	var snap Snapshot
	select {
	case <-s.started:
		snap.Elapsed = time.Since(s.t0)
	default:
	}
	for i, t := range s.cfg.Targets {
		ts := TargetSnapshot{Name: t.Name, Judged: t.Judged}
		for k := StreamKind(0); k < numStreams; k++ {
			ts.Streams[k] = s.streams[i*int(numStreams)+int(k)].snapshot()
		}
		snap.Targets = append(snap.Targets, ts)
	}
	return snap
}

// stream is one target's sample stream: a ticker launching samples, and the
// bookkeeping of their results in start order.
type stream struct {
	s       *Sampler
	kind    StreamKind
	target  *Target
	tlsConf *tls.Config // nil for http; full handshake, nothing cached
	// tlsResume resumes TLS sessions (fresh stream only): see fullEvery.
	tlsResume *tls.Config
	// fullEvery: one fresh sample in fullEvery does a full TLS handshake
	// with certificate verification, the others resume the session on
	// their new TCP connection. A full handshake costs this sampler about
	// 1.5 ms of CPU (ECDSA chain verification, key exchange); twenty a
	// second would alone exceed the 2%-of-a-core budget. Resumption still
	// proves what continuity needs (the node accepts connections and
	// completes TLS and HTTP on them), a restarted server rejects old
	// tickets and so gets full handshakes exactly when it matters, and a
	// full handshake at least once a second still catches a wrong
	// certificate within a second.
	fullEvery uint64
	reqHead   []byte // the request, rendered once
	req       *http.Request
	sem       chan struct{}  // in-flight cap
	idle      chan *liveConn // keepalive: idle connections (normally one)

	seq uint64 // next sequence number to launch; loop goroutine only

	mu        sync.Mutex
	next      uint64 // next sequence number to account
	pending   map[uint64]result
	tracker   Tracker
	samples   []Sample
	truncated bool
	counts    StreamSnapshot
	errKinds  map[string]int
	discarded int
	firstOK   time.Duration
}

type result struct {
	sample Sample
	out    outcome
	why    string
}

type liveConn struct {
	net.Conn
	raw net.Conn // the TCP connection under TLS (Conn itself for http)
	br  *bufio.Reader
}

func newStream(s *Sampler, i int, k StreamKind) (*stream, error) {
	t := &s.cfg.Targets[i]
	st := &stream{
		s:        s,
		kind:     k,
		target:   t,
		sem:      make(chan struct{}, s.cfg.MaxInFlight),
		pending:  map[uint64]result{},
		errKinds: map[string]int{},
		firstOK:  -1,
	}
	if k == KeepAlive {
		st.idle = make(chan *liveConn, s.cfg.MaxInFlight)
	}
	if t.u.Scheme == "https" {
		st.tlsConf = &tls.Config{
			ServerName: t.u.Hostname(),
			RootCAs:    s.cfg.RootCAs,
			NextProtos: []string{"http/1.1"},
			// Classical key exchange only: the default post-quantum hybrid
			// key share (ML-KEM-768) costs the sampler about a third of
			// its CPU per fresh connection and says nothing about
			// availability. A server that insists on it still works: the
			// handshake fails as "tls" and the report shows it.
			CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256, tls.CurveP384},
			// No ClientSessionCache here: a sample made with tlsConf does
			// a full handshake, as a new customer's would.
		}
		if k == Fresh {
			// Resumption for the fresh samples in between full ones (see
			// fullEvery): its own cache per stream, so a session of one
			// target is never offered to another (nodes share a name).
			st.fullEvery = uint64(max(time.Second/s.cfg.Interval, 1))
			if st.fullEvery > 1 {
				st.tlsResume = st.tlsConf.Clone()
				st.tlsResume.ClientSessionCache = tls.NewLRUClientSessionCache(1)
			}
		}
	}
	req, err := http.NewRequest(http.MethodGet, t.u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "piv-watch/1 ("+k.String()+")")
	req.Header.Set("X-Piv-Watch-Stream", k.String())
	req.Header.Set("Accept", "*/*")
	req.Close = k == Fresh
	var b bytes.Buffer
	if err := req.Write(&b); err != nil {
		return nil, err
	}
	st.reqHead, st.req = b.Bytes(), req
	return st, nil
}

func (st *stream) loop(ctx context.Context, stop <-chan struct{}, samples *sync.WaitGroup) {
	tick := time.NewTicker(st.s.cfg.Interval)
	defer tick.Stop()
	for {
		st.launch(ctx, samples)
		select {
		case <-ctx.Done():
			return
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

func (st *stream) launch(ctx context.Context, samples *sync.WaitGroup) {
	select {
	case st.sem <- struct{}{}:
	default:
		st.mu.Lock()
		st.counts.Skipped++
		st.mu.Unlock()
		return
	}
	start := time.Now()
	seq := st.seq
	st.seq++
	samples.Add(1)
	go func() {
		defer samples.Done()
		defer func() { <-st.sem }()
		k, out, why := st.do(ctx, seq, start.Add(st.s.cfg.Timeout))
		lat := time.Since(start)
		st.account(seq, result{
			sample: Sample{StartMs: uint32(start.Sub(st.s.t0) / time.Millisecond), LatencyUs: uint32(min(lat/time.Microsecond, 1<<32-1)), Kind: k},
			out:    out,
			why:    why,
		})
	}()
}

// account records a finished sample. Samples finish out of order (a refused
// connect beats a slow success started earlier), so results wait in pending
// until every earlier sample is in: the tracker sees start order.
func (st *stream) account(seq uint64, r result) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.pending[seq] = r
	for {
		r, ok := st.pending[st.next]
		if !ok {
			return
		}
		delete(st.pending, st.next)
		st.next++
		switch r.out {
		case discard:
			st.discarded++
			continue
		case samplerError:
			st.counts.SamplerErrors++
			if len(st.errKinds) < 16 {
				st.errKinds[r.why]++
			} else {
				st.errKinds["other"]++
			}
			continue
		}
		st.counts.Sent++
		if r.sample.Kind == KindOK {
			st.counts.OK++
			if st.firstOK < 0 {
				st.firstOK = r.sample.Start()
			}
		} else {
			st.counts.Failed++
			st.counts.Kinds = st.counts.Kinds.With(r.sample.Kind)
			if !st.tracker.InOutage() {
				st.counts.Outages++
			}
		}
		st.tracker.Add(r.sample.Start(), r.sample.Kind)
		st.counts.InOutage = st.tracker.InOutage()
		if len(st.samples) < st.s.cfg.MaxSamples {
			st.samples = append(st.samples, r.sample)
		} else {
			st.truncated = true
		}
	}
}

func (st *stream) snapshot() StreamSnapshot {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.counts
}

func (st *stream) result(end time.Duration) StreamResult {
	st.mu.Lock()
	defer st.mu.Unlock()
	outages, dropped, longest := st.tracker.Finish(end)
	kinds := make(map[string]int, len(st.errKinds))
	for k, v := range st.errKinds {
		kinds[k] = v
	}
	return StreamResult{
		Stream:            st.kind,
		Sent:              st.counts.Sent,
		OK:                st.counts.OK,
		Failed:            st.counts.Failed,
		SamplerErrors:     st.counts.SamplerErrors,
		SamplerErrorKinds: kinds,
		Discarded:         st.discarded,
		Skipped:           st.counts.Skipped,
		Samples:           st.samples,
		Truncated:         st.truncated,
		Outages:           outages,
		OutagesDropped:    dropped,
		Longest:           longest,
		FirstOK:           st.firstOK,
	}
}

// do takes one sample and says what happened.
func (st *stream) do(ctx context.Context, seq uint64, deadline time.Time) (Kind, outcome, string) {
	var c *liveConn
	if st.kind == KeepAlive {
		c = st.takeIdle()
	}
	if c == nil {
		var (
			ph  phase
			err error
		)
		conf := st.tlsConf
		if st.tlsResume != nil && seq%st.fullEvery != 0 {
			conf = st.tlsResume
		}
		c, ph, err = st.connect(ctx, conf, deadline)
		if err != nil {
			return classify(ctx, ph, err)
		}
	}
	// The sampler's shutdown interrupts I/O at once; classify then sees
	// ctx cancelled and discards the sample.
	stopAbort := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	k, reusable, err := st.roundTrip(c, deadline)
	aborted := !stopAbort()
	if err != nil || aborted {
		c.Close()
		if err == nil {
			err = context.Canceled
		}
		return classify(ctx, phaseHTTP, err)
	}
	if st.kind == KeepAlive && reusable {
		st.putIdle(c)
	} else {
		c.Close()
	}
	return k, targetFailure, ""
}

func (st *stream) connect(ctx context.Context, conf *tls.Config, deadline time.Time) (*liveConn, phase, error) {
	d := net.Dialer{Deadline: deadline, KeepAlive: -1}
	raw, err := d.DialContext(ctx, "tcp", st.target.Address)
	if err != nil {
		return nil, phaseDial, err
	}
	conn := raw
	if conf != nil {
		tc := tls.Client(raw, conf)
		hctx, cancel := context.WithDeadline(ctx, deadline)
		err := tc.HandshakeContext(hctx)
		cancel()
		if err != nil {
			raw.Close()
			return nil, phaseTLS, err
		}
		conn = tc
	}
	return &liveConn{Conn: conn, raw: raw, br: bufio.NewReaderSize(conn, 4096)}, phaseHTTP, nil
}

func (st *stream) roundTrip(c *liveConn, deadline time.Time) (k Kind, reusable bool, err error) {
	if err := c.SetDeadline(deadline); err != nil {
		return KindOther, false, err
	}
	if _, err := c.Write(st.reqHead); err != nil {
		return KindOther, false, err
	}
	resp, err := http.ReadResponse(c.br, st.req)
	if err != nil {
		return KindOther, false, err
	}
	n, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	resp.Body.Close()
	if err != nil {
		return KindOther, false, err
	}
	return statusKind(resp.StatusCode), !resp.Close && n < maxBody, nil
}

// takeIdle returns an idle keepalive connection that the server has not
// closed, or nil. A connection the server closed while idle (FIN or RST
// already received) is not a failure: every client notices that before it
// sends, so it is dropped and a new one is dialled.
func (st *stream) takeIdle() *liveConn {
	for {
		select {
		case c := <-st.idle:
			if c.br.Buffered() == 0 && !peerClosed(c.raw) {
				return c // nothing to read: alive
			}
			c.Close() // EOF, reset, or unsolicited bytes
		default:
			return nil
		}
	}
}

func (st *stream) putIdle(c *liveConn) {
	select {
	case st.idle <- c:
	default:
		c.Close()
	}
}

func (st *stream) closeIdle() {
	if st.idle == nil {
		return
	}
	for {
		select {
		case c := <-st.idle:
			c.Close()
		default:
			return
		}
	}
}
