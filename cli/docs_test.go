package cli

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The reference in docs/ is written from the code; these tests keep it
// from drifting: every flag a command has is in docs/cli.md, every command
// has its section, and the documentation a clone ships links only to files
// that the clone has (the README once linked outside the repository).

var helpFlag = regexp.MustCompile(`(?m)^\s+-{1,2}([a-z][a-z0-9-]*)\b`)

func TestDocsCLINamesEveryCommandAndFlag(t *testing.T) {
	doc, err := os.ReadFile("../docs/cli.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	for _, name := range commandNames() {
		if name == "help" {
			continue
		}
		if !strings.Contains(text, "## `piv "+name+"`") {
			t.Errorf("docs/cli.md has no section \"## `piv %s`\"", name)
		}
		var out bytes.Buffer
		if code := Main(context.Background(), []string{name, "--help"}, &out, io.Discard); code != 0 {
			t.Fatalf("piv %s --help exited %d", name, code)
		}
		flags := helpFlag.FindAllStringSubmatch(out.String(), -1)
		if len(flags) == 0 && name != "version" && name != "completion" {
			t.Errorf("piv %s --help lists no flags: the pattern no longer reads the help", name)
		}
		for _, f := range flags {
			if !strings.Contains(text, "--"+f[1]) {
				t.Errorf("docs/cli.md does not mention piv %s --%s", name, f[1])
			}
		}
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)
var fence = regexp.MustCompile("(?s)```.*?```")

func TestDocsLinkOnlyInsideTheRepository(t *testing.T) {
	files := []string{"../README.md", "../CHANGELOG.md", "../suites/README.md"}
	more, _ := filepath.Glob("../docs/*.md")
	files = append(files, more...)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range mdLink.FindAllStringSubmatch(fence.ReplaceAllString(string(b), ""), -1) {
			link := m[1]
			if strings.HasPrefix(link, "http://") || strings.HasPrefix(link, "https://") || strings.HasPrefix(link, "#") {
				continue
			}
			path, _, _ := strings.Cut(link, "#")
			target := filepath.Join(filepath.Dir(f), path)
			rel, err := filepath.Rel("..", target)
			if err != nil || strings.HasPrefix(rel, "..") {
				t.Errorf("%s links %s, outside the repository", f, link)
				continue
			}
			if _, err := os.Stat(target); err != nil {
				t.Errorf("%s links %s, which does not exist", f, link)
			}
		}
	}
}
