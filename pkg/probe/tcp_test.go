package probe

import (
	"context"
	"testing"
	"time"
)

func TestTCPOpenPort(t *testing.T) {
	ln := listen(t, "127.0.0.2", 0)
	acceptAndClose(t, ln)
	f := TCP(t.Context(), ln.Addr().String(), Timeouts{})
	if !f.Connected || f.Err != "" || f.Addr != ln.Addr().String() {
		t.Fatalf("want connected, got %+v", f)
	}
}

func TestTCPClosedPortIsRefused(t *testing.T) {
	ln := listen(t, "127.0.0.2", 0)
	addr := ln.Addr().String()
	ln.Close()
	// The bound is generous on purpose: it only proves the probe does not
	// wait for the connect timeout (a refusal is immediate on loopback).
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	f := TCP(ctx, addr, Timeouts{})
	if f.Connected || f.Err != "connection refused" {
		t.Fatalf("want refused, got %+v", f)
	}
}

func TestTCPContextEndedIsTimedOut(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	f := TCP(ctx, "127.0.0.2:1", Timeouts{})
	if f.Connected || f.Err == "" {
		t.Fatalf("want failure, got %+v", f)
	}
	if f.Err != "cancelled after "+round(f.Elapsed).String() {
		t.Fatalf("Err = %q", f.Err)
	}
}
