package probe

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestReason(t *testing.T) {
	opErr := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: err}}
	}
	cases := []struct {
		err     error
		elapsed time.Duration
		want    string
	}{
		{nil, 0, ""},
		{opErr(syscall.ECONNREFUSED), 0, "connection refused"},
		{&url.Error{Op: "Get", URL: "https://quote.test/health", Err: opErr(syscall.ECONNREFUSED)}, 0, "connection refused"},
		{opErr(syscall.ECONNRESET), 0, "connection reset by peer"},
		{opErr(syscall.EHOSTUNREACH), 0, "no route to host"},
		{fmt.Errorf("dial: %w", context.DeadlineExceeded), 3*time.Second + 417*time.Microsecond, "timed out after 3s"},
		{&net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}, 1500 * time.Millisecond, "timed out after 1.5s"},
		{context.Canceled, 12 * time.Millisecond, "cancelled after 12ms"},
		{&net.DNSError{Name: "quote.test", Err: "no such host", IsNotFound: true}, 0, "cannot resolve quote.test: no such host"},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, 0, "server did not answer with TLS (plain text on a TLS port?)"},
		{io.ErrUnexpectedEOF, 0, "connection closed by server"},
		{fmt.Errorf("pinned to node app-02: refusing connection to other host evil.test:443"), 0, "pinned to node app-02: refusing connection to other host evil.test:443"},
	}
	for _, c := range cases {
		if got := reason(c.err, c.elapsed); got != c.want {
			t.Errorf("reason(%v) = %q, want %q", c.err, got, c.want)
		}
	}
}
