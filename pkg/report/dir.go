package report

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// RunID names a run: UTC start time to the second, app, scope and what was
// targeted, e.g.
//
//	20261125T190102Z-quote-node-app-02
//	20261125T190102Z-quote-service
//	20261125T190102Z-quote-image-registry.local-quote-2.4.1
//
// It carries no random part: ids stay readable and transcripts stable. Two
// runs of the same target in the same second are kept apart by Dir, which
// appends -2, -3, … to the folder; use the folder's base name as the run id.
// Every part is sanitized to [A-Za-z0-9._-], so the id is a safe file name
// and header value.
func RunID(now time.Time, app, scope, name string) string {
	parts := []string{now.UTC().Format("20060102T150405Z"), sanitize(app, 64), sanitize(scope, 16)}
	if scope != "service" && name != "" {
		parts = append(parts, sanitize(name, 96))
	}
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, "-")
}

var unsafeRun = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func sanitize(s string, max int) string {
	s = unsafeRun.ReplaceAllString(s, "-")
	s = strings.Trim(s, "-.")
	if len(s) > max {
		s = strings.TrimRight(s[:max], "-.")
	}
	return s
}

// maxSuffix bounds how many same-second runs Dir will number before giving up.
const maxSuffix = 1000

// Dir creates and returns the report folder <root>/<app>/<runID>. It never
// reuses a folder: when <runID> exists (another run started in the same
// second, or a folder left behind), it tries <runID>-2, <runID>-3, … Each
// attempt is an exclusive os.Mkdir, so two processes racing for the same
// name both succeed with different folders. The caller should record
// filepath.Base(dir) as the run id.
func Dir(root, app, runID string) (string, error) {
	for _, part := range []struct{ what, v string }{{"app", app}, {"run id", runID}} {
		if part.v == "" || part.v == "." || part.v == ".." || strings.ContainsAny(part.v, `/\`) {
			return "", fmt.Errorf("report folder: %s %q is not a single path element", part.what, part.v)
		}
	}
	parent := filepath.Join(root, app)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", fmt.Errorf("report folder: %w", err)
	}
	for n := 1; n <= maxSuffix; n++ {
		name := runID
		if n > 1 {
			name = fmt.Sprintf("%s-%d", runID, n)
		}
		dir := filepath.Join(parent, name)
		err := os.Mkdir(dir, 0o755)
		if err == nil {
			return dir, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("report folder: %w", err)
		}
	}
	return "", fmt.Errorf("report folder: %s and %d numbered variants already exist in %s", runID, maxSuffix-1, parent)
}
