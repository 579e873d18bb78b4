package report

import (
	"fmt"
	"html"
	"strings"

	"github.com/piv-gate/piv/pkg/gate"
)

// Limits that keep the summary well under GitHub's 1 MiB per step.
const (
	mdMaxLines = 60
	mdMaxBytes = 4096
	mdMaxRows  = 300
)

// Markdown renders the CI job summary ($GITHUB_STEP_SUMMARY, GitLab/Azure
// markdown summaries): a headline without emoji, the reason, the counts, a
// table of checks (failures first), and each failure's details in a
// <details> block. Attachments are named by their path in the report
// folder (the CI artefact); images are not embedded.
func Markdown(r *gate.Result) string {
	var b strings.Builder
	head := verdictWord(r.Verdict) + ": " + r.App + " " + targetText(r.Target)
	if v := versionText(r); v != "" {
		head += ", " + v
	}
	fmt.Fprintf(&b, "### %s\n\n", mdInline(head))
	if n := narrowedText(r.Selection); n != "" {
		fmt.Fprintf(&b, "> **%s**\n\n", mdInline(n))
	}
	if r.Reason != "" {
		fmt.Fprintf(&b, "**Reason:** %s\n\n", mdInline(r.Reason))
	}
	counts := countsLine(r.Summary)
	fmt.Fprintf(&b, "%s in %s", mdInline(counts), dur(r.DurationSeconds))
	if r.RunID != "" {
		fmt.Fprintf(&b, " · run %s", mdCode(r.RunID))
	}
	if r.Target.URL != "" && r.Target.Scope != "service" {
		fmt.Fprintf(&b, " · service %s", mdCode(r.Target.URL))
	}
	if rem := remediationText(r.Remediation); rem != "" {
		fmt.Fprintf(&b, " · remediation %s", mdInline(rem))
	}
	b.WriteString("\n\n")
	if len(r.Attachments) > 0 {
		b.WriteString("Run attachments: " + mdAttachments(r.Attachments) + "\n\n")
	}

	rows := targetRows(r)
	if rows != nil {
		b.WriteString("| Target | Checks | Passed | Failed | Skipped | Flaky | Advisory failed |\n|---|---:|---:|---:|---:|---:|---:|\n")
		for _, t := range rows {
			c := t.Counts
			failed := fmt.Sprint(c.Failed)
			if c.Failed > c.AdvisoryFailed {
				failed = "**" + failed + "**"
			}
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %d | %d | %d |\n", mdInline(t.Label), c.Total, c.Passed, failed, c.Skipped, c.Flaky, c.AdvisoryFailed)
		}
		b.WriteString("\n")
	}

	if len(r.Checks) > 0 {
		if rows != nil {
			b.WriteString("| State | Target | Check | Suite | Time |\n|---|---|---|---|---:|\n")
		} else {
			b.WriteString("| State | Check | Suite | Time |\n|---|---|---|---:|\n")
		}
		idx := ordered(r.Checks)
		for n, i := range idx {
			if n == mdMaxRows {
				more := fmt.Sprintf("… and %d more checks: see report.html or gate.json", len(idx)-n)
				if rows != nil {
					fmt.Fprintf(&b, "| | | %s | | |\n", more)
				} else {
					fmt.Fprintf(&b, "| | %s | | |\n", more)
				}
				break
			}
			c := &r.Checks[i]
			state := mdInline(stateText(c))
			if k := kindOf(c); k == kindFailed || k == kindHarness {
				state = "**" + state + "**"
			}
			name := mdInline(strings.TrimPrefix(c.Name, c.Suite+" "))
			if rows != nil {
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", state, mdInline(checkTargetText(r, c.Target)), name, mdInline(c.Suite), dur(c.DurationSeconds))
			} else {
				fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", state, name, mdInline(c.Suite), dur(c.DurationSeconds))
			}
		}
		b.WriteString("\n")
	}

	var details strings.Builder
	for _, i := range ordered(r.Checks) {
		c := &r.Checks[i]
		k := kindOf(c)
		if k != kindFailed && k != kindHarness && k != kindAdvisory {
			continue
		}
		fmt.Fprintf(&details, "<details><summary><b>%s</b>: %s%s</summary>\n\n", html.EscapeString(stateText(c)), html.EscapeString(printable(c.Name)), html.EscapeString(targetTag(c)))
		if f := c.Failure; f != nil {
			var where []string
			if f.Location != "" {
				where = append(where, "at "+mdCode(f.Location))
			}
			if f.Step != "" {
				where = append(where, "step "+mdInline(`"`+f.Step+`"`))
			}
			if len(where) > 0 {
				details.WriteString(strings.Join(where, ", ") + "\n\n")
			}
			details.WriteString(mdBlock(trimText(f.Message, mdMaxLines, mdMaxBytes)) + "\n\n")
		}
		if len(c.Attachments) > 0 {
			details.WriteString("Attachments (in the report folder): " + mdAttachments(c.Attachments) + "\n\n")
		}
		details.WriteString("</details>\n\n")
	}
	if details.Len() > 0 {
		b.WriteString("#### Failures and warnings\n\n")
		b.WriteString(details.String())
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"|", `\|`, "#", `\#`, "~", `\~`, "<", "&lt;", ">", "&gt;", "&", "&amp;",
	"\r", " ", "\n", " ",
)

// mdInline makes s safe inside a paragraph or a table cell: no markup, no
// HTML, no line breaks.
func mdInline(s string) string { return mdEscaper.Replace(printable(s)) }

// mdCode is an inline code span that survives backticks in s.
func mdCode(s string) string {
	s = printable(s)
	s = strings.NewReplacer("\r", " ", "\n", " ", "|", "¦").Replace(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	pad := ""
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		pad = " "
	}
	return fence + pad + s + pad + fence
}

// mdBlock is a fenced text block longer than any backtick run in s.
func mdBlock(s string) string {
	s = printable(s)
	fence := "```"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	return fence + "text\n" + s + "\n" + fence
}

func mdAttachments(as []gate.Attachment) string {
	var parts []string
	for _, a := range as {
		p := a.Path
		if p == "" {
			p = a.Name
		}
		parts = append(parts, fmt.Sprintf("%s (%s)", mdCode(p), mdInline(a.ContentType)))
	}
	return strings.Join(parts, ", ")
}
