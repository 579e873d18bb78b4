package cli

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piv-gate/piv/internal/fleettest"
)

// benchFleet is the workload: 3 nodes + the service, each answering
// with 5 ms added latency and a second open TCP port; technical PIV with 2
// ports, health with 1 JSON assertion, version; latency sampling off.
func benchFleet(b *testing.B) (*fleettest.Fleet, int) {
	f := fleettest.Three(b, func(i int, s *fleettest.Spec) { s.Latency = 5 * time.Millisecond })
	// A second port, open on every node address and on the balancer's.
	var port int
	for try := 0; try < 20 && port == 0; try++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		p := ln.Addr().(*net.TCPAddr).Port
		lns := []net.Listener{ln}
		ok := true
		for _, ip := range []string{"127.0.0.2", "127.0.0.3", "127.0.0.4"} {
			l, err := net.Listen("tcp", fmt.Sprintf("%s:%d", ip, p))
			if err != nil {
				ok = false
				break
			}
			lns = append(lns, l)
		}
		for _, l := range lns {
			l := l
			if !ok {
				l.Close()
				continue
			}
			b.Cleanup(func() { l.Close() })
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
		}
		if ok {
			port = p
		}
	}
	y := f.YAML("")
	y = strings.Replace(y, "ports: ["+f.Port()+"]", fmt.Sprintf("ports: [%s, %d]", f.Port(), port), 1)
	y = strings.Replace(y, "    json: { status: UP, checks.db: UP }", "    json: { status: UP }", 1)
	y = strings.Replace(y, "  latency: { path: /health, samples: 5, p95: 2s }\n", "", 1)
	y = strings.Replace(y, "settle: { consecutive: 2 }", "settle: { consecutive: 1 }", 1)
	os.WriteFile(filepath.Join(f.Dir, "quote.yaml"), []byte(y), 0o644)
	return f, port
}

// BenchmarkGateProcess: `piv run quote --service --label-filter technical`
// as a whole process (fork/exec, config, facts, Ginkgo, reports).
func BenchmarkGateProcess(b *testing.B) {
	f, _ := benchFleet(b)
	out := b.TempDir()
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		cmd := exec.Command(pivBin, "run", "quote", "--service", "--expect-version", "2.4.1", "--label-filter", "technical",
			"--settle", "0s", "--config", f.Dir, "--out", filepath.Join(out, fmt.Sprint(i)))
		if outb, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, outb)
		}
		times = append(times, time.Since(start))
	}
	b.ReportMetric(ms(median(times)), "median-ms")
}

// BenchmarkFloorClient: the same facts with a hand-written concurrent
// net/http client (fresh transports per target, as a new process has).
func BenchmarkFloorClient(b *testing.B) {
	f, port := benchFleet(b)
	pool := f.CA.Pool()
	targets := []string{f.LBAddr}
	for _, n := range f.Nodes {
		targets = append(targets, n.Addr)
	}
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		var wg sync.WaitGroup
		for _, addr := range targets {
			addr := addr
			host, _, _ := net.SplitHostPort(addr)
			tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: fleettest.Host, RootCAs: pool},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				}}
			c := &http.Client{Transport: tr}
			for _, a := range []string{addr, fmt.Sprintf("%s:%d", host, port)} {
				a := a
				wg.Add(1)
				go func() {
					defer wg.Done()
					c, err := net.Dial("tcp", a)
					if err == nil {
						c.Close()
					}
				}()
			}
			for _, p := range []string{"/health", "/version"} {
				p := p
				wg.Add(1)
				go func() {
					defer wg.Done()
					r, err := c.Get("https://" + fleettest.Host + ":" + f.Port() + p)
					if err != nil {
						b.Error(err)
						return
					}
					r.Body.Close()
				}()
			}
		}
		wg.Wait()
		times = append(times, time.Since(start))
	}
	b.ReportMetric(ms(median(times)), "median-ms")
}

// BenchmarkBrowserJourneyProcess: one target, the journey (open the
// quote page, fill, click, wait for the premium) as a whole process,
// Chromium launch and close included.
func BenchmarkBrowserJourneyProcess(b *testing.B) {
	f := fleettest.Three(b, func(i int, s *fleettest.Spec) { s.Password = "bench-password" })
	out := b.TempDir()
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		cmd := exec.Command(pivBin, "run", "quote", "--node", "app-02", "--label-filter", "browser", "--focus", "quote page", "--settle", "0s",
			"--config", f.Dir, "--out", filepath.Join(out, fmt.Sprint(i)))
		cmd.Env = append(os.Environ(), "QUOTE_TEST_PASSWORD=bench-password")
		if outb, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, outb)
		}
		times = append(times, time.Since(start))
	}
	b.ReportMetric(ms(median(times)), "median-ms")
}

// BenchmarkAPIJourneyProcess: one target, the API journeys, whole process.
func BenchmarkAPIJourneyProcess(b *testing.B) {
	f := fleettest.Three(b, nil)
	out := b.TempDir()
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		cmd := exec.Command(pivBin, "run", "quote", "--node", "app-02", "--label-filter", "functional && !browser", "--settle", "0s",
			"--config", f.Dir, "--out", filepath.Join(out, fmt.Sprint(i)))
		if outb, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v\n%s", err, outb)
		}
		times = append(times, time.Since(start))
	}
	b.ReportMetric(ms(median(times)), "median-ms")
}

func median(ts []time.Duration) time.Duration {
	if len(ts) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ts...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
