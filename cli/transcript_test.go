package cli

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// CLI transcripts, in the style of govulncheck's testdata/*.ct: a block
//
//	#####
//	# what it shows
//	$ piv run --nod web-02 shop --> FAIL 2
//	[stderr]
//	piv: run: unknown flag --nod (did you mean --node?); see 'piv run --help'
//
// runs the command with the piv built in TestMain and compares its exit
// code ("--> FAIL N"; none means 0), its stdout (the lines right after the
// command) and its stderr (after a "[stderr]" line) byte for byte. Every
// command runs in a fresh folder outside the repository with PIV_CONFIG and
// PIV_PROGRESS unset; leading NAME=VALUE words set the environment;
// ${testdata} is cli/testdata/transcripts. In the output the temporary
// folder reads ${tmp} and the version line "piv VERSION (commit COMMIT,
// GOVERSION)". go test -run Transcript -update rewrites the files.
var updateTranscripts = flag.Bool("update", false, "rewrite cli/testdata/transcripts/*.ct from what piv prints")

type transcriptCmd struct {
	line     string // as written after "$ "
	args     []string
	code     int
	out, err string
}

type transcriptBlock struct {
	comments []string
	cmds     []*transcriptCmd
}

var failSuffix = regexp.MustCompile(` --> FAIL (\d+)$`)

func parseTranscript(t *testing.T, text string) []*transcriptBlock {
	var blocks []*transcriptBlock
	var b *transcriptBlock
	var c *transcriptCmd
	var body []string
	flush := func() {
		if c == nil {
			return
		}
		s := strings.Join(body, "\n")
		s = strings.TrimSuffix(s, "\n") // the blank line after each output
		if len(body) > 0 {
			s += "\n"
		}
		if s == "\n" {
			s = ""
		}
		c.out, c.err, _ = strings.Cut(s, "[stderr]\n")
		c, body = nil, nil
	}
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		switch {
		case line == "#####":
			flush()
			b = &transcriptBlock{}
			blocks = append(blocks, b)
		case c == nil && strings.HasPrefix(line, "#"):
			if b == nil {
				t.Fatalf("comment before the first #####: %q", line)
			}
			b.comments = append(b.comments, line)
		case strings.HasPrefix(line, "$ "):
			flush()
			if b == nil {
				t.Fatalf("command before the first #####: %q", line)
			}
			c = &transcriptCmd{line: strings.TrimPrefix(line, "$ ")}
			if m := failSuffix.FindStringSubmatch(c.line); m != nil {
				c.code, _ = strconv.Atoi(m[1])
				c.line = strings.TrimSuffix(c.line, m[0])
			}
			c.args = shellWords(t, c.line)
			b.cmds = append(b.cmds, c)
		case c != nil:
			body = append(body, line)
		case line != "":
			t.Fatalf("stray line %q", line)
		}
	}
	flush()
	return blocks
}

func formatTranscript(blocks []*transcriptBlock) string {
	var s strings.Builder
	for i, b := range blocks {
		if i > 0 {
			s.WriteString("\n")
		}
		s.WriteString("#####\n")
		for _, c := range b.comments {
			s.WriteString(c + "\n")
		}
		for j, c := range b.cmds {
			if j > 0 {
				s.WriteString("\n")
			}
			s.WriteString("$ " + c.line)
			if c.code != 0 {
				fmt.Fprintf(&s, " --> FAIL %d", c.code)
			}
			s.WriteString("\n" + c.out)
			if c.err != "" {
				s.WriteString("[stderr]\n" + c.err)
			}
		}
	}
	return s.String()
}

// shellWords splits a command line as sh would, for the quoting the
// transcripts use: '...', "..." and backslash.
func shellWords(t *testing.T, line string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		switch ch := line[i]; {
		case ch == ' ':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		case ch == '\'' || ch == '"':
			j := strings.IndexByte(line[i+1:], ch)
			if j < 0 {
				t.Fatalf("unbalanced quote in %q", line)
			}
			w.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '\\' && i+1 < len(line):
			i++
			w.WriteByte(line[i])
			inWord = true
		default:
			w.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

var versionLineRe = regexp.MustCompile(`piv \S+ \(commit \S+, go[^)]+\)`)

func (c *transcriptCmd) run(t *testing.T, testdata string) (code int, stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PIV_CONFIG=") && !strings.HasPrefix(kv, "PIV_PROGRESS=") {
			env = append(env, kv)
		}
	}
	args := append([]string{}, c.args...)
	for len(args) > 0 && regexp.MustCompile(`^[A-Z_]+=`).MatchString(args[0]) {
		env = append(env, strings.ReplaceAll(args[0], "${testdata}", testdata))
		args = args[1:]
	}
	if len(args) == 0 || args[0] != "piv" {
		t.Fatalf("transcript command must run piv: %q", c.line)
	}
	for i := range args {
		args[i] = strings.ReplaceAll(args[i], "${testdata}", testdata)
	}
	cmd := exec.Command(pivBin, args[1:]...)
	cmd.Dir, cmd.Env = dir, env
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	norm := func(s string) string {
		if real, err := filepath.EvalSymlinks(dir); err == nil {
			s = strings.ReplaceAll(s, real, "${tmp}")
		}
		s = strings.ReplaceAll(s, dir, "${tmp}")
		s = strings.ReplaceAll(s, testdata, "${testdata}")
		return versionLineRe.ReplaceAllString(s, "piv VERSION (commit COMMIT, GOVERSION)")
	}
	return code, norm(so.String()), norm(se.String())
}

func TestTranscripts(t *testing.T) {
	testdata, err := filepath.Abs(filepath.Join("testdata", "transcripts"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(testdata, "*.ct"))
	if len(files) == 0 {
		t.Fatal("no transcripts in testdata/transcripts")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".ct"), func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			blocks := parseTranscript(t, string(text))
			if got := formatTranscript(blocks); got != string(text) && !*updateTranscripts {
				t.Fatalf("%s does not read back as written (blank lines between blocks, [stderr] markers):\n%s", file, got)
			}
			for _, b := range blocks {
				for _, c := range b.cmds {
					code, out, errs := c.run(t, testdata)
					if *updateTranscripts {
						c.code, c.out, c.err = code, out, errs
						continue
					}
					if code != c.code || out != c.out || errs != c.err {
						t.Errorf("$ %s\nwant exit %d, stdout:\n%s\nstderr:\n%s\ngot exit %d, stdout:\n%s\nstderr:\n%s\n"+
							"(a deliberate change of piv's output? go test ./cli -run Transcripts -update, then review the diff)",
							c.line, c.code, c.out, c.err, code, out, errs)
					}
				}
			}
			if *updateTranscripts {
				if err := os.WriteFile(file, []byte(formatTranscript(blocks)), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// The transcript format itself: what is written reads back the same, blank
// lines inside an output, empty stdout and empty output included.
func TestTranscriptFormatRoundTrip(t *testing.T) {
	blocks := []*transcriptBlock{
		{comments: []string{"# a"}, cmds: []*transcriptCmd{{line: "piv x", args: []string{"piv", "x"}, code: 2, err: "e\n"}}},
		{comments: []string{"# b"}, cmds: []*transcriptCmd{
			{line: "piv y", args: []string{"piv", "y"}, out: "o\n\nmore\n"},
			{line: "piv z 'a b'", args: []string{"piv", "z", "a b"}, code: 3, out: "o\n", err: "e\n"},
			{line: "piv w", args: []string{"piv", "w"}},
		}},
	}
	text := formatTranscript(blocks)
	again := parseTranscript(t, text)
	if formatTranscript(again) != text {
		t.Fatalf("round trip:\n%s\n---\n%s", text, formatTranscript(again))
	}
	for i, b := range blocks {
		for j, c := range b.cmds {
			g := again[i].cmds[j]
			if g.code != c.code || g.out != c.out || g.err != c.err || strings.Join(g.args, "|") != strings.Join(c.args, "|") {
				t.Errorf("block %d cmd %d: got %+v, want %+v", i, j, g, c)
			}
		}
	}
}
