package remediation

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/piv-gate/piv/pkg/jsondup"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/tidwall/gjson"

	"github.com/piv-gate/piv/pkg/target"
)

// Item is one thing the record says must hold on every target. Key is stable
// across runs: it is how `piv evidence` matches a gate's checks to the record.
type Item struct {
	Key  string // "component openssl", "tls 1.1", "header Strict-Transport-Security", "refused /debug/vars"
	Kind string // component, tls, header, refused
	Desc string // what must hold, for the check's name
	Line int    // in the record file

	comp    *Component
	tls     string
	header  string
	want    string
	refused *Refused
}

// Items lists the record's checks in a fixed order.
func (r *Record) Items() []Item {
	var out []Item
	for i := range r.Fixed.Components {
		c := &r.Fixed.Components[i]
		src := c.Path + " " + c.JSON
		if c.Header != "" {
			src = c.Path + " header " + c.Header
		}
		out = append(out, Item{Key: "component " + c.Name, Kind: "component", comp: c,
			Desc: fmt.Sprintf("component %s %s (%s, from %s)", c.Name, c.Version, c.Scheme, src),
			Line: r.Line("fixed", "components", fmt.Sprint(i))})
	}
	if r.Fixed.TLS != nil {
		for i, v := range r.Fixed.TLS.Refuse {
			out = append(out, Item{Key: "tls " + v, Kind: "tls", tls: v, Desc: "tls " + v + " is refused",
				Line: r.Line("fixed", "tls", "refuse", fmt.Sprint(i))})
		}
	}
	hs := make([]string, 0, len(r.Fixed.Headers))
	for h := range r.Fixed.Headers {
		hs = append(hs, h)
	}
	sort.Strings(hs)
	for _, h := range hs {
		w := r.Fixed.Headers[h]
		d := fmt.Sprintf("header %s is %s", h, w)
		if w != "present" && w != "absent" {
			d = fmt.Sprintf("header %s is %q", h, w)
		}
		out = append(out, Item{Key: "header " + h, Kind: "header", header: h, want: w, Desc: d,
			Line: r.Line("fixed", "headers", h)})
	}
	for i := range r.Fixed.Refused {
		p := &r.Fixed.Refused[i]
		out = append(out, Item{Key: "refused " + p.Path, Kind: "refused", refused: p,
			Desc: fmt.Sprintf("path %s is refused (%s)", p.Path, statusList(p.Status)),
			Line: r.Line("fixed", "refused", fmt.Sprint(i))})
	}
	return out
}

// HeadersPath is where headers are read: the service's front page, what a
// customer's browser gets first.
const HeadersPath = "/"

// TLSFact is one handshake offered with exactly one protocol version.
type TLSFact struct {
	Version string // asked for, "1.1"
	// Offered: the server completed a handshake at this version (or sent
	// its certificate at it): the old protocol is still served.
	Offered bool
	// Refused: the server answered with a TLS alert or closed the
	// connection during the handshake.
	Refused bool
	Detail  string // alert, error or negotiated cipher, for the evidence
}

// Facts are what one target showed, gathered once for every item.
type Facts struct {
	Target   target.Target
	HTTP     map[string]HTTPFact // by path
	TLS      map[string]TLSFact  // by version
	Baseline TLSFact             // a normal handshake (Version ""): proves the target speaks TLS at all
}

// HTTPFact is one GET: status, headers and a bounded body.
type HTTPFact struct {
	Status int
	Header http.Header
	Body   []byte
	Err    string
}

// JSON reads a gjson path from the body.
func (f HTTPFact) JSON(path string) gjson.Result { return gjson.GetBytes(f.Body, path) }

// maxBody bounds what is read of an answer: version documents are small.
const maxBody = 256 << 10

func fetch(ctx context.Context, c *http.Client, url string) HTTPFact {
	ctx, cancel := context.WithTimeout(ctx, target.ResponseHeader+target.ConnectTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return HTTPFact{Err: err.Error()}
	}
	resp, err := c.Do(req)
	if err != nil {
		return HTTPFact{Err: err.Error()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	f := HTTPFact{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if err != nil {
		f.Err = "reading body: " + err.Error()
	}
	return f
}

// Gather fetches every path the record needs and offers each protocol
// version to refuse, concurrently, bounded by ctx.
func Gather(ctx context.Context, r *Record, t target.Target) *Facts {
	f := &Facts{Target: t, HTTP: map[string]HTTPFact{}, TLS: map[string]TLSFact{}}
	paths := map[string]bool{}
	for _, c := range r.Fixed.Components {
		paths[c.Path] = true
	}
	if len(r.Fixed.Headers) > 0 {
		paths[HeadersPath] = true
	}
	for _, p := range r.Fixed.Refused {
		paths[p.Path] = true
	}
	client := t.HTTPClient(nil)
	// A refused path answers a redirect to a login page as often as a 401:
	// judge the first answer, not where it leads.
	noRedirect := t.HTTPClient(nil)
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	refusedPath := map[string]bool{}
	for _, p := range r.Fixed.Refused {
		refusedPath[p.Path] = true
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for p := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := client
			if refusedPath[p] {
				c = noRedirect
			}
			hf := fetch(ctx, c, t.URLFor(p))
			mu.Lock()
			f.HTTP[p] = hf
			mu.Unlock()
		}()
	}
	if r.Fixed.TLS != nil && t.URL.Scheme == "https" {
		wg.Add(1)
		go func() { defer wg.Done(); f.Baseline = offerTLS(ctx, t, "") }()
		for _, v := range r.Fixed.TLS.Refuse {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tf := offerTLS(ctx, t, v)
				mu.Lock()
				f.TLS[v] = tf
				mu.Unlock()
			}()
		}
	}
	wg.Wait()
	return f
}

var tlsIDs = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

// offerTLS offers only version v, with the target's SNI and trust. A server
// that still speaks v answers with its ServerHello at v; one that refuses it
// sends protocol_version (or closes). The certificate is verified as always;
// a verification failure at v still means v was offered.
func offerTLS(ctx context.Context, t target.Target, v string) TLSFact {
	f := TLSFact{Version: v}
	d := net.Dialer{Timeout: target.ConnectTimeout}
	raw, err := d.DialContext(ctx, "tcp", t.DialAddress())
	if err != nil {
		f.Detail = "connect: " + err.Error()
		return f
	}
	defer raw.Close()
	cfg := t.TLSConfig()
	if v != "" {
		cfg.MinVersion, cfg.MaxVersion = tlsIDs[v], tlsIDs[v]
	}
	hctx, cancel := context.WithTimeout(ctx, target.TLSHandshake)
	defer cancel()
	conn := tls.Client(raw, cfg)
	err = conn.HandshakeContext(hctx)
	st := conn.ConnectionState()
	if err == nil {
		f.Offered = true
		f.Detail = "handshake completed at " + tls.VersionName(st.Version) + " (" + tls.CipherSuiteName(st.CipherSuite) + ")"
		if v == "" {
			f.Version = strings.TrimPrefix(tls.VersionName(st.Version), "TLS ")
		}
		return f
	}
	var alert tls.AlertError
	var op *net.OpError
	var cert *tls.CertificateVerificationError
	switch {
	case v != "" && (errors.As(err, &cert) || st.Version == tlsIDs[v]):
		f.Offered = true
		f.Detail = "server negotiated TLS " + v + " (certificate: " + err.Error() + ")"
	case errors.As(err, &op) && op.Op == "remote error", errors.As(err, &alert):
		// crypto/tls reports the peer's alert as a "remote error" OpError.
		f.Refused = true
		f.Detail = "server sent alert: " + err.Error()
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		f.Refused = true
		f.Detail = "server closed the connection during the handshake"
	default:
		f.Detail = "handshake: " + err.Error()
	}
	return f
}

// Outcome is one item judged on one target.
type Outcome struct {
	Item     Item
	Pass     bool
	Message  string         // on failure: expected and seen
	Observed map[string]any // what was seen, on pass as on failure
}

// Evaluate judges every item on the facts of one target. Nothing passes by
// absence: a component the endpoint does not report, a path that could not
// be fetched, a target that does not speak TLS at all, all fail.
func Evaluate(r *Record, f *Facts) []Outcome {
	var out []Outcome
	for _, it := range r.Items() {
		o := Outcome{Item: it, Observed: map[string]any{"remediation": r.ID, "item": it.Key, "target": f.Target.Name}}
		where := f.Target.Where()
		switch it.Kind {
		case "component":
			judgeComponent(&o, it.comp, f.HTTP[it.comp.Path], where)
		case "tls":
			judgeTLS(&o, it.tls, f, where)
		case "header":
			judgeHeader(&o, it.header, it.want, f.HTTP[HeadersPath], where)
		case "refused":
			judgeRefused(&o, it.refused, f.HTTP[it.refused.Path], where)
		}
		out = append(out, o)
	}
	return out
}

func judgeComponent(o *Outcome, c *Component, hf HTTPFact, where string) {
	o.Observed["component"] = c.Name
	o.Observed["expected"] = c.Version
	o.Observed["scheme"] = c.Scheme
	o.Observed["path"] = c.Path
	o.Observed["status"] = hf.Status
	fail := func(format string, a ...any) {
		o.Message = fmt.Sprintf("component %s on %s: expected %s (%s), ", c.Name, where, c.Version, c.Scheme) + fmt.Sprintf(format, a...)
	}
	if hf.Err != "" {
		fail("seen nothing: GET %s failed: %s", c.Path, hf.Err)
		return
	}
	if hf.Status < 200 || hf.Status > 299 {
		fail("seen nothing: GET %s answered %d", c.Path, hf.Status)
		return
	}
	var seen string
	if c.Header != "" {
		o.Observed["header"] = c.Header
		vals := hf.Header.Values(c.Header)
		if len(vals) == 0 {
			fail("seen nothing: %s has no %s header (a component that is not reported is not fixed)", c.Path, c.Header)
			return
		}
		seen = strings.Join(vals, ", ")
	} else {
		o.Observed["json"] = c.JSON
		if d, _ := jsondup.Find(hf.Body); d != nil {
			fail("seen an ambiguous document: %v (parsers disagree on which value counts)", d)
			return
		}
		v := hf.JSON(c.JSON)
		if !v.Exists() || v.String() == "" {
			fail("seen nothing: %s does not report %s (a component that is not reported is not fixed)", c.Path, c.JSON)
			return
		}
		seen = v.String()
	}
	if c.pattern != nil {
		m := c.pattern.FindStringSubmatch(seen)
		if m == nil || m[1] == "" {
			o.Observed["raw"] = seen
			fail("seen %q, which does not match pattern %s", seen, c.pattern)
			return
		}
		o.Observed["raw"] = seen
		seen = m[1]
	}
	o.Observed["seen"] = seen
	ok, err := c.constraint.Check(seen)
	switch {
	case err != nil:
		fail("seen %q: %v", seen, err)
	case !ok:
		fail("seen %s", seen)
	default:
		o.Pass = true
	}
}

func judgeTLS(o *Outcome, v string, f *Facts, where string) {
	o.Observed["protocol"] = "TLS " + v
	o.Observed["expected"] = "refused"
	tf, ok := f.TLS[v]
	if f.Target.URL.Scheme != "https" {
		o.Message = fmt.Sprintf("tls %s on %s: expected refused, seen nothing: the service URL is %s, not https", v, where, f.Target.URL.Scheme)
		return
	}
	if !ok {
		o.Message = fmt.Sprintf("tls %s on %s: expected refused, seen nothing: no handshake was tried (run interrupted?)", v, where)
		return
	}
	o.Observed["detail"] = tf.Detail
	if f.Baseline.Offered {
		o.Observed["baseline"] = "TLS " + f.Baseline.Version
	}
	switch {
	case tf.Offered:
		o.Observed["seen"] = "offered"
		o.Message = fmt.Sprintf("tls %s on %s: expected refused, seen offered: %s", v, where, tf.Detail)
	case !tf.Refused:
		o.Observed["seen"] = "unknown"
		o.Message = fmt.Sprintf("tls %s on %s: expected refused, seen neither offered nor refused: %s", v, where, tf.Detail)
	case !f.Baseline.Offered:
		// A target that speaks no TLS at all "refuses" every version:
		// that proves nothing about the fix.
		o.Observed["seen"] = "refused"
		o.Message = fmt.Sprintf("tls %s on %s: expected refused while a normal handshake succeeds, seen no normal handshake either: %s", v, where, f.Baseline.Detail)
	default:
		o.Observed["seen"] = "refused"
		o.Pass = true
	}
}

func judgeHeader(o *Outcome, h, want string, hf HTTPFact, where string) {
	o.Observed["header"] = h
	o.Observed["expected"] = want
	o.Observed["path"] = HeadersPath
	o.Observed["status"] = hf.Status
	if hf.Err != "" || hf.Status == 0 {
		o.Message = fmt.Sprintf("header %s on %s: expected %s, seen nothing: GET %s failed: %s", h, where, want, HeadersPath, hf.Err)
		return
	}
	if hf.Status >= 500 {
		// An error page proves nothing about what the app sends.
		o.Message = fmt.Sprintf("header %s on %s: expected %s, seen nothing: GET %s answered %d", h, where, want, HeadersPath, hf.Status)
		return
	}
	vals := hf.Header.Values(h)
	seen := strings.Join(vals, ", ")
	if len(vals) == 0 {
		o.Observed["seen"] = "absent"
	} else {
		o.Observed["seen"] = seen
	}
	switch {
	case want == "present" && len(vals) > 0, want == "absent" && len(vals) == 0, want == seen:
		o.Pass = true
	case len(vals) == 0:
		o.Message = fmt.Sprintf("header %s on %s: expected %s, seen absent (GET %s answered %d)", h, where, want, HeadersPath, hf.Status)
	default:
		o.Message = fmt.Sprintf("header %s on %s: expected %s, seen %q", h, where, want, seen)
	}
}

func judgeRefused(o *Outcome, p *Refused, hf HTTPFact, where string) {
	o.Observed["path"] = p.Path
	o.Observed["expected"] = p.Status
	o.Observed["status"] = hf.Status
	if hf.Err != "" || hf.Status == 0 {
		// A node that does not answer at all has not shown the fix.
		o.Message = fmt.Sprintf("path %s on %s: expected refused (%s), seen no answer: %s", p.Path, where, statusList(p.Status), hf.Err)
		return
	}
	for _, s := range p.Status {
		if s == hf.Status {
			o.Observed["seen"] = "refused"
			o.Pass = true
			return
		}
	}
	o.Observed["seen"] = "open"
	o.Message = fmt.Sprintf("path %s on %s: expected refused (%s), seen %d", p.Path, where, statusList(p.Status), hf.Status)
}

func statusList(ss []int) string {
	s := make([]string, len(ss))
	for i, v := range ss {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ", ")
}
