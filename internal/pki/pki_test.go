package pki

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// serve accepts TLS connections with leaf on a loopback listener and writes
// "ok" to each; it returns the address.
func serve(t *testing.T, leaf *Leaf) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{leaf.TLSCertificate()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				_, _ = c.Write([]byte("ok"))
			}()
		}
	}()
	return ln.Addr().String()
}

func dial(addr, serverName string, pool *x509.CertPool) error {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{ServerName: serverName, RootCAs: pool})
	if err != nil {
		return err
	}
	defer c.Close()
	b, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if string(b) != "ok" {
		return errors.New("unexpected payload " + string(b))
	}
	return nil
}

func TestIssueAndHandshake(t *testing.T) {
	ca, err := NewCA("piv test CA")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	leaf, err := ca.Issue([]string{"quote.test", "127.0.0.1"}, now.Add(-time.Minute), now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if got := leaf.Cert.DNSNames; len(got) != 1 || got[0] != "quote.test" {
		t.Errorf("DNSNames = %v", got)
	}
	if got := leaf.Cert.IPAddresses; len(got) != 1 || !got[0].Equal(net.ParseIP("127.0.0.1")) {
		t.Errorf("IPAddresses = %v", got)
	}
	addr := serve(t, leaf)

	if err := dial(addr, "quote.test", ca.Pool()); err != nil {
		t.Errorf("DNS SAN: %v", err)
	}
	if err := dial(addr, "127.0.0.1", ca.Pool()); err != nil {
		t.Errorf("IP SAN: %v", err)
	}
	err = dial(addr, "other.test", ca.Pool())
	var hostErr x509.HostnameError
	if !errors.As(err, &hostErr) {
		t.Errorf("wrong host: want x509.HostnameError, got %v", err)
	}
	other, err := NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	err = dial(addr, "quote.test", other.Pool())
	var authErr x509.UnknownAuthorityError
	if !errors.As(err, &authErr) {
		t.Errorf("foreign CA: want x509.UnknownAuthorityError, got %v", err)
	}
}

func TestExpiredLeafIsRejected(t *testing.T) {
	ca, err := NewCA("piv test CA")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	leaf, err := ca.Issue([]string{"quote.test"}, now.Add(-48*time.Hour), now.Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	err = dial(serve(t, leaf), "quote.test", ca.Pool())
	var invErr x509.CertificateInvalidError
	if !errors.As(err, &invErr) || invErr.Reason != x509.Expired {
		t.Errorf("want expired certificate error, got %v", err)
	}
}

func TestPEMRoundTrip(t *testing.T) {
	ca, err := NewCA("piv test CA")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(ca.CertPEM), "-----BEGIN CERTIFICATE-----") {
		t.Errorf("CA CertPEM: %q", ca.CertPEM[:30])
	}
	loaded, err := LoadCA(ca.CertPEM, ca.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	leaf, err := loaded.Issue([]string{"quote.test"}, now, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatalf("leaf PEM does not load as a key pair: %v", err)
	}
	// A leaf from the reloaded CA verifies against the original CA's pool.
	if _, err := leaf.Cert.Verify(x509.VerifyOptions{DNSName: "quote.test", Roots: ca.Pool()}); err != nil {
		t.Errorf("verify: %v", err)
	}
	if len(pair.Certificate) != 1 {
		t.Errorf("leaf PEM holds %d certificates, want 1", len(pair.Certificate))
	}
	if _, err := LoadCA(leaf.CertPEM, leaf.KeyPEM); err == nil {
		t.Error("LoadCA accepted a leaf certificate")
	}
}

func TestIssueRejectsBadInput(t *testing.T) {
	ca, err := NewCA("piv test CA")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if _, err := ca.Issue(nil, now, now.Add(time.Hour)); err == nil {
		t.Error("no hosts: want error")
	}
	if _, err := ca.Issue([]string{"quote.test"}, now, now); err == nil {
		t.Error("empty validity: want error")
	}
}

func BenchmarkIssue(b *testing.B) {
	ca, err := NewCA("bench CA")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	for b.Loop() {
		if _, err := ca.Issue([]string{"quote.test", "127.0.0.2"}, now, now.Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
	}
}
