package browser

import (
	"bufio"
	"context"
	"github.com/piv-gate/piv/pkg/timeouts"
	"os"
	"strconv"
	"strings"
	"time"
)

// Chromium aborts every in-flight request (net::ERR_NETWORK_CHANGED, or a
// page's own fetch() failing with "Failed to fetch") when a host interface
// address changes. Starting a container adds a veth whose IPv6 link-local
// address stays "tentative" for a second or two (duplicate address
// detection) and then changes state: if a journey is running at that moment
// it fails for reasons that have nothing to do with the app. So before a
// page is used, wait until no address is tentative.
// NetSettleMax bounds the wait (pkg/timeouts).
var NetSettleMax = timeouts.Default.NetSettle

const (
	netSettleEvery = 50 * time.Millisecond
	ifaTentative   = 0x40 // IFA_F_TENTATIVE in /proc/net/if_inet6
)

var ifInet6 = "/proc/net/if_inet6"

// WaitNetworkSettled returns once no IPv6 address on the host is tentative,
// or after NetSettleMax, or when ctx ends. Where the kernel does not expose
// /proc/net/if_inet6 (no IPv6, not Linux) it returns at once.
func WaitNetworkSettled(ctx context.Context) {
	deadline := time.NewTimer(NetSettleMax)
	defer deadline.Stop()
	tick := time.NewTicker(netSettleEvery)
	defer tick.Stop()
	for {
		if !tentativeAddresses() {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-deadline.C:
			return
		case <-tick.C:
		}
	}
}

func tentativeAddresses() bool {
	f, err := os.Open(ifInet6)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// address ifindex prefixlen scope flags name
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 {
			continue
		}
		flags, err := strconv.ParseUint(fields[4], 16, 32)
		if err == nil && flags&ifaTentative != 0 {
			return true
		}
	}
	return false
}
