package watch

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
)

// Kind is what happened to one sample, as a customer would name it. It is a
// byte so that an hour of samples stays small (see Sample).
type Kind uint8

// Kinds of sample outcome. Only KindOK is a success (HTTP 2xx or 3xx).
const (
	KindOK                 Kind = iota
	KindConnectRefused          // TCP RST to the SYN: nothing listening
	KindConnectTimeout          // no answer to the SYN within the sample timeout
	KindConnectUnreachable      // no route to host / network unreachable
	KindDNS                     // the URL's host name did not resolve
	KindTLS                     // handshake failed: certificate, protocol, alert
	KindReset                   // connection reset (or broken pipe) after connecting
	KindEOF                     // the server closed the connection before a full response
	KindTimeout                 // connected, but no full response within the sample timeout
	KindProtocol                // the response was not valid HTTP/1.1
	KindHTTP4xx
	KindHTTP5xx
	KindHTTPOther // a final status outside 2xx-5xx
	KindOther     // an error this version does not classify
	numKinds
)

var kindNames = [numKinds]string{
	KindOK:                 "ok",
	KindConnectRefused:     "connect refused",
	KindConnectTimeout:     "connect timeout",
	KindConnectUnreachable: "connect unreachable",
	KindDNS:                "dns",
	KindTLS:                "tls",
	KindReset:              "reset",
	KindEOF:                "eof",
	KindTimeout:            "timeout",
	KindProtocol:           "protocol",
	KindHTTP4xx:            "http 4xx",
	KindHTTP5xx:            "http 5xx",
	KindHTTPOther:          "http other",
	KindOther:              "other",
}

func (k Kind) String() string {
	if k < numKinds {
		return kindNames[k]
	}
	return "other"
}

// KindSet is a set of Kinds (a bitmask).
type KindSet uint32

// With returns the set with k added.
func (s KindSet) With(k Kind) KindSet { return s | 1<<k }

// Has reports whether k is in the set.
func (s KindSet) Has(k Kind) bool { return s&(1<<k) != 0 }

// Strings lists the kinds' names in Kind order (stable for JSON and tests).
func (s KindSet) Strings() []string {
	var out []string
	for k := Kind(0); k < numKinds; k++ {
		if s.Has(k) {
			out = append(out, k.String())
		}
	}
	return out
}

// phase is where in a sample an error happened; the same errno means
// different things in different phases (ECONNRESET while connecting is not
// a reset of an established connection).
type phase uint8

const (
	phaseDial phase = iota
	phaseTLS
	phaseHTTP
)

// outcome is how a sample's error is counted.
type outcome uint8

const (
	targetFailure outcome = iota // the target's fault: a failed sample
	samplerError                 // the sampler's own fault: counted apart, never a target failure
	discard                      // cut off by the sampler's own shutdown: not a sample at all
)

// classify maps a sample's error to a Kind and decides whose fault it is.
// own is the sampler's context: if it was cancelled the sample was cut off by
// shutdown and says nothing about the target.
//
// Errors that come from this machine running out of something (file
// descriptors, buffer space, memory, local ports) are sampler errors: the
// request never left, so counting it against the target would blame a
// deployment for the load generator's limits.
func classify(own context.Context, ph phase, err error) (Kind, outcome, string) {
	if own.Err() != nil || errors.Is(err, context.Canceled) {
		return KindOther, discard, ""
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.EADDRNOTAVAIL} {
		if errors.Is(err, e) {
			return KindOther, samplerError, errnoName(e)
		}
	}
	timeout := errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		timeout = true
	}
	reset := errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNABORTED)
	eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)

	switch ph {
	case phaseDial:
		var dnsErr *net.DNSError
		switch {
		case errors.Is(err, syscall.ECONNREFUSED):
			return KindConnectRefused, targetFailure, ""
		case timeout:
			return KindConnectTimeout, targetFailure, ""
		case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
			return KindConnectUnreachable, targetFailure, ""
		case errors.As(err, &dnsErr):
			return KindDNS, targetFailure, ""
		case reset:
			return KindConnectRefused, targetFailure, ""
		}
		return KindOther, targetFailure, ""
	case phaseTLS:
		var (
			certErr    *tls.CertificateVerificationError
			unknownCA  x509.UnknownAuthorityError
			hostErr    x509.HostnameError
			invalidErr x509.CertificateInvalidError
			alert      tls.AlertError
			recHdr     tls.RecordHeaderError
		)
		switch {
		case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &hostErr),
			errors.As(err, &invalidErr), errors.As(err, &alert), errors.As(err, &recHdr):
			return KindTLS, targetFailure, ""
		case timeout:
			return KindTimeout, targetFailure, ""
		case reset:
			return KindReset, targetFailure, ""
		case eof:
			return KindEOF, targetFailure, ""
		}
		return KindTLS, targetFailure, ""
	default:
		switch {
		case timeout:
			return KindTimeout, targetFailure, ""
		case reset:
			return KindReset, targetFailure, ""
		case eof:
			return KindEOF, targetFailure, ""
		}
		var opErr *net.OpError
		if errors.As(err, &opErr) {
			return KindOther, targetFailure, ""
		}
		if strings.Contains(err.Error(), "malformed") || strings.Contains(err.Error(), "HTTP") {
			return KindProtocol, targetFailure, ""
		}
		return KindOther, targetFailure, ""
	}
}

// statusKind maps a final HTTP status to a Kind: 2xx and 3xx are successes
// (a redirect is a working service; it is not followed).
func statusKind(code int) Kind {
	switch {
	case code >= 200 && code < 400:
		return KindOK
	case code >= 400 && code < 500:
		return KindHTTP4xx
	case code >= 500 && code < 600:
		return KindHTTP5xx
	}
	return KindHTTPOther
}

func errnoName(e syscall.Errno) string {
	switch e {
	case syscall.EMFILE:
		return "EMFILE (too many open files)"
	case syscall.ENFILE:
		return "ENFILE (file table full)"
	case syscall.ENOBUFS:
		return "ENOBUFS (no buffer space)"
	case syscall.ENOMEM:
		return "ENOMEM (out of memory)"
	case syscall.EADDRNOTAVAIL:
		return "EADDRNOTAVAIL (no free local port)"
	}
	return e.Error()
}
