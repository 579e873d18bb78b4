//go:build !(linux || darwin || freebsd)

package watch

import (
	"errors"
	"net"
	"time"
)

// peerClosed: see idle_peek.go. Without a non-blocking peek, a one-byte
// read with a deadline slightly in the future (an expired deadline is
// reported before the read is even tried) sees a FIN, RST or unsolicited
// bytes that have already arrived; a consumed byte does not matter, as the
// connection is then closed.
func peerClosed(raw net.Conn) bool {
	raw.SetReadDeadline(time.Now().Add(50 * time.Microsecond))
	var b [1]byte
	_, err := raw.Read(b[:])
	var ne net.Error
	return !(errors.As(err, &ne) && ne.Timeout())
}
