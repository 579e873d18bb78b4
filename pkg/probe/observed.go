package probe

import (
	"math"
	"time"

	"github.com/tidwall/gjson"

	"github.com/piv-gate/piv/pkg/jsondup"
)

// The Observed methods describe a fact as gate.json's checks[].observed
// carries it: plain JSON values (strings, numbers, booleans, maps), on pass
// as on failure, because a pass is evidence. They never include a body (the
// size and the judged JSON values say what was seen; a failure message
// carries an excerpt) nor headers, which may carry cookies or tokens.
// Durations are seconds as numbers, like gate.json's durationSeconds.

// Observed describes an HTTP answer; jsonPaths are the gjson paths a check
// judged, reported with the values found (null when missing), and only when
// the body is a whole JSON document with no key repeated: a repeated key's
// value depends on the parser, so jsonDuplicateKey says which key instead.
func (f HTTPFact) Observed(jsonPaths ...string) map[string]any {
	m := map[string]any{"url": f.URL, "seconds": seconds(f.Elapsed)}
	if f.Err != "" {
		m["error"] = f.Err
		return m
	}
	m["status"] = f.Status
	if f.FinalURL != "" {
		m["finalUrl"] = f.FinalURL
		m["redirects"] = f.Redirects
	}
	if f.Redirect != "" {
		m["redirectNotFollowed"] = f.Redirect
	}
	m["contentType"] = f.ContentType
	m["bodyBytes"] = len(f.Body)
	m["complete"] = f.Complete
	if f.Truncated {
		m["bodyExceeds"] = MaxBody
	}
	if f.BodyErr != "" {
		m["bodyError"] = f.BodyErr
	}
	if f.ServedBy != "" {
		m["servedBy"] = f.ServedBy
	}
	if len(jsonPaths) > 0 && f.Complete && gjson.ValidBytes(f.Body) {
		if dup, err := jsondup.Find(f.Body); dup != nil || err != nil {
			if dup != nil {
				m["jsonDuplicateKey"] = dup.Error()
			}
			return m
		}
		vals := make(map[string]any, len(jsonPaths))
		for _, p := range jsonPaths {
			if r := gjson.GetBytes(f.Body, p); r.Exists() {
				vals[p] = r.Value()
			} else {
				vals[p] = nil
			}
		}
		m["json"] = vals
	}
	return m
}

// Observed describes a TCP connect.
func (f TCPFact) Observed() map[string]any {
	m := map[string]any{"address": f.Addr, "connected": f.Connected, "seconds": seconds(f.Elapsed)}
	if f.Err != "" {
		m["error"] = f.Err
	}
	return m
}

// Observed describes a TLS handshake and the certificate presented.
func (f TLSFact) Observed() map[string]any {
	m := map[string]any{"address": f.Addr, "serverName": f.ServerName, "handshake": f.Handshake,
		"verified": f.Verified, "seconds": seconds(f.Elapsed)}
	if f.Version != "" {
		m["tlsVersion"] = f.Version
	}
	if f.VerifyErr != "" {
		m["verifyError"] = f.VerifyErr
	}
	if f.Err != "" {
		m["error"] = f.Err
	}
	if !f.NotAfter.IsZero() {
		m["subject"] = f.Subject
		m["issuer"] = f.Issuer
		m["dnsNames"] = append([]string{}, f.DNSNames...)
		m["notAfter"] = f.NotAfter.UTC().Format(time.RFC3339)
		m["daysLeft"] = math.Round(f.DaysLeft*10) / 10
	}
	return m
}

// Observed describes the handshake below the minimum version: what was
// offered and, per version, what became of it ("accepted", "refused", or
// why nothing can be said).
func (f TLSBelowFact) Observed() map[string]any {
	m := map[string]any{"address": f.Addr, "offered": append([]string{}, f.Offered...), "seconds": seconds(f.Elapsed)}
	versions := make(map[string]string, len(f.Offered))
	for _, v := range f.Offered {
		switch {
		case f.Accepted && v == f.Version:
			versions[v] = "accepted"
		case f.Accepted:
			versions[v] = "offered; the server chose " + f.Version
		case f.Refused != "":
			versions[v] = "refused"
		default:
			versions[v] = "unknown: " + f.Err
		}
	}
	m["versions"] = versions
	switch {
	case f.Accepted:
		m["accepted"] = f.Version
	case f.Refused != "":
		m["refused"] = f.Refused
	default:
		m["error"] = f.Err
	}
	return m
}

// Observed describes the latency samples.
func (f LatencyFact) Observed() map[string]any {
	m := map[string]any{"url": f.URL, "requested": f.Requested, "samples": len(f.Samples), "errors": f.Errors,
		"p50Seconds": seconds(f.P50), "p95Seconds": seconds(f.P95), "maxSeconds": seconds(f.Max), "seconds": seconds(f.Elapsed)}
	if f.FirstErr != "" {
		m["firstError"] = f.FirstErr
	}
	if f.Stopped != "" {
		m["stopped"] = f.Stopped
	}
	return m
}

// seconds keeps microsecond precision: enough for a loopback round trip,
// short in JSON.
func seconds(d time.Duration) float64 {
	return math.Round(d.Seconds()*1e6) / 1e6
}
