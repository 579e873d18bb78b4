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
	var out []group
	pos := map[string]int{}
	for _, i := range ordered(checks) {
		s := checks[i].Suite
		g, ok := pos[s]
		if !ok {
			g = len(out)
			pos[s] = g
			out = append(out, group{Suite: s, worst: kindOf(&checks[i])})
		}
		out[g].Checks = append(out[g].Checks, i)
	}
	// ordered() already visits worst checks first, so groups are created in
	// worst-first order; a stable sort keeps that and documents the intent.
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
