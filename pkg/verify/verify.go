// Package verify judges gathered facts against an app definition. Each
// function is pure: facts in, nil or an error whose text says what was
// expected, what was seen, and where. The technical suite asserts on these;
// settling uses Health. Nothing here does I/O.
package verify

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"mime"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/jsondup"
	"github.com/piv-gate/piv/pkg/probe"
	"github.com/piv-gate/piv/pkg/target"
)

const bodyExcerpt = 300

// Port: the port accepted a TCP connection.
func Port(f probe.TCPFact, port int, t target.Target) error {
	if f.Connected {
		return nil
	}
	return fmt.Errorf("port %d on %s: expected to accept TCP connections, got: %s", port, where(t, f.Addr), f.Err)
}

// Health: a whole answer, the expected status and, when the definition
// names JSON expectations, a JSON body (by Content-Type and as a whole
// document) holding every expected value. Nothing is judged on part of a
// body: an answer cut short, over the size bound, or of another kind (an
// HTML maintenance page that embeds {"status":"UP"}) fails with what was
// seen.
func Health(f probe.HTTPFact, h *config.Health, t target.Target) error {
	if why := f.Incomplete(); why != "" {
		return fmt.Errorf("GET %s on %s: %s%s", h.Path, t.Where(), why, seen(f))
	}
	var problems []string
	if f.Status != h.Status {
		problems = append(problems, fmt.Sprintf("expected status %d, got %d", h.Status, f.Status))
	}
	if len(h.JSON) > 0 {
		if why := notJSON(f); why != "" {
			problems = append(problems, why)
		} else {
			for _, e := range h.JSON {
				got := gjson.GetBytes(f.Body, e.Path)
				switch {
				case !got.Exists():
					problems = append(problems, fmt.Sprintf("expected %s = %q, but %s is missing", e.Path, e.Want, e.Path))
				case got.String() != e.Want:
					problems = append(problems, fmt.Sprintf("expected %s = %q, got %q", e.Path, e.Want, got.String()))
				}
			}
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("GET %s on %s: %s%s", h.Path, t.Where(), strings.Join(problems, "; "), seen(f))
}

// Version returns the version the target reports, and an error when it
// cannot be read or differs from expected ("" expects only that some
// version is reported). The answer must be whole, 2xx and a JSON document:
// a version read out of part of a body, or out of an HTML page, is not a
// version the node reported.
func Version(f probe.HTTPFact, v *config.Version, expected string, t target.Target) (string, error) {
	if why := f.Incomplete(); why != "" {
		return "", fmt.Errorf("GET %s on %s: %s%s", v.Path, t.Where(), why, seen(f))
	}
	if f.Status < 200 || f.Status > 299 {
		return "", fmt.Errorf("GET %s on %s: expected a 2xx answer with the version, got status %d%s", v.Path, t.Where(), f.Status, seen(f))
	}
	if why := notJSON(f); why != "" {
		return "", fmt.Errorf("GET %s on %s: %s%s", v.Path, t.Where(), why, seen(f))
	}
	got := gjson.GetBytes(f.Body, v.JSON)
	if !got.Exists() || got.String() == "" {
		return "", fmt.Errorf("GET %s on %s: JSON path %q (the running version) not found%s", v.Path, t.Where(), v.JSON, seen(f))
	}
	if expected != "" && got.String() != expected {
		return got.String(), fmt.Errorf("%s runs version %q, expected %q (GET %s, JSON %s)", t.Where(), got.String(), expected, v.Path, v.JSON)
	}
	return got.String(), nil
}

// notJSON says why f's body is not a JSON document ("" when it is). The
// Content-Type must say JSON (application/json, anything+json), or say
// nothing more specific than text/plain or be absent: servers that write
// JSON without setting a type are common (Go's content sniffing labels it
// text/plain) and the whole body must then still parse. Any other declared
// type (text/html, application/xml) is another kind of answer, whatever it
// embeds.
//
// A document with a key repeated in one object, at any depth, is not one
// either: gjson would judge the first value while the application's own
// clients (encoding/json, JSON.parse) read the last, so {"status":"UP",…,
// "status":"DOWN"} would pass a node its users see as down. Every judge of
// a JSON body comes through here before reading a value with gjson.
func notJSON(f probe.HTTPFact) string {
	if f.ContentType != "" {
		mt, _, err := mime.ParseMediaType(f.ContentType)
		switch {
		case err != nil:
			return fmt.Sprintf("expected a JSON body, got Content-Type %q (not a media type)", f.ContentType)
		case mt == "application/json", strings.HasSuffix(mt, "+json"), mt == "text/plain":
		default:
			return fmt.Sprintf("expected a JSON body, got Content-Type %s", f.ContentType)
		}
	}
	if !gjson.ValidBytes(f.Body) {
		if len(bytes.TrimSpace(f.Body)) == 0 {
			return "expected a JSON body, got an empty body"
		}
		return "expected a JSON body, but the body is not valid JSON"
	}
	switch dup, err := jsondup.Find(f.Body); {
	case err != nil:
		return "expected a JSON body, but the body is not valid JSON: " + err.Error()
	case dup != nil:
		return "expected a JSON body with one value per key, got an ambiguous document: " + dup.Error()
	}
	return ""
}

// LatencyAnswer judges one latency sample: "" when it counts. A fast answer
// that is not a healthy one measures nothing, so a sample of the health path
// must pass Health; a sample of any other path must be a 2xx or 3xx. (The
// probe has already refused answers that are not whole, and redirects off
// the target, which are another server's business.)
func LatencyAnswer(f probe.HTTPFact, tech config.Technical, t target.Target) string {
	if why := f.Incomplete(); why != "" {
		return why
	}
	if h := tech.Health; h != nil && tech.Latency != nil && tech.Latency.Path == h.Path {
		if err := Health(f, h, t); err != nil {
			return err.Error()
		}
		return ""
	}
	if f.Status < 200 || f.Status > 399 {
		return fmt.Sprintf("status %d%s", f.Status, seen(f))
	}
	return ""
}

// seen renders what came back, for a failure message: status, where it
// came from when a redirect was followed, content type, size and an excerpt
// of the body.
func seen(f probe.HTTPFact) string {
	if f.Status == 0 {
		return ""
	}
	ct := f.ContentType
	if ct == "" {
		ct = "none"
	}
	size := fmt.Sprintf("%d bytes", len(f.Body))
	if f.Truncated {
		size = fmt.Sprintf("more than %d bytes", probe.MaxBody)
	} else if !f.Complete {
		size = fmt.Sprintf("%d bytes read", len(f.Body))
	}
	from := ""
	if f.FinalURL != "" {
		from = fmt.Sprintf(" from %s (after %d redirects)", f.FinalURL, f.Redirects)
	}
	return fmt.Sprintf("\nseen: status %d%s, Content-Type %s, %s\nbody: %s", f.Status, from, ct, size, excerpt(f.Body))
}

// TLSTrusted: the chain verifies against the trust root and the certificate
// is for the service host name.
func TLSTrusted(f probe.TLSFact, t target.Target) error {
	if !f.Handshake && f.Err != "" && f.VerifyErr == "" {
		return fmt.Errorf("TLS handshake with %s (SNI %s) failed: %s", where(t, f.Addr), f.ServerName, f.Err)
	}
	if f.Verified {
		return nil
	}
	names := "none"
	if len(f.DNSNames) > 0 {
		names = strings.Join(f.DNSNames, ", ")
	}
	return fmt.Errorf("TLS certificate on %s is not valid for %s: %s (certificate names: %s; issuer: %s)", where(t, f.Addr), f.ServerName, f.VerifyErr, names, f.Issuer)
}

// TLSDaysLeft: the certificate stays valid at least min more days.
func TLSDaysLeft(f probe.TLSFact, min int, t target.Target) error {
	if f.NotAfter.IsZero() {
		return fmt.Errorf("TLS certificate on %s: no certificate seen: %s", where(t, f.Addr), firstNonEmpty(f.Err, f.VerifyErr))
	}
	if f.DaysLeft < float64(min) {
		return fmt.Errorf("TLS certificate on %s expires %s: %.1f days left, expected at least %d", where(t, f.Addr), f.NotAfter.UTC().Format("2006-01-02 15:04 MST"), f.DaysLeft, min)
	}
	return nil
}

// TLSVersion: the negotiated protocol is at least min ("1.2"), and the
// server refuses a client that offers only versions below it (below, the
// probe's capped handshake). The negotiated version alone is the highest
// both sides speak: a node that also accepts TLS 1.0 still negotiates 1.3
// with us, and 1.0 with the client that can do no better. A capped handshake
// that neither got in nor was refused (a timeout) is no evidence, and fails.
func TLSVersion(f probe.TLSFact, below *probe.TLSBelowFact, min string, t target.Target) error {
	if f.VersionID == 0 {
		return fmt.Errorf("TLS on %s: no handshake: %s", where(t, f.Addr), firstNonEmpty(f.Err, f.VerifyErr))
	}
	want := probe.VersionID(min)
	if want == 0 {
		return fmt.Errorf("TLS on %s: minimum version %q is not one of 1.0, 1.1, 1.2, 1.3", where(t, f.Addr), min)
	}
	if f.VersionID < want {
		return fmt.Errorf("TLS on %s negotiated %s, expected at least %s", where(t, f.Addr), f.Version, min)
	}
	if want == tls.VersionTLS10 {
		return nil // nothing below it to refuse
	}
	switch {
	case below == nil:
		return fmt.Errorf("TLS on %s: no handshake below %s was tried, so it is not known whether the server refuses older versions", where(t, f.Addr), min)
	case below.Accepted:
		return fmt.Errorf("TLS on %s accepts %s, expected at least %s: a client offering only %s got in (it negotiated %s with a client that offers more)", where(t, below.Addr), below.Version, min, strings.Join(below.Offered, ", "), f.Version)
	case below.Refused == "":
		return fmt.Errorf("TLS on %s: a handshake offering only %s neither completed nor was refused (%s), so it is not known whether the server refuses versions below %s", where(t, below.Addr), strings.Join(below.Offered, ", "), firstNonEmpty(below.Err), min)
	}
	return nil
}

// Latency: every requested sample was taken and counted (a whole,
// accepted answer), and their p95 is within budget. Fewer samples than
// asked for is a failure, not a smaller sample: the probe stops at the first
// failed sample and says why.
func Latency(f probe.LatencyFact, l *config.Latency, t target.Target) error {
	if f.Errors > 0 || len(f.Samples) == 0 {
		msg := fmt.Sprintf("latency of GET %s on %s: %d of %d samples taken before one failed: %s", l.Path, t.Where(), len(f.Samples), f.Requested, firstNonEmpty(f.FirstErr, f.Stopped))
		if f.Stopped != "" && f.FirstErr != "" {
			msg += "\n(" + f.Stopped + ")"
		}
		return errors.New(msg)
	}
	if len(f.Samples) < f.Requested {
		return fmt.Errorf("latency of GET %s on %s: only %d of %d samples taken: %s", l.Path, t.Where(), len(f.Samples), f.Requested, firstNonEmpty(f.Stopped))
	}
	if f.P95 > l.P95.D() {
		return fmt.Errorf("latency of GET %s on %s: p95 %s over %d samples, budget %s (p50 %s, max %s)", l.Path, t.Where(), f.P95.Round(100e3), len(f.Samples), l.P95.D(), f.P50.Round(100e3), f.Max.Round(100e3))
	}
	return nil
}

func where(t target.Target, addr string) string {
	if addr != "" && addr != t.DialAddress() {
		return fmt.Sprintf("%s, %s", t.Where(), addr)
	}
	return t.Where()
}

func excerpt(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > bodyExcerpt {
		cut := bodyExcerpt
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return s[:cut] + "…"
	}
	if s == "" {
		return "(empty)"
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return "unknown error"
}
