package report

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/piv-gate/piv/pkg/gate"
)

// Shared wording and ordering for the renderers. Nothing here decides: it
// only names and sorts what the Result already says.

// targetText says what was verified: "node app-02 (127.0.0.3)",
// "service https://quote.test:8443", "image quote:2.4.1".
func targetText(t gate.Target) string {
	switch t.Scope {
	case "node":
		s := "node " + t.Node
		if t.Address != "" {
			s += " (" + t.Address + ")"
		}
		return s
	case "image":
		s := "image " + t.Image
		if t.Address != "" {
			s += " (" + t.Address + ")"
		}
		return s
	case "service":
		return "service " + t.URL
	default:
		s := strings.TrimSpace(t.Scope + " " + t.Node + " " + t.Image)
		if s == "" {
			s = "target " + t.URL
		}
		return s
	}
}

// versionText: "version 2.4.1", "version 2.4.0, expected 2.4.1",
// "version not observed, expected 2.4.1", or "" when neither is known.
func versionText(r *gate.Result) string {
	switch {
	case r.ObservedVersion != "" && (r.ExpectedVersion == "" || r.ExpectedVersion == r.ObservedVersion):
		return "version " + r.ObservedVersion
	case r.ObservedVersion != "":
		return "version " + r.ObservedVersion + ", expected " + r.ExpectedVersion
	case r.ExpectedVersion != "":
		return "version not observed, expected " + r.ExpectedVersion
	}
	return ""
}

// verdictWord is the headline word: PASS, FAIL, INCONCLUSIVE. An unknown or
// empty verdict is shown as it is (upper-cased), never guessed.
func verdictWord(v gate.Verdict) string {
	if v == "" {
		return "NO VERDICT"
	}
	return strings.ToUpper(string(v))
}

// kind classifies a check for display; order is the display order.
type kind int

const (
	kindFailed   kind = iota // blocking failure
	kindHarness              // panicked or interrupted (or unknown state)
	kindAdvisory             // failed, not blocking
	kindFlaky
	kindPassed
	kindSkipped
)

func kindOf(c *gate.Check) kind {
	switch c.State {
	case gate.Passed:
		return kindPassed
	case gate.Flaky:
		return kindFlaky
	case gate.Skipped:
		return kindSkipped
	case gate.Failed:
		if c.Blocking {
			return kindFailed
		}
		return kindAdvisory
	default:
		return kindHarness
	}
}

// stateText is the one-word-ish state shown next to a check.
func stateText(c *gate.Check) string {
	switch kindOf(c) {
	case kindFailed:
		return "failed"
	case kindAdvisory:
		return "failed (advisory)"
	case kindFlaky:
		return fmt.Sprintf("flaky (%s)", attemptsText(c.Attempts))
	case kindHarness:
		if c.State == "" {
			return "no state"
		}
		return string(c.State)
	default:
		return string(c.State)
	}
}

func attemptsText(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return fmt.Sprintf("%d attempts", n)
}

// ordered returns the indexes of r.Checks, failures first (blocking, then
// harness faults, advisory, flaky, passed, skipped), stable otherwise.
func ordered(checks []gate.Check) []int {
	idx := make([]int, len(checks))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return kindOf(&checks[idx[a]]) < kindOf(&checks[idx[b]]) })
	return idx
}

// group is the checks of one Suite, in display order.
type group struct {
	Suite  string
	Checks []int // indexes into Result.Checks
	worst  kind
}

// groups groups checks by Suite; groups with the worst check first, then in
// order of first appearance; checks inside a group failures first.
func groups(checks []gate.Check) []group {
	return groupsOf(checks, ordered(checks))
}

// groupsOf is groups for some of the checks (idx in display order), e.g.
// the checks of one target.
func groupsOf(checks []gate.Check, idx []int) []group {
	var out []group
	pos := map[string]int{}
	for _, i := range idx {
		s := checks[i].Suite
		g, ok := pos[s]
		if !ok {
			g = len(out)
			pos[s] = g
			out = append(out, group{Suite: s, worst: kindOf(&checks[i])})
		}
		out[g].Checks = append(out[g].Checks, i)
	}
	// idx visits worst checks first, so groups are created in worst-first
	// order; a stable sort keeps that and documents the intent.
	sort.SliceStable(out, func(a, b int) bool { return out[a].worst < out[b].worst })
	return out
}

func suiteName(s string) string {
	if s == "" {
		return "other checks"
	}
	return s
}

// trimText cuts s to at most maxLines lines and maxBytes bytes (on a rune
// boundary), saying how much was left out.
func trimText(s string, maxLines, maxBytes int) string {
	s = strings.TrimRight(s, " \t\r\n")
	cut := false
	if maxLines > 0 {
		lines := strings.SplitAfter(s, "\n")
		if len(lines) > maxLines {
			s = strings.TrimRight(strings.Join(lines[:maxLines], ""), "\r\n")
			cut = true
		}
	}
	if maxBytes > 0 && len(s) > maxBytes {
		s = truncUTF8(s, maxBytes)
		cut = true
	}
	if cut {
		s += "\n… (trimmed; the full text is in gate.json)"
	}
	return s
}

func truncUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// firstLine is the first non-empty line of s, at most n bytes.
func firstLine(s string, n int) string {
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			if len(l) > n {
				return truncUTF8(l, n) + "…"
			}
			return l
		}
	}
	return ""
}

func secs(f float64) string { return fmt.Sprintf("%.2fs", f) }

// printable replaces control characters (other than newline and tab) so a
// response body or a check name cannot drive the terminal that shows it.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return '\uFFFD'
		}
		return r
	}, s)
}

// narrowedText is the one line every output shows when the run was
// narrowed (issue 8 class 9): a narrowed pass must never pass for a full
// gate. Empty when the selection was not narrowed.
func narrowedText(s gate.Selection) string {
	if !s.Narrowed {
		return ""
	}
	var what []string
	if s.LabelFilter != "" {
		what = append(what, "label filter "+s.LabelFilter)
	}
	if s.Focus != "" {
		what = append(what, "focus "+s.Focus)
	}
	if len(what) == 0 {
		what = append(what, "selection narrowed")
	}
	left := "1 check left out"
	if s.LeftOut != 1 {
		left = fmt.Sprintf("%d checks left out", s.LeftOut)
	}
	return "NARROWED: " + strings.Join(what, ", ") + "; " + left + " — this is not a full gate"
}

// countsLine is the one wording of the counts that the text summary,
// Markdown and report.html all use, straight from Result.Summary:
// "9 checks: 8 passed (1 flaky), 1 failed (1 advisory), 0 skipped".
func countsLine(s gate.Summary) string {
	passed := fmt.Sprintf("%d passed", s.Passed)
	if s.Flaky > 0 {
		passed += fmt.Sprintf(" (%d flaky)", s.Flaky)
	}
	failed := fmt.Sprintf("%d failed", s.Failed)
	if s.AdvisoryFailed > 0 {
		failed += fmt.Sprintf(" (%d advisory)", s.AdvisoryFailed)
	}
	checks := "checks"
	if s.Total == 1 {
		checks = "check"
	}
	return fmt.Sprintf("%d %s: %s, %s, %d skipped", s.Total, checks, passed, failed, s.Skipped)
}

// tally counts the given checks the way gate.Decide fills Summary (flaky
// passes are passes; advisory failures, panics and interruptions are
// failures). It decides nothing: it is for per-target rows, while the
// run's own counts always come from Result.Summary.
func tally(checks []gate.Check, idx []int) gate.Summary {
	var s gate.Summary
	for _, i := range idx {
		c := &checks[i]
		s.Total++
		switch c.State {
		case gate.Passed:
			s.Passed++
		case gate.Flaky:
			s.Passed++
			s.Flaky++
		case gate.Skipped:
			s.Skipped++
		case gate.Failed:
			s.Failed++
			if !c.Blocking {
				s.AdvisoryFailed++
			}
		default:
			s.Failed++
		}
	}
	return s
}

// targetRow is one target of a --fleet run: its checks and their counts.
type targetRow struct {
	Target string // Check.Target: "service" or a node name
	Label  string // "node app-02", "service"
	Checks []int  // indexes into Result.Checks, in display order
	Counts gate.Summary
	worst  kind
}

// targetRows groups the checks by Check.Target, targets with the worst
// check first, then in order of first appearance. It returns nil when no
// check carries a target (a run with one target: the headline says it).
// Checks without a target in a run where others have one are shown under
// the run's own target.
func targetRows(r *gate.Result) []targetRow {
	has := false
	for i := range r.Checks {
		if r.Checks[i].Target != "" {
			has = true
			break
		}
	}
	if !has {
		return nil
	}
	var out []targetRow
	pos := map[string]int{}
	for _, i := range ordered(r.Checks) {
		t := r.Checks[i].Target
		g, ok := pos[t]
		if !ok {
			g = len(out)
			pos[t] = g
			out = append(out, targetRow{Target: t, Label: checkTargetText(r, t), worst: kindOf(&r.Checks[i])})
		}
		out[g].Checks = append(out[g].Checks, i)
	}
	for g := range out {
		out[g].Counts = tally(r.Checks, out[g].Checks)
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].worst < out[b].worst })
	return out
}

// checkTargetText names a check's own target: "service", "node app-02", or
// the run's target when the check carries none.
func checkTargetText(r *gate.Result, t string) string {
	switch t {
	case "":
		return targetText(r.Target)
	case "service":
		return "service"
	}
	return "node " + t
}

// dur shows a duration the way a reader compares them: "0s", "<1ms",
// "4ms", "1.93s", "2m05.3s". Technical checks take milliseconds; "0.00s"
// for all of them looked like they had not run.
func dur(f float64) string {
	switch {
	case f <= 0:
		return "0s"
	case f < 0.0005:
		return "<1ms"
	case f < 0.9995:
		return fmt.Sprintf("%.0fms", f*1000)
	case f < 60:
		return fmt.Sprintf("%.2fs", f)
	}
	m := int(f / 60)
	return fmt.Sprintf("%dm%04.1fs", m, f-float64(m*60))
}

// remediationText: "CHG-2026-0412 (CVE-2026-1234, CVE-2026-5678)", or "".
func remediationText(r *gate.Remediation) string {
	if r == nil {
		return ""
	}
	if len(r.CVEs) == 0 {
		return r.ID
	}
	return r.ID + " (" + strings.Join(r.CVEs, ", ") + ")"
}
