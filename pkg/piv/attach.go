package piv

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/secret"
)

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// Attach writes data next to gate.json and links it to the current spec
// (gate.json checks[].attachments, JUnit, report.html). Text is redacted
// before it is written; images cannot be, so callers mask secret fields
// before taking a screenshot (Page does).
func Attach(name, contentType string, data []byte) {
	r := mustCurrent()
	if strings.HasPrefix(contentType, "text/") || strings.Contains(contentType, "json") || strings.Contains(contentType, "xml") {
		data = secret.RedactBytes(data)
	}
	rel := filepath.Join("attachments", fmt.Sprintf("%03d-%s", r.nextAttachment(), unsafeName.ReplaceAllString(name, "_")))
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
	ginkgo.AddReportEntry(AttachmentEntry, gate.Attachment{Name: name, ContentType: contentType, Path: rel}, ginkgo.ReportEntryVisibilityNever)
}

// Secret reads a secret from the environment variable name. The value is
// redacted from every output from this moment on. An unset variable fails
// the spec with what to export.
func Secret(name string) secret.Secret {
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		failf("secret %s is not set: export %s=… in the environment that runs piv (it is never read from files or flags)", name, name)
	}
	if len(v) < 4 {
		failf("secret %s is shorter than 4 characters: too short to redact safely", name)
	}
	return secret.New(name, v)
}
