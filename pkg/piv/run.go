// Package piv is the authoring surface for suites: what a QA engineer uses
// inside a spec. Everything here is bound to the current run (target, trust,
// run id, settings), so a spec reads like a specification and knows nothing of
// node pinning, certificates, retries or reporting.
package piv

import (
	"github.com/onsi/ginkgo/v2"

	"context"
	"fmt"
	"sync"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/target"
)

// Run is what the runner binds before the specs are built. Suites read it
// through the helpers in this package rather than directly.
type Run struct {
	ID              string
	App             *config.App
	Target          target.Target   // where the specs point
	Nodes           []target.Target // every node, for checks across the pool (service scope)
	ExpectedVersion string
	OutDir          string // report folder; attachments are written here
	// Ctx bounds work done outside a spec's own context (fact gathering).
	Ctx context.Context
	// Browser opens pages for the run; nil until the runner provides one.
	Browser BrowserProvider

	mu       sync.Mutex
	observed string
	abort    string
	missing  []string // secrets asked for but not set (secrets.go)
	// rootCause names the first blocking technical check that failed on
	// the target: functional specs after it are skipped (see Describe).
	rootCause string
	attachN   int
}

// BrowserProvider gives browser pages bound to a target. The runner supplies
// it lazily, so runs without browser specs never start Chromium.
type BrowserProvider interface {
	Page(ctx context.Context, t target.Target) (*Page, error)
}

var (
	curMu   sync.RWMutex
	current *Run
)

// Bind makes r the current run. The runner calls it once per process, before
// RunSpecs builds the spec tree.
func Bind(r *Run) {
	curMu.Lock()
	defer curMu.Unlock()
	if r.Ctx == nil {
		r.Ctx = context.Background()
	}
	current = r
}

// Current is the bound run, or nil outside a run (for example in a unit test
// that imports a suite package).
func Current() *Run {
	curMu.RLock()
	defer curMu.RUnlock()
	return current
}

func mustCurrent() *Run {
	r := Current()
	if r == nil {
		panic("piv: no run is bound: specs run only under `piv run` (or runner.Run)")
	}
	return r
}

// ObserveVersion records the version the target reported (gate.json observedVersion).
func (r *Run) ObserveVersion(v string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.observed = v
}

// ObservedVersion is the last version recorded.
func (r *Run) ObservedVersion() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.observed
}

// Abort marks the run inconclusive with reason (browser or Docker missing):
// the specs that needed it fail, and the verdict cannot be pass or fail.
func (r *Run) Abort(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.abort == "" {
		r.abort = reason
	}
}

// Aborted is the first abort reason, or "".
func (r *Run) Aborted() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.abort
}

// nextAttachment numbers attachment files so two specs never collide.
func (r *Run) nextAttachment() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attachN++
	return r.attachN
}

// HasSuite reports whether the app definition lists the suite.
func (r *Run) HasSuite(name string) bool {
	for _, s := range r.App.Suites {
		if s == name {
			return true
		}
	}
	return false
}

// Setting returns a per-app value from the definition's settings map. A
// missing key fails the spec: a suite that needs a value must not guess.
func Setting(key string) string {
	ginkgo.GinkgoHelper()
	r := mustCurrent()
	v, ok := r.App.Settings[key]
	if !ok {
		fail(fmt.Sprintf("setting %q is not defined in %s (settings:)", key, r.App.Where("settings")))
	}
	return v
}

// SettingOr returns a per-app value, or def when the definition has none.
func SettingOr(key, def string) string {
	if v, ok := mustCurrent().App.Settings[key]; ok {
		return v
	}
	return def
}

// TargetOf is the target the specs point at.
func TargetOf() target.Target { return mustCurrent().Target }

// AttachmentEntry is the Ginkgo report-entry name the runner collects
// attachments by.
const AttachmentEntry = "piv.attachment"

var _ = gate.Attachment{}

// NoteTechnicalFailure records that a blocking technical check failed on
// the run's target. The runner calls it as each check ends; the first one
// is kept as the root cause.
func (r *Run) NoteTechnicalFailure(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.rootCause == "" {
		r.rootCause = name
	}
}

// RootCause is the first blocking technical check that failed, or "".
func (r *Run) RootCause() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rootCause
}
