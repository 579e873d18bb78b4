// Package gate holds the canonical result of a run (the model behind
// gate.json) and the one function that turns checks into a verdict. Nothing
// else in piv decides an exit code: reporters render a Result, the CLI maps
// its Verdict to a process exit code.
package gate

import "time"

// Schema identifies the gate.json format. Bump it on any breaking change.
const Schema = "piv.gate/v1"

// Verdict is the gate's decision.
type Verdict string

const (
	Pass         Verdict = "pass"
	Fail         Verdict = "fail"
	Inconclusive Verdict = "inconclusive"
)

// ExitCode is the process exit code that deployers script against
// (DESIGN.md: 0 pass, 1 fail, 3 inconclusive; 2 is reserved for usage errors
// where nothing ran, so it never comes from a Verdict). Anything unknown maps
// to 3: fail closed.
func (v Verdict) ExitCode() int {
	switch v {
	case Pass:
		return 0
	case Fail:
		return 1
	default:
		return 3
	}
}

// Worse reports whether v is a worse outcome than w (inconclusive > fail > pass).
func (v Verdict) Worse(w Verdict) bool { return rank(v) > rank(w) }

func rank(v Verdict) int {
	switch v {
	case Pass:
		return 0
	case Fail:
		return 1
	default:
		return 2
	}
}

// State of one check, as gate.json spells it.
type State string

const (
	Passed   State = "passed"
	Failed   State = "failed"
	Flaky    State = "flaky" // passed, but only after a failed attempt
	Skipped  State = "skipped"
	Panicked State = "panicked"    // the check's own code panicked: harness fault
	Aborted  State = "interrupted" // timeout, signal or abort: nothing positive known
)

// Result is gate.json. Field order and names are the contract in DESIGN.md.
type Result struct {
	Schema string `json:"schema"`
	// Piv is the version of piv that ran the gate (stamped at build).
	Piv             string    `json:"piv"`
	RunID           string    `json:"runId"`
	App             string    `json:"app"`
	Target          Target    `json:"target"`
	ExpectedVersion string    `json:"expectedVersion"`
	ObservedVersion string    `json:"observedVersion"`
	Verdict         Verdict   `json:"verdict"`
	Reason          string    `json:"reason"`
	StartedAt       time.Time `json:"startedAt"`
	DurationSeconds float64   `json:"durationSeconds"`
	Summary         Summary   `json:"summary"`
	// Selection says how the run was narrowed (label filter, focus), so a
	// narrowed pass is never mistaken for a full gate.
	Selection Selection `json:"selection"`
	// Remediation is the remediation record verified in this gate (--remediation).
	Remediation *Remediation `json:"remediation,omitempty"`
	// MissingSecrets names secrets a spec needed and the environment
	// lacked: a configuration error (exit 2), never a verdict on the app.
	MissingSecrets []string `json:"missingSecrets,omitempty"`
	Checks         []Check  `json:"checks"`
	// Attachments that belong to the run rather than one check (container
	// logs of an ephemeral target, the settle transcript).
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Target says what was verified.
type Target struct {
	Scope   string `json:"scope"` // "node", "service" or "image"
	Node    string `json:"node,omitempty"`
	Address string `json:"address,omitempty"` // where connections went (node or container)
	URL     string `json:"url"`               // the service URL whose host name was kept
	Image   string `json:"image,omitempty"`
}

// Selection is what the run was asked to verify. Narrowed is true when
// anything the app defines was left out (a label filter or focus chosen by
// the user, mutating specs excluded by default do not count).
type Selection struct {
	LabelFilter   string `json:"labelFilter"`
	Focus         string `json:"focus"`
	AllowMutating bool   `json:"allowMutating"`
	// LeftOut counts the specs the filter or focus left out (mutating
	// specs excluded by default included).
	LeftOut  int  `json:"leftOut"`
	Narrowed bool `json:"narrowed"`
}

// Remediation identifies the remediation record a gate verified.
type Remediation struct {
	ID   string   `json:"id"`
	CVEs []string `json:"cves,omitempty"`
}

// Summary counts checks by state. Total counts every check, skipped included.
type Summary struct {
	Total          int `json:"total"`
	Passed         int `json:"passed"`
	Failed         int `json:"failed"`
	Skipped        int `json:"skipped"`
	Flaky          int `json:"flaky"`
	AdvisoryFailed int `json:"advisoryFailed"`
}

// Check is one spec's outcome.
type Check struct {
	Name  string `json:"name"`
	Suite string `json:"suite,omitempty"` // top-level container, for grouping in reports
	// Target names what the check ran against under --fleet ("service" or
	// the node's name); empty when the run had one target.
	Target   string   `json:"target,omitempty"`
	Labels   []string `json:"labels"`
	State    State    `json:"state"`
	Blocking bool     `json:"blocking"`
	// Precondition marks a check of the run's preparation (settling, an
	// image starting): it can fail a gate but never pass one alone.
	Precondition    bool     `json:"precondition,omitempty"`
	Attempts        int      `json:"attempts"`
	DurationSeconds float64  `json:"durationSeconds"`
	Failure         *Failure `json:"failure"`
	Steps           []string `json:"steps,omitempty"` // By() steps, in order
	// Observed is what the check saw, on pass as on failure (status, JSON
	// values, certificate dates, TLS version, p95): a pass is evidence.
	Observed    map[string]any `json:"observed,omitempty"`
	Attachments []Attachment   `json:"attachments"`
}

// Failure says what was expected, what was seen, and where.
type Failure struct {
	Message  string `json:"message"`
	Location string `json:"location,omitempty"` // file:line in the suite
	Step     string `json:"step,omitempty"`     // the By() step that was running
}

// Attachment is a file written next to gate.json (path relative to the
// report folder) or a short inline text.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Path        string `json:"path,omitempty"`
}
