package gate

import (
	"fmt"
	"strings"
)

// Policy are the knobs that change how checks become a verdict.
type Policy struct {
	// FlakyBlocks makes a check that passed only on retry block the gate
	// (--flaky=fail). By default a flaky pass is a warning.
	FlakyBlocks bool
}

// Facts are what happened to the run itself, apart from its checks. The
// runner and the session gather them; only Decide judges them.
type Facts struct {
	// Abort is why the run could not finish (timeout, signal, a harness
	// fault, Docker or the browser unavailable). Such a run is inconclusive
	// whatever its checks say: nothing after the abort was verified.
	Abort string
	// SpecsSelected is how many specs the selection left in (0: nothing of
	// the app was verified, whatever the preconditions say). Negative: not
	// known (a result built without running specs); then the checks count.
	SpecsSelected int
	// ProgrammaticFocus: a spec is F-focused, which silently skips the rest.
	ProgrammaticFocus bool
	// UnknownLabels: a spec uses a label that is not in the registry.
	UnknownLabels string
	// ReportError: the evidence (gate.json, JUnit, HTML) could not be written.
	ReportError string
}

// Decide fills Summary, Verdict and Reason from the checks; abort is
// Facts.Abort. Kept for callers that know no other run facts.
func Decide(r *Result, p Policy, abort string) {
	DecideRun(r, p, Facts{Abort: abort, SpecsSelected: -1})
}

// DecideRun fills Summary, Verdict and Reason from the checks and the run's
// facts. It is the only place in piv that decides: the runner and the
// session gather facts, reporters render the result, the CLI maps the
// verdict to an exit code.
//
// Reasons name root causes first: failed checks are listed in run order
// (technical checks run first, in a fixed order), so a closed port comes
// before the journeys it broke.
func DecideRun(r *Result, p Policy, f Facts) {
	r.Summary = Summary{}
	var failed, flakyBlocking, panicked, interrupted, skippedAtRun []string
	blockingPassed, specsRan := 0, 0
	for i := range r.Checks {
		c := &r.Checks[i]
		r.Summary.Total++
		if c.State != Skipped && !c.Precondition {
			specsRan++
		}
		switch c.State {
		case Passed:
			r.Summary.Passed++
			if c.Blocking && !c.Precondition {
				blockingPassed++
			}
		case Flaky:
			r.Summary.Flaky++
			r.Summary.Passed++
			if c.Blocking && !c.Precondition {
				blockingPassed++
			}
			if p.FlakyBlocks && c.Blocking {
				flakyBlocking = append(flakyBlocking, c.Name)
			}
		case Skipped:
			r.Summary.Skipped++
			// A blocking check that skipped itself while running (Skip())
			// verified nothing; one the selection left out is not listed.
			if c.Blocking && !c.Precondition && c.Failure != nil {
				skippedAtRun = append(skippedAtRun, c.Name)
			}
		case Failed:
			r.Summary.Failed++
			if c.Blocking {
				failed = append(failed, c.Name)
			} else {
				r.Summary.AdvisoryFailed++
			}
		case Panicked:
			r.Summary.Failed++
			panicked = append(panicked, c.Name)
		default: // interrupted, or a state this version does not know
			r.Summary.Failed++
			interrupted = append(interrupted, c.Name)
		}
	}
	selected := f.SpecsSelected
	if selected < 0 {
		selected = specsRan
	}

	switch {
	case f.ReportError != "":
		r.Verdict, r.Reason = Inconclusive, "reports could not be written: "+f.ReportError
	case len(r.MissingSecrets) > 0:
		r.Verdict, r.Reason = Inconclusive, fmt.Sprintf("configuration error: secret(s) %s not set or unusable (blank, shorter than 4 bytes, not UTF-8): export them in the environment that runs piv", strings.Join(r.MissingSecrets, ", "))
	case f.Abort != "":
		r.Verdict, r.Reason = Inconclusive, f.Abort
	case len(panicked) > 0:
		r.Verdict, r.Reason = Inconclusive, "harness panic in "+list(panicked)
	case len(interrupted) > 0:
		r.Verdict, r.Reason = Inconclusive, "interrupted: "+list(interrupted)
	case f.ProgrammaticFocus:
		r.Verdict, r.Reason = Inconclusive, "focused specs (FIt, FDescribe, Focus) are not allowed in a gate: they silently skip every other check"
	case f.UnknownLabels != "":
		r.Verdict, r.Reason = Inconclusive, "a spec uses a label that is not in the registry: "+f.UnknownLabels
	case len(failed) > 0:
		// Preconditions (settling, an image starting) that failed are
		// failures too: the target never became ready.
		r.Verdict, r.Reason = Fail, fmt.Sprintf("%d blocking check(s) failed: %s", len(failed), list(failed))
	case len(flakyBlocking) > 0:
		r.Verdict, r.Reason = Fail, fmt.Sprintf("%d check(s) passed only on retry and --flaky=fail: %s", len(flakyBlocking), list(flakyBlocking))
	case len(skippedAtRun) > 0:
		r.Verdict, r.Reason = Inconclusive, fmt.Sprintf("%d blocking check(s) skipped themselves while running: %s — a skipped check verified nothing", len(skippedAtRun), list(skippedAtRun))
	case selected == 0 || specsRan == 0:
		r.Verdict, r.Reason = Inconclusive, "no checks were selected"+r.Selection.describe()+": nothing was verified"
	case r.ExpectedVersion != "" && r.ObservedVersion == "":
		// The deployer asked for a version; a gate that never looked at it
		// (the filter left the version check out) has not verified the deploy.
		r.Verdict, r.Reason = Inconclusive, fmt.Sprintf("expected version %s was never observed: the version check did not run", r.ExpectedVersion)
	case blockingPassed == 0:
		// Only advisory checks ran: a gate that cannot fail is not a gate.
		r.Verdict, r.Reason = Inconclusive, "no blocking check passed: only advisory checks ran, so nothing could have stopped this gate"
	default:
		r.Verdict, r.Reason = Pass, ""
	}
}

func (s Selection) describe() string {
	var parts []string
	if s.LabelFilter != "" {
		parts = append(parts, fmt.Sprintf("label filter %q", s.LabelFilter))
	}
	if s.Focus != "" {
		parts = append(parts, fmt.Sprintf("focus %q", s.Focus))
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// list names checks in the order given (run order: root causes first).
func list(names []string) string {
	const max = 5
	if len(names) > max {
		return strings.Join(names[:max], "; ") + fmt.Sprintf("; and %d more", len(names)-max)
	}
	return strings.Join(names, "; ")
}

// Part is one target's result in a --fleet run.
type Part struct {
	Target string // node name, or "service"
	Result *Result
	// Dir is the part's report folder relative to the fleet's, so the
	// part's attachments stay reachable from the fleet's gate.json.
	Dir string
}

// Combine fills r (a fleet result: what was asked, no checks yet) from one
// result per target. Every check carries its target; the summary counts
// them all; the verdict is the worst of the targets' own verdicts — each
// was decided by DecideRun — and the reason names each target that did not
// pass, worst first. No target at all is inconclusive.
func Combine(r *Result, parts []Part, p Policy) {
	r.Checks = []Check{}
	selected := 0
	for i := range parts {
		if parts[i].Result == nil {
			// A target that left no result verified nothing.
			parts[i].Result = &Result{Verdict: Inconclusive, Reason: "no result: the target's gate left nothing to read"}
		}
	}
	for _, part := range parts {
		for _, c := range part.Result.Checks {
			c.Target = part.Target
			if part.Dir != "" {
				atts := make([]Attachment, len(c.Attachments))
				for i, a := range c.Attachments {
					if a.Path != "" {
						a.Path = part.Dir + "/" + a.Path
					}
					atts[i] = a
				}
				c.Attachments = atts
			}
			r.Checks = append(r.Checks, c)
			if c.State != Skipped && !c.Precondition {
				selected++
			}
		}
		for _, a := range part.Result.Attachments {
			if a.Path != "" && part.Dir != "" {
				a.Path = part.Dir + "/" + a.Path
			}
			a.Name = part.Target + ": " + a.Name
			r.Attachments = append(r.Attachments, a)
		}
		r.MissingSecrets = appendNew(r.MissingSecrets, part.Result.MissingSecrets...)
	}
	// One version everywhere, or none: a fleet running two versions has
	// not one observed version.
	r.ObservedVersion = ""
	for i, part := range parts {
		v := part.Result.ObservedVersion
		if i == 0 {
			r.ObservedVersion = v
		} else if v != r.ObservedVersion {
			r.ObservedVersion = ""
			break
		}
	}
	DecideRun(r, p, Facts{SpecsSelected: selected})
	if len(parts) == 0 {
		r.Verdict, r.Reason = Inconclusive, "no target was verified"
		return
	}
	decided, decidedReason := r.Verdict, r.Reason
	worst := Pass
	for _, part := range parts {
		if part.Result.Verdict.Worse(worst) || part.Result.Verdict == "" {
			worst = part.Result.Verdict
		}
	}
	if worst == "" {
		worst = Inconclusive
	}
	var reasons []string
	for _, v := range []Verdict{Inconclusive, Fail} {
		for _, part := range parts {
			pv := part.Result.Verdict
			if pv == v || v == Inconclusive && pv != Pass && pv != Fail {
				reasons = append(reasons, part.Target+": "+part.Result.Reason)
			}
		}
	}
	r.Verdict, r.Reason = worst, strings.Join(reasons, " | ")
	if worst == Pass {
		r.Reason = ""
	}
	// Never better than the joined checks judged as one gate (parts that
	// each say pass but hold no check have verified nothing).
	if decided.Worse(r.Verdict) {
		r.Verdict, r.Reason = decided, decidedReason
	}
}

func appendNew(to []string, vs ...string) []string {
	for _, v := range vs {
		found := false
		for _, x := range to {
			found = found || x == v
		}
		if !found {
			to = append(to, v)
		}
	}
	return to
}
