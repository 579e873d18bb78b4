package report

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
)

func renderAll(t *testing.T, r *gate.Result) (text, md, html, junit, js string) {
	t.Helper()
	h, err := HTML(r, readFixture)
	if err != nil {
		t.Fatal(err)
	}
	j, err := JUnit(r)
	if err != nil {
		t.Fatal(err)
	}
	g, err := JSON(r)
	if err != nil {
		t.Fatal(err)
	}
	return Text(r), Markdown(r), string(h), string(j), string(g)
}

// Renderers trust the verdict: they show what gate.Decide said, even when
// the checks alone would suggest otherwise.
func TestRenderersTrustTheVerdict(t *testing.T) {
	r := passingResult()
	r.Verdict, r.Reason = gate.Fail, "decided elsewhere"
	text, md, html, junit, js := renderAll(t, r)
	if !strings.HasPrefix(text, "FAIL quote ") || !strings.Contains(text, "reason: decided elsewhere") {
		t.Errorf("text:\n%s", text)
	}
	if !strings.HasPrefix(md, "### FAIL: ") {
		t.Errorf("markdown:\n%s", md)
	}
	if !strings.Contains(html, `<header class="fail">`) || !strings.Contains(html, "<h1>FAIL ·") {
		t.Errorf("html header wrong")
	}
	if !strings.Contains(junit, `<property name="verdict" value="fail">`) || !strings.Contains(junit, `<property name="reason" value="decided elsewhere">`) {
		t.Errorf("junit properties should carry the verdict as decided:\n%s", junit)
	}
	if !strings.Contains(js, `"verdict": "fail"`) {
		t.Errorf("json verdict")
	}

	r = failingResult()
	r.Verdict, r.Reason = gate.Pass, ""
	text, md, html, junit, _ = renderAll(t, r)
	if !strings.HasPrefix(text, "PASS ") || !strings.HasPrefix(md, "### PASS: ") || !strings.Contains(html, `<header class="pass">`) {
		t.Errorf("a pass verdict must be shown as PASS whatever the checks say")
	}
	if !strings.Contains(junit, `<property name="verdict" value="pass">`) {
		t.Errorf("junit verdict property should say pass")
	}

	r.Verdict = "weird"
	text, _, html, junit, _ = renderAll(t, r)
	if !strings.HasPrefix(text, "WEIRD ") || !strings.Contains(html, `<header class="inconclusive">`) || !strings.Contains(junit, `<property name="verdict" value="weird">`) {
		t.Errorf("unknown verdicts are shown as they are, coloured and counted as not passing")
	}
}

func TestRenderersDoNotModifyTheResult(t *testing.T) {
	for name, r := range fixtures() {
		before, _ := json.Marshal(r)
		r.Checks[0].Labels = nil // JSON normalises nil slices in its copy only
		r.Checks[0].Attachments = nil
		snap := *r
		renderAll(t, r)
		if !reflect.DeepEqual(snap, *r) || r.Checks[0].Labels != nil || r.Checks[0].Attachments != nil {
			t.Errorf("%s: a renderer modified the result", name)
		}
		_ = before
	}
}

func TestJSONShape(t *testing.T) {
	b, err := JSON(&gate.Result{StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("CET", 3600)),
		Checks: []gate.Check{{Name: "a <b> & c"}}})
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{`"schema": "piv.gate/v1"`, `"labels": []`, `"attachments": []`, `"failure": null`, `"startedAt": "2026-01-02T02:04:05Z"`, `"a <b> & c"`} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %s in\n%s", want, s)
		}
	}
	if !strings.HasSuffix(s, "}\n") || strings.HasSuffix(s, "\n\n") {
		t.Errorf("want exactly one trailing newline")
	}
	b, _ = JSON(&gate.Result{})
	if !strings.Contains(string(b), `"checks": []`) {
		t.Errorf("checks must never be null:\n%s", b)
	}
	var back gate.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	// Keys come in the order of the Go fields (the DESIGN.md order).
	order := []string{`"schema"`, `"runId"`, `"app"`, `"target"`, `"expectedVersion"`, `"observedVersion"`, `"verdict"`, `"reason"`, `"startedAt"`, `"durationSeconds"`, `"summary"`, `"checks"`}
	last := -1
	for _, k := range order {
		i := strings.Index(string(b), k)
		if i < last {
			t.Errorf("%s out of order", k)
		}
		last = i
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "gate.json")
	for _, data := range []string{"first\n", "second, longer\n"} {
		if err := WriteFileAtomic(p, []byte(data)); err != nil {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		if string(got) != data {
			t.Errorf("got %q want %q", got, data)
		}
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", fi.Mode())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x"), nil); err == nil {
		t.Errorf("want an error for a missing directory")
	}
}

func TestRunID(t *testing.T) {
	now := time.Date(2026, 11, 25, 20, 1, 2, 999, time.FixedZone("CET", 3600))
	for _, c := range []struct{ scope, name, want string }{
		{"node", "app-02", "20261125T190102Z-quote-node-app-02"},
		{"service", "", "20261125T190102Z-quote-service"},
		{"service", "ignored", "20261125T190102Z-quote-service"},
		{"image", "registry.local:5000/quote:2.4.1", "20261125T190102Z-quote-image-registry.local-5000-quote-2.4.1"},
		{"node", "../../etc", "20261125T190102Z-quote-node-etc"},
	} {
		if got := RunID(now, "quote", c.scope, c.name); got != c.want {
			t.Errorf("RunID(%s, %q) = %q, want %q", c.scope, c.name, got, c.want)
		}
	}
}

// Two runs in the same second (here: twenty at once) never share a folder.
func TestDirNeverClobbers(t *testing.T) {
	root := t.TempDir()
	const n = 20
	var wg sync.WaitGroup
	dirs := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { dirs[i], errs[i] = Dir(root, "quote", "20261125T190102Z-quote-service") })
	}
	wg.Wait()
	seen := map[string]bool{}
	for i, d := range dirs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[d] {
			t.Fatalf("two runs got %s", d)
		}
		seen[d] = true
	}
	var names []string
	for d := range seen {
		names = append(names, filepath.Base(d))
	}
	sort.Strings(names)
	if names[0] != "20261125T190102Z-quote-service" || !seen[filepath.Join(root, "quote", "20261125T190102Z-quote-service-20")] {
		t.Errorf("want the plain name then -2…-20, got %v", names)
	}
	for _, bad := range [][2]string{{"quote", "../x"}, {"..", "id"}, {"quote", ""}, {"a/b", "id"}} {
		if _, err := Dir(root, bad[0], bad[1]); err == nil {
			t.Errorf("Dir(%q, %q) should be refused", bad[0], bad[1])
		}
	}
}

const hostile = "<script>alert(1)</script> & \"q\" ]]> \x00\x1b[31m |pipe| `tick` *star*"

func hostileResult() *gate.Result {
	r := failingResult()
	r.App = "quote"
	r.Reason = hostile
	c := &r.Checks[6]
	c.Name = hostile
	c.Suite = hostile
	c.Failure.Message = hostile + "\nsecond line"
	c.Failure.Step = hostile
	c.Steps = append(c.Steps, hostile)
	c.Attachments = append(c.Attachments, gate.Attachment{Name: hostile, ContentType: "text/plain", Path: "javascript:alert(1)"})
	return r
}

func TestJUnitIsWellFormedWhateverTheText(t *testing.T) {
	b, err := JUnit(hostileResult())
	if err != nil {
		t.Fatal(err)
	}
	var doc junitSuites
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("junit.xml is not well-formed: %v\n%s", err, b)
	}
	var found bool
	for _, s := range doc.Suites {
		for _, c := range s.Cases {
			if c.Failure != nil && strings.Contains(c.Failure.Text, "]]> ") && strings.Contains(c.Failure.Text, "second line") {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the failure text did not survive the round trip")
	}
	skipped := 0
	for _, s := range doc.Suites {
		skipped += s.Skipped
	}
	// 8 checks, no synthetic verdict test case: one blocking failure (the
	// advisory failure passes with a warning), one skipped.
	if doc.Tests != 8 || doc.Failures != 1 || skipped != 1 || doc.Errors != 0 {
		t.Errorf("counts: tests %d failures %d skipped %d errors %d", doc.Tests, doc.Failures, skipped, doc.Errors)
	}
}

func TestJUnitMapping(t *testing.T) {
	b, _ := JUnitWith(failingResult(), JUnitOptions{AttachmentDir: "/ci/reports/quote/run"})
	s := string(b)
	for _, want := range []string{
		"[[ATTACHMENT|/ci/reports/quote/run/attachments/001-screenshot.png]]\n",
		"WARNING (advisory, does not block the gate)",
		"FLAKY: passed only after 2 attempts",
		"<rerunFailure message=\"attempt 1 of 2 failed; attempt 2 passed\" type=\"flaky\">\n        <stackTrace><![CDATA[attempt 1 of 2 failed",
		`<property name="verdict" value="fail">`,
		`<property name="reason" value="1 blocking check(s) failed: quote motor quote journey shows the premium on the quote page">`,
		`<property name="summary" value="8 checks: 5 passed (1 flaky), 2 failed (1 advisory), 1 skipped">`,
		`<property name="narrowed" value="false">`,
		`<property name="observedVersion" value="2.4.1">`,
		`classname="quote.node.app-02"`,
		`<testsuites name="piv quote" tests="8" failures="1" errors="0" time="3.210">`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("junit.xml lacks %q", want)
		}
	}
	for _, not := range []string{"gate verdict", `classname="quote.technical"`} {
		if strings.Contains(s, not) {
			t.Errorf("junit.xml should not contain %q", not)
		}
	}
	if n := strings.Count(s, "<rerunFailure "); n != 1 {
		t.Errorf("a flaky pass after 2 attempts has 1 failed attempt, got %d <rerunFailure>", n)
	}
	b, _ = JUnit(inconclusiveResult())
	if !strings.Contains(string(b), `<error message="interrupted by the run timeout`) ||
		!strings.Contains(string(b), `<property name="reason" value="timeout: the run exceeded --timeout 30s`) {
		t.Errorf("inconclusive: interrupted check should be <error>, the reason a property:\n%s", b)
	}
	b, _ = JUnit(fleetResult())
	for _, want := range []string{`classname="quote.node.app-01"`, `classname="quote.node.app-02"`, `classname="quote.service"`,
		`<testsuite name="quote technical (node app-02)"`, `<property name="remediation" value="CHG-2026-0412">`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("fleet junit.xml lacks %q", want)
		}
	}
	if n := strings.Count(string(b), "<rerunFailure "); n != 2 {
		t.Errorf("a flaky pass after 3 attempts has 2 failed attempts, got %d <rerunFailure>", n)
	}
	// Zero checks: no test case, but the verdict and reason are still there.
	r := &gate.Result{App: "quote", Target: gate.Target{Scope: "service"}}
	gate.Decide(r, gate.Policy{}, "")
	b, _ = JUnit(r)
	if !strings.Contains(string(b), `tests="0" failures="0" errors="0"`) ||
		!strings.Contains(string(b), `<property name="verdict" value="inconclusive">`) ||
		!strings.Contains(string(b), `<property name="reason" value="no checks were selected: nothing was verified">`) {
		t.Errorf("zero checks selected: an empty suite carrying the verdict:\n%s", b)
	}
}

func TestHTMLEscapesAndInlines(t *testing.T) {
	h, err := HTML(hostileResult(), readFixture)
	if err != nil {
		t.Fatal(err)
	}
	s := string(h)
	if strings.Contains(s, "<script>") || strings.Contains(s, `href="javascript:`) {
		t.Errorf("unescaped content in report.html")
	}
	if strings.Contains(s, "<link") || strings.Contains(s, `src="http`) || strings.Contains(s, "<script") {
		t.Errorf("report.html must be self-contained")
	}
	if !strings.Contains(s, `src="data:image/png;base64,iVBOR`) {
		t.Errorf("screenshot not inlined")
	}
	if !strings.Contains(s, "could not read the attachment") {
		t.Errorf("an unreadable attachment should be noted")
	}
}

func TestHTMLAttachmentLimits(t *testing.T) {
	big := strings.Repeat("é", 40<<10) // 80 KiB of two-byte runes
	files := map[string][]byte{
		"big.txt":   []byte(big),
		"fake.png":  []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>`),
		"body.json": []byte(`{"a":"<b>"}`),
		"blob.bin":  {1, 2, 3},
	}
	r := &gate.Result{Verdict: gate.Pass, Attachments: []gate.Attachment{
		{Name: "log", ContentType: "text/plain; charset=utf-8", Path: "big.txt"},
		{Name: "shot", ContentType: "image/png", Path: "fake.png"},
		{Name: "body", ContentType: "application/problem+json", Path: "body.json"},
		{Name: "blob", ContentType: "application/octet-stream", Path: "blob.bin"},
	}}
	h, err := HTML(r, func(p string) ([]byte, error) {
		if b, ok := files[p]; ok {
			return b, nil
		}
		return nil, errors.New("no such file")
	})
	if err != nil {
		t.Fatal(err)
	}
	s := string(h)
	if !strings.Contains(s, "trimmed: showing the first 64 KiB of 81920 bytes") {
		t.Errorf("big text attachment not trimmed with a note")
	}
	if strings.Count(s, "é") > 32<<10 || strings.Contains(s, "\uFFFD") {
		t.Errorf("trim should cut on a rune boundary and keep at most 64 KiB")
	}
	if strings.Contains(s, "data:image/svg") || !strings.Contains(s, "not a PNG, JPEG, GIF or WebP") {
		t.Errorf("a non-raster 'image' must not be inlined")
	}
	if !strings.Contains(s, "{&#34;a&#34;:&#34;&lt;b&gt;&#34;}") {
		t.Errorf("JSON attachment not inlined escaped")
	}
	if !strings.Contains(s, `<a href="blob.bin">blob</a>`) {
		t.Errorf("binary attachment should be linked")
	}
	// Without a reader, everything is linked.
	h, _ = HTML(r, nil)
	if strings.Contains(string(h), "<pre>") {
		t.Errorf("nil reader should inline nothing")
	}
}

func TestAttachmentReaderStaysInsideTheFolder(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "run")
	os.MkdirAll(filepath.Join(dir, "attachments"), 0o755)
	os.WriteFile(filepath.Join(dir, "attachments", "a.txt"), []byte("ok"), 0o644)
	os.WriteFile(filepath.Join(root, "secret.txt"), []byte("no"), 0o644)
	os.Symlink(filepath.Join(root, "secret.txt"), filepath.Join(dir, "attachments", "link.txt"))
	read := AttachmentReader(dir)
	if b, err := read("attachments/a.txt"); err != nil || string(b) != "ok" {
		t.Errorf("read inside: %q %v", b, err)
	}
	for _, p := range []string{"../secret.txt", filepath.Join(root, "secret.txt"), "attachments/link.txt"} {
		if _, err := read(p); err == nil {
			t.Errorf("%s was read", p)
		}
	}
}

func TestMarkdownEscapes(t *testing.T) {
	md := Markdown(hostileResult())
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| **failed** |") {
			unescaped := strings.Count(line, "|") - strings.Count(line, `\|`)
			if unescaped != 5 {
				t.Errorf("a check name broke the table row: %s", line)
			}
		}
	}
	outside := md[:strings.Index(md, "```text")] + md[strings.LastIndex(md, "```"):]
	if strings.Contains(outside, "<script>") || strings.ContainsAny(md, "\x00\x1b") {
		t.Errorf("raw HTML in the markdown summary")
	}
	// A message with a fence inside stays inside its block.
	r := failingResult()
	r.Checks[6].Failure.Message = "before\n```\nafter"
	if !strings.Contains(Markdown(r), "````text\nbefore\n```\nafter\n````") {
		t.Errorf("fence not lengthened:\n%s", Markdown(r))
	}
}

func TestTextTrimsAndCleans(t *testing.T) {
	r := failingResult()
	var long []string
	for i := range 100 {
		long = append(long, fmt.Sprintf("line %d", i))
	}
	r.Checks[6].Failure.Message = strings.Join(long, "\n")
	s := TextWith(r, TextOptions{Dir: "reports/quote/run"})
	if strings.Contains(s, "line 20") || !strings.Contains(s, "… (trimmed; the full text is in gate.json)") {
		t.Errorf("long message not trimmed:\n%s", s)
	}
	if !strings.Contains(s, "attachment: reports/quote/run/attachments/001-screenshot.png (image/png)") {
		t.Errorf("attachment path not joined to the report folder:\n%s", s)
	}
	if !strings.HasSuffix(s, "\n8 checks: 5 passed (1 flaky), 2 failed (1 advisory), 1 skipped\n") {
		t.Errorf("closing line:\n%s", s)
	}
	s = Text(hostileResult())
	if strings.ContainsAny(s, "\x00\x1b") {
		t.Errorf("control characters reached the terminal")
	}
	if c := TextWith(passingResult(), TextOptions{Color: true}); !strings.HasPrefix(c, "\x1b[1;32mPASS\x1b[0m ") {
		t.Errorf("colour: %q", c[:20])
	}
}
