package probe

import (
	"crypto/tls"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/internal/pki"
	"github.com/piv-gate/piv/pkg/config"
)

// serveTLSRange serves on 127.0.0.3 with the shared quote.test leaf,
// accepting protocol versions min..max (0: crypto/tls's default), and
// returns the pinned target.
func serveTLSRange(t *testing.T, cfg *tls.Config) TLSBelowFact {
	t.Helper()
	_, lf := testPKI(t)
	cfg.Certificates = []tls.Certificate{lf.TLSCertificate()}
	ln := listen(t, "127.0.0.3", 0)
	serveTLS(t, ln, http.NotFoundHandler(), cfg)
	return TLSBelow(t.Context(), pinned(t, ln.Addr().String()), tls.VersionTLS12, Timeouts{})
}

func TestTLSBelowRefused(t *testing.T) {
	f := serveTLSRange(t, &tls.Config{MinVersion: tls.VersionTLS12})
	if f.Accepted || f.Err != "" || !strings.Contains(f.Refused, "protocol version not supported") {
		t.Fatalf("want refused, got %+v", f)
	}
	if !slices.Equal(f.Offered, []string{"1.0", "1.1"}) {
		t.Errorf("Offered = %v", f.Offered)
	}
	obs := f.Observed()
	if v, _ := obs["versions"].(map[string]string); v["1.0"] != "refused" || v["1.1"] != "refused" {
		t.Errorf("observed %v", obs)
	}
}

// A node that also speaks TLS 1.0 negotiates 1.3 with a modern client; only
// a handshake capped below the minimum shows it.
func TestTLSBelowAcceptedByANodeThatAlsoSpeaksTLS13(t *testing.T) {
	f := serveTLSRange(t, &tls.Config{MinVersion: tls.VersionTLS10})
	if !f.Accepted || f.Version != "1.1" || f.Refused != "" || f.Err != "" {
		t.Fatalf("want accepted at 1.1, got %+v", f)
	}
	obs := f.Observed()
	if obs["accepted"] != "1.1" {
		t.Errorf("observed %v", obs)
	}
	if v, _ := obs["versions"].(map[string]string); v["1.1"] != "accepted" || !strings.Contains(v["1.0"], "server chose 1.1") {
		t.Errorf("observed versions %v", obs["versions"])
	}
}

func TestTLSBelowAcceptedAtTLS10Only(t *testing.T) {
	f := serveTLSRange(t, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10})
	if !f.Accepted || f.Version != "1.0" {
		t.Fatalf("want accepted at 1.0, got %+v", f)
	}
}

// A legacy server may accept old versions only with old cipher suites; the
// probe offers every suite crypto/tls has, so a refusal means the version,
// not our client's taste in ciphers.
func TestTLSBelowOffersLegacyCipherSuites(t *testing.T) {
	f := serveTLSRange(t, &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11,
		// GCM is there only because net/http's HTTP/2 insists on it; it
		// exists from TLS 1.2, so at 1.0 and 1.1 RC4 is all there is.
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_RC4_128_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
	if !f.Accepted {
		t.Fatalf("want accepted, got %+v", f)
	}
}

func TestTLSBelowNoEvidence(t *testing.T) {
	ln := listen(t, "127.0.0.3", 0)
	addr := ln.Addr().String()
	ln.Close()
	f := TLSBelow(t.Context(), pinned(t, addr), tls.VersionTLS12, Timeouts{})
	if f.Accepted || f.Refused != "" || f.Err != "connection refused" {
		t.Fatalf("a closed port is no evidence either way: %+v", f)
	}
}

// Gather runs the capped handshake beside the others, once per target, only
// when a TLS check is configured with something below its minimum.
func TestGatherTriesBelowTheMinimum(t *testing.T) {
	f := startFleet(t, 0)
	f.app.Technical.TLS = &config.TLS{MinVersion: "1.2"}
	facts := Gather(t.Context(), f.app, f.targets[:1], Options{})
	below := facts.Targets[f.targets[0].Name].TLSBelow
	if below == nil || below.Accepted || below.Refused == "" {
		t.Fatalf("TLSBelow = %+v", below)
	}
	f.app.Technical.TLS = &config.TLS{MinVersion: "1.0"}
	if b := Gather(t.Context(), f.app, f.targets[:1], Options{}).Targets[f.targets[0].Name].TLSBelow; b != nil {
		t.Errorf("minimum 1.0: TLSBelow = %+v, want none", b)
	}
	f.app.Technical.TLS = nil
	if b := Gather(t.Context(), f.app, f.targets[:1], Options{}).Targets[f.targets[0].Name].TLSBelow; b != nil {
		t.Errorf("no TLS check: TLSBelow = %+v, want none", b)
	}
}

// A server that accepts the old version with a certificate we do not trust
// has still accepted the old version.
func TestTLSBelowAcceptedDespiteAnUntrustedCertificate(t *testing.T) {
	other, err := pki.NewCA("other CA")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := other.Issue([]string{"other.test"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ln := listen(t, "127.0.0.3", 0)
	serveTLS(t, ln, http.NotFoundHandler(), &tls.Config{Certificates: []tls.Certificate{lf.TLSCertificate()}, MinVersion: tls.VersionTLS10})
	f := TLSBelow(t.Context(), pinned(t, ln.Addr().String()), tls.VersionTLS12, Timeouts{})
	if !f.Accepted || f.Version != "1.1" {
		t.Fatalf("want accepted at 1.1, got %+v", f)
	}
}
