package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piv-gate/piv/fixtures/quoteapp/app"
	"github.com/piv-gate/piv/internal/fleettest"
)

// plainFleet is the issue 10 workload: the demo quote app on three nodes
// (127.0.0.2-4, one port) over plain HTTP, the first node standing in for
// the service address. It returns the config folder and each target's URL
// (nodes, then the service).
func plainFleet(b *testing.B) (string, []string) {
	var port string
	var lns []net.Listener
	for try := 0; try < 20 && lns == nil; try++ {
		first, err := net.Listen("tcp", "127.0.0.2:0")
		if err != nil {
			b.Fatal(err)
		}
		_, port, _ = net.SplitHostPort(first.Addr().String())
		got := []net.Listener{first}
		for _, ip := range []string{"127.0.0.3", "127.0.0.4"} {
			l, err := net.Listen("tcp", net.JoinHostPort(ip, port))
			if err != nil {
				break
			}
			got = append(got, l)
		}
		if len(got) == 3 {
			lns = got
		} else {
			for _, l := range got {
				l.Close()
			}
		}
	}
	if lns == nil {
		b.Fatal("no common free port on 127.0.0.2-4")
	}
	var urls []string
	for i, ln := range lns {
		srv := &http.Server{Handler: app.NewHandler(app.Options{Node: fmt.Sprintf("app-0%d", i+1), Version: "2.4.1", Password: "bench-password"})}
		go srv.Serve(ln)
		b.Cleanup(func() { srv.Close() })
		urls = append(urls, "http://"+ln.Addr().String()+"/")
	}
	urls = append(urls, urls[0])
	dir := b.TempDir()
	y := fmt.Sprintf(`app: quote
service:
  url: http://quote.test:%[1]s
  address: 127.0.0.2:%[1]s
nodes:
  - { name: app-01, address: 127.0.0.2 }
  - { name: app-02, address: 127.0.0.3 }
  - { name: app-03, address: 127.0.0.4 }
technical:
  ports: [%[1]s]
  health: { path: /health, status: 200, json: { status: UP } }
  version: { path: /version, json: version }
settle: { consecutive: 1 }
suites: [quote]
`, port)
	os.WriteFile(filepath.Join(dir, "quote.yaml"), []byte(y), 0o644)
	return dir, urls
}

var rodFloorOnce sync.Once
var rodFloorBin string

func rodFloor(b *testing.B) string {
	rodFloorOnce.Do(func() {
		rodFloorBin = filepath.Join(os.TempDir(), fmt.Sprintf("piv-rodjourney-%d", os.Getpid()))
		cmd := exec.Command("go", "build", "-o", rodFloorBin, "github.com/piv-gate/piv/internal/floor/rodjourney")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("building the go-rod floor: %v\n%s", err, out)
		}
	})
	return rodFloorBin
}

func timeProcess(b *testing.B, env []string, name string, args ...string) time.Duration {
	start := time.Now()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out.String())
	}
	return time.Since(start)
}

func benchProcess(b *testing.B, env []string, name string, args func(i int) []string) {
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		times = append(times, timeProcess(b, env, name, args(i)...))
	}
	b.ReportMetric(ms(median(times)), "median-ms")
}

var benchEnv = []string{"QUOTE_TEST_PASSWORD=bench-password"}

// B1: the quote page journey on one target, whole piv process.
func BenchmarkB1(b *testing.B) {
	dir, _ := plainFleet(b)
	out := b.TempDir()
	benchProcess(b, benchEnv, pivBin, func(i int) []string {
		return []string{"run", "quote", "--node", "app-02", "--label-filter", "browser", "--focus", "quote page", "--settle", "0s",
			"--config", dir, "--out", filepath.Join(out, fmt.Sprint(i))}
	})
}

// B1Floor: a bare go-rod program doing the same journey on one target.
func BenchmarkB1Floor(b *testing.B) {
	_, urls := plainFleet(b)
	bin := rodFloor(b)
	benchProcess(b, nil, bin, func(int) []string { return []string{urls[1]} })
}

// B4: the journey on 3 nodes + the service with --fleet, whole process.
func BenchmarkB4(b *testing.B) {
	dir, _ := plainFleet(b)
	out := b.TempDir()
	benchProcess(b, benchEnv, pivBin, func(i int) []string {
		return []string{"run", "quote", "--fleet", "--label-filter", "browser", "--focus", "quote page", "--settle", "0s",
			"--config", dir, "--out", filepath.Join(out, fmt.Sprint(i))}
	})
}

// B4Floor: the bare go-rod program doing the four targets one after
// another in one browser.
func BenchmarkB4Floor(b *testing.B) {
	_, urls := plainFleet(b)
	bin := rodFloor(b)
	benchProcess(b, nil, bin, func(int) []string { return urls })
}

// W1: technical PIV + the API round trip on 3 nodes + the service with
// --fleet, on the gate benchmark's fleet (TLS, 5 ms added latency, two ports).
func BenchmarkW1(b *testing.B) {
	f, _ := benchFleet(b)
	out := b.TempDir()
	benchProcess(b, nil, pivBin, func(i int) []string {
		return []string{"run", "quote", "--fleet", "--label-filter", "technical || (functional && !browser)", "--settle", "0s",
			"--config", f.Dir, "--out", filepath.Join(out, fmt.Sprint(i))}
	})
}

// W1Floor: a bare net/http client doing the same round trips concurrently
// on the four targets (fresh transports, as a new process has): both ports,
// health, version, and the API journey (POST a quote, GET it back).
func BenchmarkW1Floor(b *testing.B) {
	f, port := benchFleet(b)
	pool := f.CA.Pool()
	targets := []string{f.LBAddr}
	for _, n := range f.Nodes {
		targets = append(targets, n.Addr)
	}
	base := "https://" + fleettest.Host + ":" + f.Port()
	var times []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		var wg sync.WaitGroup
		for _, addr := range targets {
			host, _, _ := net.SplitHostPort(addr)
			c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{ServerName: fleettest.Host, RootCAs: pool},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, addr)
				}}, Timeout: 10 * time.Second}
			for _, a := range []string{addr, fmt.Sprintf("%s:%d", host, port)} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if conn, err := net.Dial("tcp", a); err == nil {
						conn.Close()
					}
				}()
			}
			for _, p := range []string{"/health", "/version"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if r, err := c.Get(base + p); err == nil {
						io.Copy(io.Discard, r.Body)
						r.Body.Close()
					} else {
						b.Error(err)
					}
				}()
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := c.Post(base+"/api/quotes", "application/json", strings.NewReader(`{"product":"motor","driverAge":35}`))
				if err != nil {
					b.Error(err)
					return
				}
				body, _ := io.ReadAll(r.Body)
				r.Body.Close()
				parts := strings.SplitN(string(body), `"id":"`, 2)
				if len(parts) < 2 {
					b.Errorf("no id in %s", body)
					return
				}
				id := strings.SplitN(parts[1], `"`, 2)[0]
				if r, err := c.Get(base + "/api/quotes/" + id); err == nil {
					io.Copy(io.Discard, r.Body)
					r.Body.Close()
				}
			}()
		}
		wg.Wait()
		times = append(times, time.Since(start))
	}
	b.ReportMetric(ms(median(times)), "median-ms")
}
