package gate

import (
	"fmt"
	"sort"
	"strings"
)

// Policy are the knobs that change how checks become a verdict.
type Policy struct {
	// FlakyBlocks makes a check that passed only on retry block the gate
	// (--flaky=fail). By default a flaky pass is a warning.
	FlakyBlocks bool
}

// Decide fills Summary, Verdict and Reason from the checks. It is the only
// place in piv that decides. abort, when non-empty, is why the run could not
// finish (timeout, signal, browser or Docker unavailable); such a run is
// inconclusive whatever its checks say, because nothing after the abort was
// positively verified.
func Decide(r *Result, p Policy, abort string) {
	r.Summary = Summary{}
	var failed, flakyBlocking, panicked, interrupted []string
	for i := range r.Checks {
		c := &r.Checks[i]
		r.Summary.Total++
		switch c.State {
		case Passed:
			r.Summary.Passed++
		case Flaky:
			r.Summary.Flaky++
			r.Summary.Passed++
			if p.FlakyBlocks && c.Blocking {
				flakyBlocking = append(flakyBlocking, c.Name)
			}
		case Skipped:
			r.Summary.Skipped++
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
	ran := r.Summary.Total - r.Summary.Skipped

	switch {
	case abort != "":
		r.Verdict, r.Reason = Inconclusive, abort
	case len(panicked) > 0:
		r.Verdict, r.Reason = Inconclusive, "harness panic in "+list(panicked)
	case len(interrupted) > 0:
		r.Verdict, r.Reason = Inconclusive, "interrupted: "+list(interrupted)
	case len(failed) > 0:
		r.Verdict, r.Reason = Fail, fmt.Sprintf("%d blocking check(s) failed: %s", len(failed), list(failed))
	case len(flakyBlocking) > 0:
		r.Verdict, r.Reason = Fail, fmt.Sprintf("%d check(s) passed only on retry and --flaky=fail: %s", len(flakyBlocking), list(flakyBlocking))
	case ran == 0:
		r.Verdict, r.Reason = Inconclusive, "no checks were selected: nothing was verified"
	case r.ExpectedVersion != "" && r.ObservedVersion == "":
		// The deployer asked for a version; a gate that never looked at it
		// (the filter left the version check out) has not verified the deploy.
		r.Verdict, r.Reason = Inconclusive, fmt.Sprintf("expected version %s was never observed: the version check did not run", r.ExpectedVersion)
	case r.Summary.Passed == 0:
		// Every check that ran was an advisory failure: nothing passed positively.
		r.Verdict, r.Reason = Inconclusive, "no check passed: only advisory checks ran and they failed"
	default:
		r.Verdict, r.Reason = Pass, ""
	}
}

func list(names []string) string {
	sort.Strings(names)
	const max = 5
	if len(names) > max {
		return strings.Join(names[:max], "; ") + fmt.Sprintf("; and %d more", len(names)-max)
	}
	return strings.Join(names, "; ")
}
