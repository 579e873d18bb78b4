package remediation

import (
	"fmt"
	"strings"
	"sync"

	"github.com/piv-gate/piv/pkg/gate"
)

// Label is the label every check from a record carries.
const Label = "remediation"

var (
	mu      sync.RWMutex
	current *Record
)

// Bind makes rec the record of this run (piv run --remediation), before the
// specs are built; nil unbinds.
func Bind(rec *Record) {
	mu.Lock()
	defer mu.Unlock()
	current = rec
}

// Current is the bound record, or nil.
func Current() *Record {
	mu.RLock()
	defer mu.RUnlock()
	return current
}

// Identify is what gate.json carries about the record.
func (r *Record) Identify() *gate.Remediation {
	return &gate.Remediation{ID: r.ID, CVEs: append([]string(nil), r.CVEs...)}
}

// Unverified returns why a gate run with rec has not verified it, or "" when
// at least one check of every item ran. A --label-filter or --focus that
// leaves out the remediation checks would otherwise let a gate "pass" with
// the record attached and nothing of it checked.
func Unverified(res *gate.Result, rec *Record) string {
	ran := map[string]bool{}
	for _, c := range res.Checks {
		if c.State == gate.Skipped {
			continue
		}
		if it, ok := c.Observed["item"].(string); ok && c.Observed["remediation"] == rec.ID {
			ran[it] = true
		}
	}
	var missing []string
	for _, it := range rec.Items() {
		if !ran[it.Key] {
			missing = append(missing, it.Key)
		}
	}
	if len(missing) == 0 {
		return ""
	}
	return fmt.Sprintf("remediation %s: %d of its checks did not run (%s): the fix was not verified", rec.ID, len(missing), strings.Join(missing, "; "))
}
