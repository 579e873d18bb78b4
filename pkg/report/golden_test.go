package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/piv-gate/piv/pkg/gate"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./pkg/report -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test ./pkg/report -update rewrites it)\n--- got ---\n%s", path, got)
	}
}

func readFixture(path string) ([]byte, error) {
	if b, ok := attachmentFiles[path]; ok {
		return b, nil
	}
	return nil, os.ErrNotExist
}

func fixtures() map[string]*gate.Result {
	return map[string]*gate.Result{
		"pass":         passingResult(),
		"fail":         failingResult(),
		"inconclusive": inconclusiveResult(),
		"narrowed":     narrowedResult(),
		"fleet":        fleetResult(),
	}
}

func TestGolden(t *testing.T) {
	for name, r := range fixtures() {
		t.Run(name, func(t *testing.T) {
			j, err := JSON(r)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".gate.json", j)
			x, err := JUnit(r)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".junit.xml", x)
			golden(t, name+".txt", []byte(Text(r)))
			golden(t, name+".md", []byte(Markdown(r)))
			h, err := HTML(r, readFixture)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, name+".report.html", h)
		})
	}
}
