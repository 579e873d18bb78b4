package evidence

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
)

// fleet writes n gate.json files spread over 38 apps of 3 nodes each, the
// way a programme's reports folder looks: node gates and nightly runs, the
// record's checks next to ten technical and functional ones, a third of the
// runs from before the record existed. One node (app00 n2) failed once
// between passes; reports-reread says whether walking order made a second
// look necessary.
func fleet(tb testing.TB, root string, from, n int) []App {
	tb.Helper()
	var apps []App
	for a := 0; a < 38; a++ {
		apps = append(apps, App{Name: fmt.Sprintf("app%02d", a), Nodes: []string{"n1", "n2", "n3"}, Exposure: "external"})
	}
	for i := from; i < from+n; i++ {
		app := apps[i%38]
		node := app.Nodes[(i/38)%3]
		at := detected.Add(time.Duration(i) * time.Minute)
		runID := fmt.Sprintf("%s-%s-node-%s-%d", at.Format("20060102T150405Z"), app.Name, node, i)
		res := gate.Result{Schema: gate.Schema, Piv: "v0.9.0", RunID: runID, App: app.Name, StartedAt: at, Verdict: gate.Pass,
			Target:          gate.Target{Scope: "node", Node: node, Address: "10.0.0.1:8443", URL: "https://" + app.Name + ".test:8443"},
			ExpectedVersion: "2.4.1", ObservedVersion: "2.4.1", DurationSeconds: 0.84,
			Summary: gate.Summary{Total: 12, Passed: 12}}
		for c := 0; c < 10; c++ {
			res.Checks = append(res.Checks, gate.Check{Name: fmt.Sprintf("technical check number %d of the gate", c), Suite: "technical",
				Labels: []string{"technical"}, State: gate.Passed, Blocking: true, Attempts: 1, DurationSeconds: 0.004,
				Steps: []string{"connecting", "judging"}, Attachments: []gate.Attachment{},
				Observed: map[string]any{"status": 200, "tlsVersion": "1.3", "subject": "CN=" + app.Name + ".test", "daysLeft": 29.5}})
		}
		if i%3 != 0 {
			res.Remediation = &gate.Remediation{ID: "CHG-2026-0412", CVEs: []string{"CVE-2026-1234"}}
			ok := !(node == "n2" && i%38 == 0 && i/38 == 10) // the one regression
			for _, key := range []string{"component openssl", "tls 1.1"} {
				st := gate.Passed
				if !ok && key == "component openssl" {
					st = gate.Failed
				}
				res.Checks = append(res.Checks, gate.Check{Name: "CHG-2026-0412 " + key, Labels: []string{"remediation"}, State: st,
					Blocking: true, Attempts: 1, Attachments: []gate.Attachment{},
					Observed: map[string]any{"remediation": "CHG-2026-0412", "item": key, "target": node, "scope": "node", "seen": "3.0.15", "expected": ">= 3.0.15"}})
			}
		}
		dir := filepath.Join(root, app.Name, runID)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			tb.Fatal(err)
		}
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(filepath.Join(dir, "gate.json"), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return apps
}

const benchPeakInterval = time.Millisecond

// peakHeap runs f while sampling the live heap, and returns its maximum.
// The GC runs at 5% growth meanwhile, so the peak follows what is live
// rather than when the collector happens to run.
func peakHeap(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
		t := time.NewTicker(benchPeakInterval)
		defer t.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak.Load()
}

// BenchmarkEvidence reads 1,000 and 10,000 gate.json files (38 apps x many
// runs). Acceptance: 10,000 in under 2 s, memory flat in the number of
// files: B/file (allocated per file read) and the peak live heap are
// reported for both sizes, and peak-heap-ratio is the 10k peak over the 1k
// peak (about 1 when nothing is held per file; 10 if reports were kept).
func BenchmarkEvidence(b *testing.B) {
	base := b.TempDir()
	benchA, benchB := filepath.Join(base, "a"), filepath.Join(base, "b")
	apps := fleet(b, benchA, 0, 1000)
	fleet(b, benchB, 1000, 9000)
	rec := rec(b, record)
	var peak1k uint64
	for _, c := range []struct {
		name string
		dirs []string
		want int
	}{{"files=1000", []string{benchA}, 1000}, {"files=10000", []string{benchA, benchB}, 10000}} {
		b.Run(c.name, func(b *testing.B) {
			var r *Report
			// Peak live heap, measured once outside the timed loop.
			peak := peakHeap(func() {
				if _, err := Build(Options{Record: rec, Apps: apps, Dirs: c.dirs, Now: detected.Add(30 * 24 * time.Hour)}); err != nil {
					b.Fatal(err)
				}
			})
			var before, after runtime.MemStats
			b.ReportAllocs()
			runtime.ReadMemStats(&before)
			cpu0 := cpuTime()
			n := 0
			for b.Loop() {
				n++
				var err error
				r, err = Build(Options{Record: rec, Apps: apps, Dirs: c.dirs, Now: detected.Add(30 * 24 * time.Hour)})
				if err != nil {
					b.Fatal(err)
				}
			}
			if r.Scan.Files != c.want {
				b.Fatalf("read %d files, want %d", r.Scan.Files, c.want)
			}
			cpu := cpuTime() - cpu0
			runtime.ReadMemStats(&after)
			// CPU time (user + system) beside wall time: on a shared machine
			// the wall clock includes waiting for the other tenants' work.
			b.ReportMetric(float64(cpu.Milliseconds())/float64(n), "cpu-ms/op")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n*c.want), "B/file")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(c.want), "files/op")
			b.ReportMetric(float64(r.Scan.Reread), "reread-files/op")
			if c.want == 1000 {
				peak1k = peak
			} else if peak1k > 0 {
				b.ReportMetric(float64(peak)/float64(peak1k), "peak-heap-ratio-10k/1k")
			}
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
