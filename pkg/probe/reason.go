package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// reason turns an error from a dial, handshake or request into the short
// human text a gate message can quote. Facts carry this text rather than the
// error so that they serialise, compare and print the same everywhere, and so
// that "dial tcp 127.0.0.3:8443: connect: connection refused" reads as what
// it means for a deployer: "connection refused".
func reason(err error, elapsed time.Duration) string {
	if err == nil {
		return ""
	}
	var (
		hostErr  x509.HostnameError
		authErr  x509.UnknownAuthorityError
		invErr   x509.CertificateInvalidError
		dnsErr   *net.DNSError
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
		netErr   net.Error
	)
	switch {
	case errors.Is(err, context.Canceled):
		return "cancelled after " + round(elapsed).String()
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return "timed out after " + round(elapsed).String()
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by peer"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "no route to host"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return "cannot resolve " + dnsErr.Name + ": no such host"
		}
		return "cannot resolve " + dnsErr.Name + ": " + dnsErr.Err
	case errors.As(err, &hostErr):
		return hostnameReason(hostErr)
	case errors.As(err, &authErr):
		return authorityReason(authErr)
	case errors.As(err, &invErr):
		return invalidReason(invErr)
	case errors.As(err, &recErr):
		return "server did not answer with TLS (plain text on a TLS port?)"
	case errors.As(err, &alertErr):
		return "server refused the TLS handshake: " + strings.TrimPrefix(err.Error(), "remote error: tls: ")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "connection closed by server"
	}
	// Fall back to the error's own words, without the "Get \"url\": " prefix
	// (the fact already carries the URL).
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	return strings.TrimPrefix(err.Error(), "tls: failed to verify certificate: ")
}

// round keeps elapsed times readable in messages ("timed out after 3s",
// not "3.000418211s").
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond)
	}
	return d
}

// hostnameReason says what the certificate is for, since that is what a
// deployer needs to fix the wrong-certificate case.
func hostnameReason(e x509.HostnameError) string {
	if e.Certificate == nil {
		return "certificate is not valid for " + e.Host
	}
	names := certNames(e.Certificate)
	if len(names) == 0 {
		return fmt.Sprintf("certificate has no DNS or IP names (subject %s), not valid for %s", e.Certificate.Subject, e.Host)
	}
	return fmt.Sprintf("certificate is for %s, not %s", strings.Join(names, ", "), e.Host)
}

func authorityReason(e x509.UnknownAuthorityError) string {
	if e.Cert == nil {
		return "certificate signed by unknown authority"
	}
	if e.Cert.Subject.String() == e.Cert.Issuer.String() {
		return fmt.Sprintf("certificate is self-signed (%s) and not trusted", e.Cert.Subject)
	}
	return fmt.Sprintf("certificate signed by unknown authority (issuer %s)", e.Cert.Issuer)
}

func invalidReason(e x509.CertificateInvalidError) string {
	c := e.Cert
	if e.Reason == x509.Expired && c != nil {
		now := time.Now()
		if now.After(c.NotAfter) {
			return fmt.Sprintf("certificate expired %s (%.0f days ago)", c.NotAfter.UTC().Format(time.RFC3339), now.Sub(c.NotAfter).Hours()/24)
		}
		if now.Before(c.NotBefore) {
			return fmt.Sprintf("certificate not valid until %s", c.NotBefore.UTC().Format(time.RFC3339))
		}
	}
	return strings.TrimPrefix(e.Error(), "x509: ")
}

func certNames(c *x509.Certificate) []string {
	names := append([]string(nil), c.DNSNames...)
	for _, ip := range c.IPAddresses {
		names = append(names, ip.String())
	}
	return names
}
