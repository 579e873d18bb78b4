package watch

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"syscall"
	"testing"
	"time"
)

const ms = time.Millisecond

// seq feeds "." (ok) and letters (failures of a kind) at 50 ms steps.
func seq(t *testing.T, pattern string) *Tracker {
	t.Helper()
	kinds := map[rune]Kind{'.': KindOK, 'r': KindConnectRefused, 'x': KindReset, 'e': KindEOF, 't': KindTimeout, '5': KindHTTP5xx}
	tr := &Tracker{}
	for i, c := range pattern {
		k, ok := kinds[c]
		if !ok {
			t.Fatalf("bad pattern rune %q", c)
		}
		tr.Add(time.Duration(i)*50*ms, k)
	}
	return tr
}

func TestTrackerIntervals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		pattern string
		want    []Outage
		longest time.Duration
	}{
		{"all ok", ".....", nil, 0},
		{"failure at start", "rr...", []Outage{{Start: 0, End: 100 * ms, FailedSamples: 2, Kinds: KindSet(0).With(KindConnectRefused)}}, 100 * ms},
		{"failure at end is ongoing until the run end", "...rr", []Outage{{Start: 150 * ms, End: 250 * ms, Ongoing: true, FailedSamples: 2, Kinds: KindSet(0).With(KindConnectRefused)}}, 100 * ms},
		{"single failure lasts until the next success", "..5..", []Outage{{Start: 100 * ms, End: 150 * ms, FailedSamples: 1, Kinds: KindSet(0).With(KindHTTP5xx)}}, 50 * ms},
		{"flapping gives one interval per failure run", ".r.r.rr.", []Outage{
			{Start: 50 * ms, End: 100 * ms, FailedSamples: 1, Kinds: KindSet(0).With(KindConnectRefused)},
			{Start: 150 * ms, End: 200 * ms, FailedSamples: 1, Kinds: KindSet(0).With(KindConnectRefused)},
			{Start: 250 * ms, End: 350 * ms, FailedSamples: 2, Kinds: KindSet(0).With(KindConnectRefused)},
		}, 100 * ms},
		{"several kinds in one outage", ".xrrte.", []Outage{{Start: 50 * ms, End: 300 * ms, FailedSamples: 5,
			Kinds: KindSet(0).With(KindReset).With(KindConnectRefused).With(KindTimeout).With(KindEOF)}}, 250 * ms},
		{"never ok", "rrr", []Outage{{Start: 0, End: 150 * ms, Ongoing: true, FailedSamples: 3, Kinds: KindSet(0).With(KindConnectRefused)}}, 150 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := seq(t, tc.pattern)
			got, dropped, longest := tr.Finish(time.Duration(len(tc.pattern)) * 50 * ms)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("outages\n got %+v\nwant %+v", got, tc.want)
			}
			if dropped != 0 || longest != tc.longest {
				t.Errorf("dropped %d longest %v, want 0 %v", dropped, longest, tc.longest)
			}
		})
	}
}

func TestTrackerBoundsKeptOutages(t *testing.T) {
	tr := &Tracker{}
	n := maxOutagesKept + 5
	for i := 0; i < n; i++ {
		tr.Add(time.Duration(2*i)*ms, KindReset)
		tr.Add(time.Duration(2*i+1)*ms, KindOK)
	}
	tr.Add(time.Duration(2*n)*ms, KindReset)
	tr.Add(time.Duration(2*n+10)*ms, KindOK) // the longest comes after the bound
	got, dropped, longest := tr.Finish(time.Hour)
	if len(got) != maxOutagesKept || dropped != 6 || longest != 10*ms {
		t.Fatalf("kept %d dropped %d longest %v; want %d 6 10ms", len(got), dropped, longest, maxOutagesKept)
	}
}

func TestKindSetStrings(t *testing.T) {
	got := KindSet(0).With(KindHTTP5xx).With(KindConnectRefused).With(KindReset).Strings()
	want := []string{"connect refused", "reset", "http 5xx"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
}

func TestMergeUnitesStreams(t *testing.T) {
	r := KindSet(0).With(KindConnectRefused)
	x := KindSet(0).With(KindReset)
	fresh := []Outage{{Start: 100 * ms, End: 300 * ms, FailedSamples: 4, Kinds: r}, {Start: 1000 * ms, End: 1050 * ms, FailedSamples: 1, Kinds: r}}
	keep := []Outage{{Start: 80 * ms, End: 200 * ms, FailedSamples: 2, Kinds: x}, {Start: 300 * ms, End: 400 * ms, FailedSamples: 2, Kinds: x}}
	got := Merge(fresh, keep)
	want := []Outage{
		{Start: 80 * ms, End: 400 * ms, FailedSamples: 8, Kinds: r | x}, // touching intervals join
		{Start: 1000 * ms, End: 1050 * ms, FailedSamples: 1, Kinds: r},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("\n got %+v\nwant %+v", got, want)
	}
	if Longest(got) != 320*ms {
		t.Fatalf("longest %v", Longest(got))
	}
}

// The classification decides whose fault an error is: these are the cases
// that must never be blamed on the target.
func TestClassify(t *testing.T) {
	live := context.Background()
	dead, cancel := context.WithCancel(context.Background())
	cancel()
	op := func(op string, err error) error { return &net.OpError{Op: op, Net: "tcp", Err: err} }
	for _, tc := range []struct {
		name string
		ctx  context.Context
		ph   phase
		err  error
		kind Kind
		out  outcome
	}{
		{"refused", live, phaseDial, op("dial", os.NewSyscallError("connect", syscall.ECONNREFUSED)), KindConnectRefused, targetFailure},
		{"connect timeout", live, phaseDial, op("dial", os.ErrDeadlineExceeded), KindConnectTimeout, targetFailure},
		{"emfile is ours", live, phaseDial, op("dial", os.NewSyscallError("socket", syscall.EMFILE)), KindOther, samplerError},
		{"enobufs is ours", live, phaseHTTP, op("write", os.NewSyscallError("write", syscall.ENOBUFS)), KindOther, samplerError},
		{"no local port is ours", live, phaseDial, op("dial", os.NewSyscallError("connect", syscall.EADDRNOTAVAIL)), KindOther, samplerError},
		{"shutdown mid-sample is discarded", dead, phaseHTTP, op("read", syscall.ECONNRESET), KindOther, discard},
		{"reset", live, phaseHTTP, op("read", os.NewSyscallError("read", syscall.ECONNRESET)), KindReset, targetFailure},
		{"eof", live, phaseHTTP, io.ErrUnexpectedEOF, KindEOF, targetFailure},
		{"read timeout", live, phaseHTTP, op("read", os.ErrDeadlineExceeded), KindTimeout, targetFailure},
		{"tls", live, phaseTLS, errors.New("tls: handshake failure"), KindTLS, targetFailure},
		{"eof in handshake", live, phaseTLS, io.EOF, KindEOF, targetFailure},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k, out, _ := classify(tc.ctx, tc.ph, tc.err)
			if k != tc.kind || out != tc.out {
				t.Fatalf("got %v/%d want %v/%d", k, out, tc.kind, tc.out)
			}
		})
	}
}

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		spec, name, url, addr string
		pinned                bool
	}{
		{"https://quote.test:8443/health", "quote.test", "https://quote.test:8443/health", "quote.test:8443", false},
		{"http://quote.test", "quote.test", "http://quote.test/", "quote.test:80", false},
		{"lb=https://quote.test/health", "lb", "https://quote.test/health", "quote.test:443", false},
		{"app-01=https://quote.test:8443/health@127.0.0.2", "app-01", "https://quote.test:8443/health", "127.0.0.2:8443", true},
		{"https://quote.test:8443/@127.0.0.3:9443", "quote.test", "https://quote.test:8443/", "127.0.0.3:9443", true},
		{"n=https://quote.test/@::1", "n", "https://quote.test/", "[::1]:443", true},
	} {
		got, err := ParseTarget(tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		if got.Name != tc.name || got.URL != tc.url || got.Address != tc.addr || got.Pinned != tc.pinned || !got.Judged {
			t.Errorf("%s: got %+v", tc.spec, got)
		}
	}
	for _, bad := range []string{"quote.test:8443", "ftp://x/", "https://u:p@quote.test/", "https:///x", "https://quote.test/@"} {
		if _, err := ParseTarget(bad); err == nil {
			t.Errorf("%s: want an error", bad)
		}
	}
}

func TestConnectTo(t *testing.T) {
	tg, _ := ParseTarget("https://quote.test:8443/health")
	if ok, err := tg.ConnectTo("other.test:8443:127.0.0.9:1"); ok || err != nil {
		t.Fatalf("non-matching rule applied: %v %v", ok, err)
	}
	if ok, err := tg.ConnectTo("quote.test::127.0.0.2:"); !ok || err != nil || tg.Address != "127.0.0.2:8443" {
		t.Fatalf("got %v %v %s", ok, err, tg.Address)
	}
	if _, err := tg.ConnectTo("nonsense"); err == nil {
		t.Fatal("want an error")
	}
}
