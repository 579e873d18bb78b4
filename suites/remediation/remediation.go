// Package remediation registers the checks of the remediation record given
// to `piv run --remediation FILE` (label remediation): one check per item of
// the record and per target, so that gate.json says, node by node, which
// component version was seen, which protocol was offered or refused, which
// header and status came back. In service scope every node is checked on its
// own as well as the service: round robin must not hide an unpatched node.
// It is blank-imported by cli, so every gate binary has it.
package remediation

import (
	"fmt"
	"sort"
	"sync"

	. "github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/piv"
	rem "github.com/piv-gate/piv/pkg/remediation"
	"github.com/piv-gate/piv/pkg/target"
)

// facts are gathered once per run, for every target concurrently, by the
// first check that needs them; every check then only judges.
type facts struct {
	once sync.Once
	by   map[string][]rem.Outcome // target name -> outcomes in item order
}

func (f *facts) get(r *piv.Run, rec *rem.Record, targets []target.Target) map[string][]rem.Outcome {
	f.once.Do(func() {
		f.by = map[string][]rem.Outcome{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for _, t := range targets {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out := rem.Evaluate(rec, rem.Gather(r.Ctx, rec, t))
				mu.Lock()
				f.by[t.Name] = out
				mu.Unlock()
			}()
		}
		wg.Wait()
	})
	return f.by
}

var _ = Describe("remediation", piv.Remediation, SpecPriority(90), func() {
	r, rec := piv.Current(), rem.Current()
	if r == nil || rec == nil || !rec.HasApp(r.App.App) {
		return
	}
	targets := []target.Target{r.Target}
	targets = append(targets, r.Nodes...)
	f := &facts{}
	for i, it := range rec.Items() {
		for _, t := range targets {
			name := fmt.Sprintf("%s %s", rec.ID, it.Desc)
			if len(targets) > 1 {
				name += " on " + string(t.Scope)
				if t.Scope != target.ScopeService {
					name += " " + t.Name
				}
			}
			It(name, func() {
				outs := f.get(r, rec, targets)[t.Name]
				if i >= len(outs) {
					Fail(fmt.Sprintf("%s on %s: nothing was gathered (run interrupted?)", it.Key, t.Where()))
				}
				o := outs[i]
				keys := make([]string, 0, len(o.Observed))
				for k := range o.Observed {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					piv.Observe(k, o.Observed[k])
				}
				piv.Observe("scope", string(t.Scope))
				if !o.Pass {
					Fail(fmt.Sprintf("%s (%s:%d)", o.Message, rec.File, it.Line))
				}
			})
		}
	}
})
