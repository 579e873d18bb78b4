// Package verify judges gathered facts against an app definition. Each
// function is pure: facts in, nil or an error whose text says what was
// expected, what was seen, and where. The technical suite asserts on these;
// settling uses Health. Nothing here does I/O.
package verify

import (
	"crypto/tls"
	"fmt"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/piv-gate/piv/pkg/config"
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

// Health: status and every JSON expectation.
func Health(f probe.HTTPFact, h *config.Health, t target.Target) error {
	if f.Err != "" {
		return fmt.Errorf("GET %s on %s: no answer: %s", h.Path, t.Where(), f.Err)
	}
	var problems []string
	if f.Status != h.Status {
		problems = append(problems, fmt.Sprintf("expected status %d, got %d", h.Status, f.Status))
	}
	for _, e := range h.JSON {
		got := gjson.GetBytes(f.Body, e.Path)
		switch {
		case !got.Exists():
			problems = append(problems, fmt.Sprintf("expected %s = %q, but %s is missing", e.Path, e.Want, e.Path))
		case got.String() != e.Want:
			problems = append(problems, fmt.Sprintf("expected %s = %q, got %q", e.Path, e.Want, got.String()))
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("GET %s on %s: %s\nbody: %s", h.Path, t.Where(), strings.Join(problems, "; "), excerpt(f.Body))
}

// Version returns the version the target reports, and an error when it
// cannot be read or differs from expected ("" expects only that some
// version is reported).
func Version(f probe.HTTPFact, v *config.Version, expected string, t target.Target) (string, error) {
	if f.Err != "" {
		return "", fmt.Errorf("GET %s on %s: no answer: %s", v.Path, t.Where(), f.Err)
	}
	if f.Status < 200 || f.Status > 299 {
		return "", fmt.Errorf("GET %s on %s: expected a 2xx answer with the version, got status %d\nbody: %s", v.Path, t.Where(), f.Status, excerpt(f.Body))
	}
	got := gjson.GetBytes(f.Body, v.JSON)
	if !got.Exists() || got.String() == "" {
		return "", fmt.Errorf("GET %s on %s: JSON path %q (the running version) not found\nbody: %s", v.Path, t.Where(), v.JSON, excerpt(f.Body))
	}
	if expected != "" && got.String() != expected {
		return got.String(), fmt.Errorf("%s runs version %q, expected %q (GET %s, JSON %s)", t.Where(), got.String(), expected, v.Path, v.JSON)
	}
	return got.String(), nil
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

// TLSVersion: the negotiated protocol is at least min ("1.2").
func TLSVersion(f probe.TLSFact, min string, t target.Target) error {
	if f.VersionID == 0 {
		return fmt.Errorf("TLS on %s: no handshake: %s", where(t, f.Addr), firstNonEmpty(f.Err, f.VerifyErr))
	}
	if f.VersionID < tlsVersionID(min) {
		return fmt.Errorf("TLS on %s negotiated %s, expected at least %s", where(t, f.Addr), f.Version, min)
	}
	return nil
}

// Latency: p95 of the samples within budget, and no sample failed.
func Latency(f probe.LatencyFact, l *config.Latency, t target.Target) error {
	if len(f.Samples) == 0 {
		return fmt.Errorf("latency of GET %s on %s: no sample succeeded (%d errors, first: %s)", l.Path, t.Where(), f.Errors, f.FirstErr)
	}
	if f.Errors > 0 {
		return fmt.Errorf("latency of GET %s on %s: %d of %d samples failed (first: %s)", l.Path, t.Where(), f.Errors, f.Errors+len(f.Samples), f.FirstErr)
	}
	if f.P95 > l.P95.D() {
		return fmt.Errorf("latency of GET %s on %s: p95 %s over %d samples, budget %s (p50 %s, max %s)", l.Path, t.Where(), f.P95.Round(100e3), len(f.Samples), l.P95.D(), f.P50.Round(100e3), f.Max.Round(100e3))
	}
	return nil
}

func tlsVersionID(v string) uint16 {
	switch v {
	case "1.0":
		return tls.VersionTLS10
	case "1.1":
		return tls.VersionTLS11
	case "1.3":
		return tls.VersionTLS13
	default:
		return tls.VersionTLS12
	}
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
		return s[:bodyExcerpt] + "…"
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
