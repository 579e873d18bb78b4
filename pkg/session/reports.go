package session

import (
	"os"
	"path/filepath"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/report"
	"github.com/piv-gate/piv/pkg/secret"
)

// WriteReports writes gate.json, junit.xml, report.html and the Markdown
// summary (to summary and appended to stepSummary when given). gate.json is
// written last among the report files, so that when any other report cannot
// be written the caller re-decides (inconclusive) and rewrites gate.json:
// the record never contradicts the exit code.
func WriteReports(res *gate.Result, dir, summary, stepSummary string) error {
	ju, err := report.JUnitWith(res, report.JUnitOptions{AttachmentDir: dir})
	if err != nil {
		return err
	}
	if err := report.WriteFileAtomic(filepath.Join(dir, "junit.xml"), report.RedactXML(ju, secret.Redact)); err != nil {
		return err
	}
	html, err := report.HTML(res, report.AttachmentReader(dir))
	if err != nil {
		return err
	}
	if err := report.WriteFileAtomic(filepath.Join(dir, "report.html"), secret.RedactBytes(html)); err != nil {
		return err
	}
	md := secret.RedactBytes([]byte(report.Markdown(res)))
	if summary != "" {
		if err := report.WriteFileAtomic(summary, md); err != nil {
			return err
		}
	}
	if stepSummary != "" {
		fh, err := os.OpenFile(stepSummary, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		_, err = fh.Write(md)
		if cerr := fh.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return writeGateJSON(res, dir)
}

// writeGateJSON writes gate.json redacted string by string
// (report.RedactGateJSON): a secret that is also JSON syntax or a key
// ("null", "pass") must not turn the record into invalid JSON, nor its
// verdict into one no pipeline can read, nor the run's identity into one
// its supervisor does not recognise. Numbers are not redacted (a
// secret of digits observed as a number shows as one).
func writeGateJSON(res *gate.Result, dir string) error {
	j, err := report.JSON(res)
	if err != nil {
		return err
	}
	t := res.Target
	if j, err = report.RedactGateJSON(j, secret.Redact, res.App, res.RunID, t.Node, t.Address, t.URL, t.Image); err != nil {
		return err
	}
	return report.WriteFileAtomic(filepath.Join(dir, "gate.json"), j)
}
