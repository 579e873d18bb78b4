// Package technical registers the generic technical PIV: specs generated
// from the app definition (ports, TLS, health, version, latency). Facts are
// gathered once, concurrently for every target and probe under the run's
// deadline, by the first spec that needs them; each spec then only judges
// (pkg/verify), so a gate costs about one round trip, not one per check.
//
// Every spec records what it saw (piv.Observe), on pass as on failure, and
// the time its own probe took (piv.ProbeSeconds): the spec that happened to
// gather the facts would otherwise carry the whole gathering and every other
// spec 0 s.
package technical

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	. "github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/piv"
	"github.com/piv-gate/piv/pkg/probe"
	"github.com/piv-gate/piv/pkg/target"
	"github.com/piv-gate/piv/pkg/verify"
)

// facts are gathered at most once per run.
type facts struct {
	once    sync.Once
	primary *probe.TargetFacts
	nodes   []*probe.TargetFacts
}

func (f *facts) get(r *piv.Run) *facts {
	f.once.Do(func() {
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			all := probe.Gather(r.Ctx, r.App, []target.Target{r.Target}, probe.Options{
				Latency: r.App.Technical.Latency != nil,
				LatencyAccept: func(h probe.HTTPFact) string {
					return verify.LatencyAnswer(h, r.App.Technical, r.Target)
				},
			})
			f.primary = all.Targets[r.Target.Name]
			if f.primary == nil {
				f.primary = &probe.TargetFacts{Target: r.Target}
			}
		}()
		if len(r.Nodes) > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				all := probe.Gather(r.Ctx, r.App, r.Nodes, probe.Options{Latency: false})
				for _, n := range r.Nodes {
					nf := all.Targets[n.Name]
					if nf == nil {
						nf = &probe.TargetFacts{Target: n}
					}
					f.nodes = append(f.nodes, nf)
				}
			}()
		}
		wg.Wait()
	})
	return f
}

func check(err error) {
	if err != nil {
		Fail(err.Error(), 1)
	}
}

// observe records a fact's description and its probe's duration for the
// current check (gate.json checks[].observed, durationSeconds). The fact's
// own "seconds" is the probe's duration, recorded once as probeSeconds.
func observe(seconds float64, observed map[string]any) {
	for k, v := range observed {
		if k != "seconds" {
			piv.Observe(k, v)
		}
	}
	piv.Observe(piv.ProbeSeconds, seconds)
}

// byNode records one observation per node under "nodes" and, as the check's
// duration, the slowest node's probe: they ran side by side.
func byNode(nodes []*probe.TargetFacts, describe func(*probe.TargetFacts) (float64, map[string]any)) {
	all := map[string]any{}
	slowest := 0.0
	for _, nf := range nodes {
		secs, m := describe(nf)
		all[nf.Target.Name] = m
		slowest = max(slowest, secs)
	}
	piv.Observe("nodes", all)
	piv.Observe(piv.ProbeSeconds, slowest)
}

// Technical checks run first: they are cheap, and when one fails it explains
// the functional failures that follow.
var _ = Describe("technical", piv.Technical, SpecPriority(100), func() {
	r := piv.Current()
	if r == nil {
		return
	}
	f := &facts{}
	app, t := r.App, r.Target
	tc := app.Technical

	for _, port := range tc.Ports {
		port := port
		It(fmt.Sprintf("port %d accepts TCP connections", port), func() {
			fact, ok := f.get(r).primary.TCP[port]
			if !ok {
				Fail(fmt.Sprintf("port %d on %s: no fact gathered (run interrupted?)", port, t.Where()))
			}
			observe(fact.Elapsed.Seconds(), fact.Observed())
			check(verify.Port(fact, port, t))
		})
	}

	if tls := tc.TLS; tls != nil {
		It(fmt.Sprintf("tls certificate is trusted and valid for %s", t.Host()), func() {
			fact := tlsFact(f.get(r), t)
			check(verify.TLSTrusted(fact, t))
		})
		if tls.MinDaysValid > 0 {
			It(fmt.Sprintf("tls certificate is valid for at least %d more days", tls.MinDaysValid), func() {
				fact := tlsFact(f.get(r), t)
				check(verify.TLSDaysLeft(fact, tls.MinDaysValid, t))
			})
		}
		It(fmt.Sprintf("tls protocol is at least %s", tls.MinVersion), func() {
			got := f.get(r)
			fact := tlsFact(got, t)
			// The handshake capped below the minimum ran beside the
			// main one; the check took as long as the slower.
			if below := got.primary.TLSBelow; below != nil {
				piv.Observe("belowMinimum", withoutSeconds(below.Observed()))
				piv.Observe(piv.ProbeSeconds, max(fact.Elapsed.Seconds(), below.Elapsed.Seconds()))
			}
			check(verify.TLSVersion(fact, got.primary.TLSBelow, tls.MinVersion, t))
		})
	}

	if h := tc.Health; h != nil {
		It(fmt.Sprintf("health %s answers %d%s", h.Path, h.Status, expectations(h)), piv.Smoke, func() {
			hf := f.get(r).primary.Health
			if hf == nil {
				Fail("health: no fact gathered on " + t.Where())
			}
			observe(hf.Elapsed.Seconds(), hf.Observed(jsonPaths(h)...))
			check(verify.Health(*hf, h, t))
		})
	}

	// Service scope: the pool as a whole. The nodes' facts are gathered
	// anyway (one round trip, concurrently); judging them here is what tells
	// a deployer, after the last node, that no node was left unhealthy.
	if len(r.Nodes) > 0 && tc.Health != nil {
		It(fmt.Sprintf("health every node (%d) answers %s with %d", len(r.Nodes), tc.Health.Path, tc.Health.Status), func() {
			nodes := f.get(r).nodes
			byNode(nodes, func(nf *probe.TargetFacts) (float64, map[string]any) {
				if nf.Health == nil {
					return 0, nil
				}
				return nf.Health.Elapsed.Seconds(), nf.Health.Observed(jsonPaths(tc.Health)...)
			})
			var problems []string
			for _, nf := range nodes {
				if nf.Health == nil {
					problems = append(problems, nf.Target.Where()+": no health fact gathered")
				} else if err := verify.Health(*nf.Health, tc.Health, nf.Target); err != nil {
					problems = append(problems, err.Error())
				}
			}
			if len(problems) > 0 {
				Fail(strings.Join(problems, "\n"))
			}
		})
	}
	if len(r.Nodes) > 0 && tc.TLS != nil {
		It(fmt.Sprintf("tls every node (%d) presents a trusted certificate for %s", len(r.Nodes), t.Host()), func() {
			nodes := f.get(r).nodes
			byNode(nodes, func(nf *probe.TargetFacts) (float64, map[string]any) {
				if nf.TLS == nil {
					return 0, nil
				}
				return nf.TLS.Elapsed.Seconds(), nf.TLS.Observed()
			})
			var problems []string
			for _, nf := range nodes {
				if nf.TLS == nil {
					problems = append(problems, nf.Target.Where()+": no TLS fact gathered")
				} else if err := verify.TLSTrusted(*nf.TLS, nf.Target); err != nil {
					problems = append(problems, err.Error())
				}
			}
			if len(problems) > 0 {
				Fail(strings.Join(problems, "\n"))
			}
		})
	}

	if v := tc.Version; v != nil {
		name := "version reports the expected version"
		if r.ExpectedVersion == "" {
			name = "version reports a version (no --expect-version given)"
		}
		It(name, func() {
			vf := f.get(r).primary.Version
			if vf == nil {
				Fail("version: no fact gathered on " + t.Where())
			}
			got, err := verify.Version(*vf, v, r.ExpectedVersion, t)
			if got != "" {
				r.ObserveVersion(got)
			}
			observed := vf.Observed(v.JSON)
			observed["version"] = got
			if r.ExpectedVersion != "" {
				observed["expectedVersion"] = r.ExpectedVersion
			}
			observe(vf.Elapsed.Seconds(), observed)
			check(err)
		})
		if len(r.Nodes) > 0 {
			It(fmt.Sprintf("version is the same on every node (%d nodes)", len(r.Nodes)), func() {
				byVersion := map[string][]string{}
				versions := map[string]any{}
				slowest := 0.0
				var problems []string
				nodes := f.get(r).nodes
				defer func() {
					// Recorded whatever the outcome: the versions per node
					// are the evidence of a consistent pool.
					piv.Observe("versions", versions)
					piv.Observe(piv.ProbeSeconds, slowest)
				}()
				for _, nf := range nodes {
					if nf.Version == nil {
						problems = append(problems, nf.Target.Where()+": no fact gathered")
						continue
					}
					got, err := verify.Version(*nf.Version, v, r.ExpectedVersion, nf.Target)
					slowest = max(slowest, nf.Version.Elapsed.Seconds())
					versions[nf.Target.Name] = got
					if err != nil {
						problems = append(problems, err.Error())
					}
					if got != "" {
						byVersion[got] = append(byVersion[got], nf.Target.Name)
					}
				}
				if len(byVersion) > 1 {
					var parts []string
					for ver, nodes := range byVersion {
						parts = append(parts, fmt.Sprintf("%s on %s", ver, strings.Join(nodes, ", ")))
					}
					sort.Strings(parts)
					problems = append([]string{"nodes run different versions: " + strings.Join(parts, "; ")}, problems...)
				}
				if len(problems) > 0 {
					Fail(strings.Join(problems, "\n"))
				}
			})
		}
	}

	if l := tc.Latency; l != nil {
		It(fmt.Sprintf("latency p95 of %s is within %s over %d samples", l.Path, l.P95.D(), l.Samples), func() {
			lf := f.get(r).primary.Latency
			if lf == nil {
				Fail("latency: no fact gathered on " + t.Where())
			}
			observed := lf.Observed()
			observed["p95BudgetSeconds"] = l.P95.D().Seconds()
			observe(lf.Elapsed.Seconds(), observed)
			check(verify.Latency(*lf, l, t))
		})
	}
})

// tlsFact is the primary target's TLS fact, recorded as the check's
// observation.
func tlsFact(f *facts, t target.Target) probe.TLSFact {
	if f.primary.TLS == nil {
		Fail("tls: no fact gathered on " + t.Where())
	}
	fact := *f.primary.TLS
	observe(fact.Elapsed.Seconds(), fact.Observed())
	return fact
}

// withoutSeconds is an observation whose own duration is already counted in
// the check's probeSeconds.
func withoutSeconds(m map[string]any) map[string]any {
	delete(m, "seconds")
	return m
}

// jsonPaths are the gjson paths a health check judges.
func jsonPaths(h *config.Health) []string {
	paths := make([]string, len(h.JSON))
	for i, e := range h.JSON {
		paths[i] = e.Path
	}
	return paths
}

// expectations renders " with status=UP, checks.db=UP" for a spec name.
func expectations(h *config.Health) string {
	if len(h.JSON) == 0 {
		return ""
	}
	parts := make([]string, len(h.JSON))
	for i, e := range h.JSON {
		parts[i] = e.Path + "=" + e.Want
	}
	return " with " + strings.Join(parts, ", ")
}
