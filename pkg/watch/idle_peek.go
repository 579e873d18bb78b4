//go:build linux || darwin || freebsd

package watch

import (
	"errors"
	"net"
	"syscall"
)

// peerClosed reports whether an idle connection can no longer carry a clean
// request: the peer closed it (FIN or RST), or sent bytes nobody asked for
// (a TLS close_notify before the FIN, anything else unsolicited). It asks
// the kernel without blocking and without consuming anything: recv with
// MSG_PEEK|MSG_DONTWAIT on the socket, one system call. (A read deadline
// of "now" cannot do this: Go reports the expired deadline before it ever
// tries the read, so a closed connection would look alive and the next
// sample would fail with "eof" although every client would have noticed
// the close and reconnected.)
func peerClosed(raw net.Conn) bool {
	sc, ok := raw.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	var closed bool
	var buf [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: nothing to read, alive. Otherwise n == 0 (EOF), n > 0
		// (unsolicited bytes) or an error such as ECONNRESET: not usable.
		closed = !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR)
		return true // never wait for readiness
	})
	return closed || err != nil
}
