package piv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/browser"
	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/secret"
)

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// Attach writes data next to gate.json and links it to the current spec
// (gate.json checks[].attachments, JUnit, report.html). Text is redacted
// before it is written, in every form a secret can take (secret.RedactBytes);
// images cannot be, so callers mask secrets before taking a screenshot and
// withhold it when they cannot (browser.Capture, which Page uses).
func Attach(name, contentType string, data []byte) {
	r := mustCurrent()
	if strings.HasPrefix(contentType, "text/") || strings.Contains(contentType, "json") || strings.Contains(contentType, "xml") {
		data = secret.RedactBytes(data)
	}
	rel := filepath.Join("attachments", fmt.Sprintf("%03d-%s", r.nextAttachment(), safeAttachmentName(name)))
	if r.OutDir == "" {
		return
	}
	path := filepath.Join(r.OutDir, rel)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		ginkgo.GinkgoWriter.Printf("piv: cannot write attachment %s: %v\n", rel, err)
		return
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		ginkgo.GinkgoWriter.Printf("piv: cannot write attachment %s: %v\n", rel, err)
		return
	}
	ginkgo.AddReportEntry(AttachmentEntry, gate.Attachment{Name: secret.Redact(name), ContentType: contentType, Path: rel}, ginkgo.ReportEntryVisibilityNever)
}

// safeAttachmentName is name as it may appear in a path, gate.json, JUnit,
// report.html and stdout: secrets redacted first, in every form, and only
// then cut to [A-Za-z0-9._-] — sanitising first would turn a secret into a
// form the redactor no longer recognises ("p&ss w" -> "p_ss_w"). The
// sanitised name is checked again (a name that only becomes a secret's
// form once sanitised) and loses its secret-looking part the same way.
func safeAttachmentName(name string) string {
	clean := func(s string) string { return unsafeName.ReplaceAllString(s, "_") }
	n := clean(secret.Redact(name))
	if secret.Contains([]byte(n)) {
		n = clean(secret.Redact(n))
	}
	if secret.Contains([]byte(n)) {
		n = "attachment"
	}
	return n
}

// attachCapture attaches a failure capture: the screenshot and the page
// HTML, or, when the screenshot was withheld because a secret could not be
// masked, a note saying so in its place (and the HTML, redacted).
func attachCapture(png, html []byte, err error) {
	switch {
	case err == nil:
	case errors.Is(err, browser.ErrScreenshotWithheld):
		Attach("screenshot-withheld.txt", "text/plain", []byte(secret.Redact(err.Error())+"\n"))
	default:
		ginkgo.GinkgoWriter.Printf("piv: screenshot failed: %v\n", err)
	}
	if len(png) > 0 {
		Attach("screenshot.png", "image/png", png)
	}
	if len(html) > 0 {
		Attach("page.html", "text/html", html)
	}
}
