package probe

import (
	"crypto/tls"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/internal/pki"
)

// serveCert serves an empty handler on 127.0.0.3 with cert and returns a
// target pinned there under the quote.test identity, trusting the test CA.
func serveCert(t *testing.T, cert tls.Certificate, maxVersion uint16) TLSFact {
	t.Helper()
	ln := listen(t, "127.0.0.3", 0)
	serveTLS(t, ln, http.NotFoundHandler(), &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: maxVersion})
	return TLS(t.Context(), pinned(t, ln.Addr().String()), Timeouts{})
}

func TestTLSValid(t *testing.T) {
	_, lf := testPKI(t)
	f := serveCert(t, lf.TLSCertificate(), 0)
	if !f.Handshake || !f.Verified || f.VerifyErr != "" || f.Err != "" {
		t.Fatalf("want verified, got %+v", f)
	}
	if f.Version != "1.3" || f.VersionID != tls.VersionTLS13 {
		t.Errorf("Version = %q (%#x)", f.Version, f.VersionID)
	}
	if f.ServerName != host || !strings.HasPrefix(f.Addr, "127.0.0.3:") {
		t.Errorf("ServerName %q Addr %q", f.ServerName, f.Addr)
	}
	if math.Abs(f.DaysLeft-30) > 0.1 {
		t.Errorf("DaysLeft = %v, want ≈30", f.DaysLeft)
	}
	if !f.NotAfter.Equal(lf.Cert.NotAfter) || !slices.Equal(f.DNSNames, []string{host}) {
		t.Errorf("NotAfter %v DNSNames %v", f.NotAfter, f.DNSNames)
	}
	if f.Subject != "CN=quote.test" || !strings.Contains(f.Issuer, "probe test CA") {
		t.Errorf("Subject %q Issuer %q", f.Subject, f.Issuer)
	}
}

func TestTLSWrongHostName(t *testing.T) {
	ca, _ := testPKI(t)
	now := time.Now()
	other, err := ca.Issue([]string{"other.test"}, now.Add(-time.Hour), now.AddDate(0, 0, 30))
	if err != nil {
		t.Fatal(err)
	}
	f := serveCert(t, other.TLSCertificate(), 0)
	if f.Verified || !f.Handshake || f.Err != "" {
		t.Fatalf("want handshake but not verified, got %+v", f)
	}
	if f.VerifyErr != "certificate is for other.test, not quote.test" {
		t.Errorf("VerifyErr = %q", f.VerifyErr)
	}
	if !slices.Equal(f.DNSNames, []string{"other.test"}) || f.NotAfter.IsZero() {
		t.Errorf("DNSNames %v NotAfter %v", f.DNSNames, f.NotAfter)
	}
	if f.Version != "1.3" {
		t.Errorf("Version = %q: the negotiated version is known before verification", f.Version)
	}
}

func TestTLSUnknownAuthority(t *testing.T) {
	stranger, err := pki.NewCA("stranger CA")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	lf, err := stranger.Issue([]string{host}, now.Add(-time.Hour), now.AddDate(0, 0, 30))
	if err != nil {
		t.Fatal(err)
	}
	f := serveCert(t, lf.TLSCertificate(), 0)
	if f.Verified || !f.Handshake {
		t.Fatalf("want not verified, got %+v", f)
	}
	if !strings.Contains(f.VerifyErr, "unknown authority") || !strings.Contains(f.VerifyErr, "stranger CA") {
		t.Errorf("VerifyErr = %q", f.VerifyErr)
	}
	if f.Subject != "CN=quote.test" || !slices.Equal(f.DNSNames, []string{host}) {
		t.Errorf("the leaf, not the issuer, must be described: Subject %q DNSNames %v", f.Subject, f.DNSNames)
	}
}

func TestTLS12Only(t *testing.T) {
	_, lf := testPKI(t)
	f := serveCert(t, lf.TLSCertificate(), tls.VersionTLS12)
	if !f.Verified || f.Version != "1.2" || f.VersionID != tls.VersionTLS12 {
		t.Fatalf("want verified TLS 1.2, got %+v", f)
	}
}

func TestTLSExpired(t *testing.T) {
	ca, _ := testPKI(t)
	now := time.Now()
	old, err := ca.Issue([]string{host}, now.AddDate(0, 0, -40), now.AddDate(0, 0, -10))
	if err != nil {
		t.Fatal(err)
	}
	f := serveCert(t, old.TLSCertificate(), 0)
	if f.Verified || !f.Handshake {
		t.Fatalf("want not verified, got %+v", f)
	}
	if !f.NotAfter.Equal(old.Cert.NotAfter) || math.Abs(f.DaysLeft+10) > 0.1 {
		t.Errorf("NotAfter %v DaysLeft %v", f.NotAfter, f.DaysLeft)
	}
	if !strings.HasPrefix(f.VerifyErr, "certificate expired ") || !strings.HasSuffix(f.VerifyErr, "(10 days ago)") {
		t.Errorf("VerifyErr = %q", f.VerifyErr)
	}
}

func TestTLSPlainTextPort(t *testing.T) {
	ln := listen(t, "127.0.0.3", 0)
	srv := &http.Server{Handler: http.NotFoundHandler()}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	f := TLS(t.Context(), pinned(t, ln.Addr().String()), Timeouts{})
	if f.Handshake || f.Verified || f.VerifyErr != "" || f.Err != "server did not answer with TLS (plain text on a TLS port?)" {
		t.Fatalf("want a protocol failure in Err, got %+v", f)
	}
}

func TestTLSRefused(t *testing.T) {
	ln := listen(t, "127.0.0.3", 0)
	addr := ln.Addr().String()
	ln.Close()
	f := TLS(t.Context(), pinned(t, addr), Timeouts{})
	if f.Handshake || f.Err != "connection refused" {
		t.Fatalf("want refused, got %+v", f)
	}
}
