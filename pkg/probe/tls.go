package probe

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/piv-gate/piv/pkg/target"
)

// TLSFact describes one TLS handshake with a target and the certificate it
// presented.
type TLSFact struct {
	Addr       string // where the connection went (pinned address)
	ServerName string // SNI sent and name verified: the service host
	// Handshake is true when the server spoke TLS and presented a
	// certificate, even if that certificate then failed verification: a
	// wrong certificate and "no TLS at all" are different faults.
	Handshake bool
	Version   string // negotiated protocol, "1.3"; empty if none was negotiated
	VersionID uint16 // tls.VersionTLS13 …
	// Verified is true only when chain and host name verified against the
	// target's trust roots; VerifyErr says why not.
	Verified  bool
	VerifyErr string
	// Certificate details of the leaf, filled whether or not it verified.
	NotAfter time.Time
	DaysLeft float64 // at probe time; negative once expired
	Subject  string
	Issuer   string
	DNSNames []string
	Elapsed  time.Duration
	// Err is a failure before any certificate was seen (connect, protocol,
	// timeout). Verification failures go to VerifyErr, not here.
	Err string
}

// TLS dials t.DialAddress() and performs a handshake with t.TLSConfig(): SNI
// is the service host and the chain is verified against t.RootCAs, whatever
// address the connection went to. Verification is never skipped; when it
// fails, the certificate is read back from the typed error so the fact can
// still say what was presented. The handshake is bounded by ctx and by
// tm.Connect and tm.Handshake.
func TLS(ctx context.Context, t target.Target, tm Timeouts) TLSFact {
	tm = tm.withDefaults()
	start := time.Now()
	cfg := t.TLSConfig()
	f := TLSFact{Addr: t.DialAddress(), ServerName: cfg.ServerName}
	conn, dialed, err := handshake(ctx, f.Addr, cfg, tm)
	f.Elapsed = time.Since(start)
	if !dialed {
		f.Err = reason(err, f.Elapsed)
		return f
	}
	defer conn.Close()
	// The negotiated version is known once the ServerHello is processed,
	// which precedes certificate verification: keep it on failure too.
	state := conn.ConnectionState()
	if state.Version != 0 {
		f.VersionID = state.Version
		f.Version = versionName(state.Version)
	}
	if err == nil {
		f.Handshake, f.Verified = true, true
		if len(state.PeerCertificates) > 0 {
			f.describe(state.PeerCertificates[0])
		}
		return f
	}
	if leaf := presented(err); leaf != nil {
		f.Handshake = true
		f.VerifyErr = reason(err, f.Elapsed)
		f.describe(leaf)
		return f
	}
	f.Err = reason(err, f.Elapsed)
	return f
}

// TLSBelowFact is one handshake that offered only protocol versions below
// a minimum: whether the server accepts a client that cannot speak the
// minimum. A normal handshake negotiates the highest version both sides
// speak, so a node that also accepts TLS 1.0 still shows 1.3 there; only a
// client capped below the minimum finds out.
type TLSBelowFact struct {
	Addr    string
	Offered []string // the versions in the ClientHello, oldest first: "1.0", "1.1"
	// Accepted is true when the server chose one of them (its ServerHello
	// arrived), whether or not the certificate then verified; Version says
	// which.
	Accepted  bool
	Version   string
	VersionID uint16
	// Refused says how the server turned the handshake down (an alert, a
	// closed connection): the evidence the minimum holds.
	Refused string
	// Err is a failure that says nothing either way (no connection, a
	// timeout): neither accepted nor refused.
	Err     string
	Elapsed time.Duration
}

// TLSBelow dials t.DialAddress() and offers the server every version from
// TLS 1.0 up to the one below min, with every cipher suite crypto/tls
// implements, the insecure ones included: the question is whether any such
// client gets in, so a refusal must be the server's, not our client's
// narrower choice of ciphers. No application data is sent. It is one
// handshake, bounded like TLS by ctx, tm.Connect and tm.Handshake, and run
// beside it by Gather.
func TLSBelow(ctx context.Context, t target.Target, min uint16, tm Timeouts) TLSBelowFact {
	tm = tm.withDefaults()
	start := time.Now()
	f := TLSBelowFact{Addr: t.DialAddress()}
	cfg := t.TLSConfig()
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, min-1
	for v := cfg.MinVersion; v <= cfg.MaxVersion; v++ {
		f.Offered = append(f.Offered, versionName(v))
	}
	for _, cs := range append(tls.CipherSuites(), tls.InsecureCipherSuites()...) {
		cfg.CipherSuites = append(cfg.CipherSuites, cs.ID)
	}
	conn, dialed, err := handshake(ctx, f.Addr, cfg, tm)
	f.Elapsed = time.Since(start)
	if !dialed {
		f.Err = reason(err, f.Elapsed)
		return f
	}
	defer conn.Close()
	// The version is set once the ServerHello is accepted, before the
	// certificate is verified: a server that presents a certificate we do
	// not trust has still accepted the old protocol.
	if v := conn.ConnectionState().Version; v != 0 {
		f.Accepted, f.VersionID, f.Version = true, v, versionName(v)
		return f
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		f.Err = reason(err, f.Elapsed)
	default:
		f.Refused = reason(err, f.Elapsed)
	}
	return f
}

// VersionID is the crypto/tls constant for a version as app definitions
// write it ("1.2"); 0 when the name is not one.
func VersionID(name string) uint16 {
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11, tls.VersionTLS12, tls.VersionTLS13} {
		if versionName(v) == name {
			return v
		}
	}
	return 0
}

func (f *TLSFact) describe(c *x509.Certificate) {
	f.NotAfter = c.NotAfter
	f.DaysLeft = time.Until(c.NotAfter).Hours() / 24
	f.Subject = c.Subject.String()
	f.Issuer = c.Issuer.String()
	f.DNSNames = append([]string(nil), c.DNSNames...)
}

// presented returns the leaf certificate carried by a verification error, or
// nil when err is not about the certificate. The typed x509 errors each hold
// the offending certificate; tls.CertificateVerificationError holds the whole
// unverified chain and covers the remaining x509 reasons.
func presented(err error) *x509.Certificate {
	var (
		hostErr x509.HostnameError
		authErr x509.UnknownAuthorityError
		invErr  x509.CertificateInvalidError
		verErr  *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &hostErr) && hostErr.Certificate != nil:
		return hostErr.Certificate
	case errors.As(err, &invErr) && invErr.Cert != nil:
		return invErr.Cert
	case errors.As(err, &verErr) && len(verErr.UnverifiedCertificates) > 0:
		// Preferred over UnknownAuthorityError.Cert, which is the last
		// certificate of the chain tried, not necessarily the leaf.
		return verErr.UnverifiedCertificates[0]
	case errors.As(err, &authErr) && authErr.Cert != nil:
		return authErr.Cert
	}
	return nil
}

// versionName is the protocol version as app definitions write it
// (tls.minVersion: "1.2").
func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// handshake dials addr (bounded by tm.Connect) and runs a TLS handshake with
// cfg (bounded by tm.Handshake), both under ctx. dialed is false when no
// connection was made (err is the dial's); otherwise conn is the TLS
// connection, to be closed, and err the handshake's.
func handshake(ctx context.Context, addr string, cfg *tls.Config, tm Timeouts) (conn *tls.Conn, dialed bool, err error) {
	d := net.Dialer{Timeout: tm.Connect}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, false, err
	}
	hctx, cancel := context.WithTimeout(ctx, tm.Handshake)
	defer cancel()
	conn = tls.Client(raw, cfg)
	return conn, true, conn.HandshakeContext(hctx)
}
