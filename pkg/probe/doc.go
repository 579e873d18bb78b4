// Package probe gathers facts about a target: TCP ports, the TLS handshake and
// certificate, HTTP answers, latency samples, and whether health has settled.
//
// It never judges. A probe returns what it saw and, when something went wrong,
// a human reason ("connection refused", "certificate is for other.test, not
// quote.test"), never a bare bool: the specs decide pass or fail and need the
// evidence to say why. Gathering is separate from judging (goss resource/ vs
// system/) so the gate can gather everything concurrently under one deadline
// and then let every check read the same facts.
//
// Every probe respects ctx; the caller sets one deadline for the whole
// gathering (blackbox_exporter style). Probes connect only through the
// target's pinned dialer and TLS configuration, so a node probe reaches that
// node alone while Host, SNI and certificate checks keep the service's name.
// Nothing here sets InsecureSkipVerify: a certificate that fails verification
// is still described, from the typed x509 error, so the message can say what
// the certificate is actually for.
package probe
