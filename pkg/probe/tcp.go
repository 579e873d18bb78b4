package probe

import (
	"context"
	"net"
	"time"
)

// TCPFact is whether one address accepted a TCP connection.
type TCPFact struct {
	Addr      string
	Connected bool
	Elapsed   time.Duration
	Err       string // "connection refused", "timed out after 3s", …; empty when Connected
}

// TCP connects to addr (already pinned: use Target.PortAddress) and closes the
// connection at once. The connect is bounded by ctx and by tm.Connect, so a
// dropped SYN costs at most that, not the caller's whole budget.
func TCP(ctx context.Context, addr string, tm Timeouts) TCPFact {
	tm = tm.withDefaults()
	start := time.Now()
	d := net.Dialer{Timeout: tm.Connect}
	conn, err := d.DialContext(ctx, "tcp", addr)
	f := TCPFact{Addr: addr, Elapsed: time.Since(start)}
	if err != nil {
		f.Err = reason(err, f.Elapsed)
		return f
	}
	conn.Close()
	f.Connected = true
	return f
}
