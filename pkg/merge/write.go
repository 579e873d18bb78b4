package merge

import (
	"path/filepath"

	"github.com/piv-gate/piv/pkg/report"
	"github.com/piv-gate/piv/pkg/secret"
)

// Files are the merged report's file names in the output folder.
var Files = []string{"index.json", "index.html", "summary.md", "junit.xml"}

// Write writes the merged report into dir, each file atomically.
func Write(r *Report, dir string) error {
	j, err := JSON(r)
	if err != nil {
		return err
	}
	h, err := HTML(r)
	if err != nil {
		return err
	}
	ju, err := JUnit(r)
	if err != nil {
		return err
	}
	for i, b := range [][]byte{j, h, []byte(Markdown(r)), ju} {
		if err := report.WriteFileAtomic(filepath.Join(dir, Files[i]), secret.RedactBytes(b)); err != nil {
			return err
		}
	}
	return nil
}
