package report

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode/utf8"

	"github.com/piv-gate/piv/pkg/gate"
)

// TextOptions tune the stdout summary. The zero value is plain text.
type TextOptions struct {
	// Color adds ANSI colours to the verdict and the failure markers. Off by
	// default: the summary usually lands in a CI log or a file.
	Color bool
	// Dir, when set, is the report folder: it is printed, and attachment
	// paths are shown joined to it so they can be opened from the shell.
	Dir string
}

// Limits for the stdout summary: a failure message longer than this is
// trimmed (gate.json and report.html keep it whole).
const (
	textMaxLines = 15
	textMaxBytes = 1500
)

// Text is the short human summary printed on stdout after a run.
func Text(r *gate.Result) string { return TextWith(r, TextOptions{}) }

// TextWith is Text with options. Layout:
//
//	FAIL quote node app-02 (127.0.0.3) version 2.4.1 — 1 failed, 8 passed in 840ms
//	NARROWED: label filter smoke; 4 checks left out — this is not a full gate
//	remediation: CHG-2026-0412 (CVE-2026-1234)
//	reason: …
//	run: <run id>  report: <dir>
//
//	targets:                       (--fleet: a row per target, worst first)
//	  node app-02  5 checks: 4 passed, 1 failed, 0 skipped
//	  service      5 checks: 5 passed, 0 failed, 0 skipped
//
//	FAILED   <check> [app-02] (120ms)
//	         at file:line, step "…"
//	         <message, indented>
//	         attachment: <path> (<type>)
//	WARNING  advisory check failed, not blocking: <check>
//	WARNING  flaky, passed after 2 attempts: <check>
//
//	9 checks: 8 passed, 1 failed, 0 skipped
func TextWith(r *gate.Result, o TextOptions) string {
	var b strings.Builder
	paint := func(code, s string) string {
		if !o.Color {
			return s
		}
		return "\x1b[" + code + "m" + s + "\x1b[0m"
	}
	verdictColor := map[gate.Verdict]string{gate.Pass: "1;32", gate.Fail: "1;31"}[r.Verdict]
	if verdictColor == "" {
		verdictColor = "1;33"
	}

	head := []string{paint(verdictColor, printable(verdictWord(r.Verdict))), printable(r.App), printable(targetText(r.Target))}
	if v := versionText(r); v != "" {
		head = append(head, printable(v))
	}
	fmt.Fprintf(&b, "%s — %s in %s\n", strings.Join(head, " "), countsText(r.Summary), dur(r.DurationSeconds))
	if n := narrowedText(r.Selection); n != "" {
		b.WriteString(paint("1;33", printable(n)) + "\n")
	}
	if r.Reason != "" {
		fmt.Fprintf(&b, "reason: %s\n", printable(oneLine(r.Reason)))
	}
	if rem := remediationText(r.Remediation); rem != "" {
		fmt.Fprintf(&b, "remediation: %s\n", printable(rem))
	}
	if r.RunID != "" || o.Dir != "" {
		var parts []string
		if r.RunID != "" {
			parts = append(parts, "run: "+r.RunID)
		}
		if o.Dir != "" {
			parts = append(parts, "report: "+o.Dir)
		}
		b.WriteString(strings.Join(parts, "  ") + "\n")
	}
	attach := func(indent string, as []gate.Attachment) {
		for _, a := range as {
			if a.Path == "" {
				continue
			}
			p := a.Path
			if o.Dir != "" {
				p = filepath.Join(o.Dir, filepath.FromSlash(a.Path))
			}
			fmt.Fprintf(&b, "%sattachment: %s (%s)\n", indent, printable(p), printable(a.ContentType))
		}
	}
	attach("", r.Attachments)

	if rows := targetRows(r); rows != nil {
		b.WriteString("\ntargets:\n")
		width := 0
		for _, t := range rows {
			width = max(width, utf8.RuneCountInString(printable(t.Label)))
		}
		for _, t := range rows {
			l := printable(t.Label)
			fmt.Fprintf(&b, "  %s%s  %s\n", l, strings.Repeat(" ", width-utf8.RuneCountInString(l)), countsLine(t.Counts))
		}
	}

	blank := false
	section := func() {
		if !blank {
			b.WriteString("\n")
			blank = true
		}
	}
	for _, i := range ordered(r.Checks) {
		c := &r.Checks[i]
		switch kindOf(c) {
		case kindFailed, kindHarness:
			section()
			tag := "FAILED  "
			if k := kindOf(c); k == kindHarness {
				tag = strings.ToUpper(stateText(c))
				if len(tag) < 8 {
					tag += strings.Repeat(" ", 8-len(tag))
				}
			}
			fmt.Fprintf(&b, "%s %s%s (%s)\n", paint("31", tag), printable(c.Name), targetTag(c), dur(c.DurationSeconds))
			failureText(&b, c.Failure)
			attach("         ", c.Attachments)
		case kindAdvisory:
			section()
			fmt.Fprintf(&b, "%s advisory check failed, not blocking: %s%s\n", paint("33", "WARNING "), printable(c.Name), targetTag(c))
			failureText(&b, c.Failure)
			attach("         ", c.Attachments)
		case kindFlaky:
			section()
			fmt.Fprintf(&b, "%s flaky, passed after %s: %s%s\n", paint("33", "WARNING "), attemptsText(c.Attempts), printable(c.Name), targetTag(c))
		}
	}
	b.WriteString("\n")
	b.WriteString(countsLine(r.Summary) + "\n")
	return b.String()
}

// targetTag is " [app-02]" for a check that carries its own target.
func targetTag(c *gate.Check) string {
	if c.Target == "" {
		return ""
	}
	return " [" + printable(c.Target) + "]"
}

func failureText(b *strings.Builder, f *gate.Failure) {
	if f == nil {
		return
	}
	var where []string
	if f.Location != "" {
		where = append(where, "at "+printable(f.Location))
	}
	if f.Step != "" {
		where = append(where, fmt.Sprintf("step %q", printable(f.Step)))
	}
	if len(where) > 0 {
		fmt.Fprintf(b, "         %s\n", strings.Join(where, ", "))
	}
	if msg := printable(trimText(f.Message, textMaxLines, textMaxBytes)); msg != "" {
		for _, l := range strings.Split(msg, "\n") {
			fmt.Fprintf(b, "         %s\n", strings.TrimRight(l, " \t\r"))
		}
	}
}

// countsText is the headline's short form, blocking failures first:
// "9 passed", "1 failed, 8 passed", "8 passed, 1 advisory failed",
// "0 checks". Advisory failures are named as such so that a PASS headline
// never reads "1 failed".
func countsText(s gate.Summary) string {
	var parts []string
	if f := s.Failed - s.AdvisoryFailed; f > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", f))
	}
	if s.Passed > 0 {
		parts = append(parts, fmt.Sprintf("%d passed", s.Passed))
	}
	if s.AdvisoryFailed > 0 {
		parts = append(parts, fmt.Sprintf("%d advisory failed", s.AdvisoryFailed))
	}
	if s.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", s.Skipped))
	}
	if len(parts) == 0 {
		return "0 checks"
	}
	return strings.Join(parts, ", ")
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
