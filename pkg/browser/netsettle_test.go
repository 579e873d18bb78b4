package browser

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestTentativeAddressesAreSeen(t *testing.T) {
	dir := t.TempDir()
	old := ifInet6
	t.Cleanup(func() { ifInet6 = old })
	ifInet6 = filepath.Join(dir, "if_inet6")
	write := func(s string) { os.WriteFile(ifInet6, []byte(s), 0o644) }

	write("fe80000000000000a0b1c2fffed3e4f5 0000001c 40 20 c0 veth829f2e0\n00000000000000000000000000000001 00000001 80 10 80       lo\n")
	if !tentativeAddresses() {
		t.Fatal("flags c0 include IFA_F_TENTATIVE")
	}
	// Settles when the file says so: WaitNetworkSettled returns before its bound.
	go func() {
		time.Sleep(200 * time.Millisecond)
		write("fe80000000000000a0b1c2fffed3e4f5 0000001c 40 20 80 veth829f2e0\n")
	}()
	done := make(chan struct{})
	go func() { WaitNetworkSettled(context.Background()); close(done) }()
	select {
	case <-done:
	case <-time.After(NetSettleMax + 5*time.Second):
		t.Fatal("WaitNetworkSettled did not return")
	}
	if tentativeAddresses() {
		t.Fatal("flags 80 are not tentative")
	}
	ifInet6 = filepath.Join(dir, "missing")
	if tentativeAddresses() {
		t.Fatal("no file: nothing to wait for")
	}
}
