package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// A value with characters every encoding treats specially.
const tricky = `p@ss w/rd&<"x'>+é=1`

// Encodings returns the forms a test expects to be redacted (also used by
// the CLI acceptance test's byte search, through a copy there).
func encodings(v string) map[string]string {
	pct := func(upper bool) string {
		var b strings.Builder
		for _, c := range []byte(v) {
			if upper {
				fmt.Fprintf(&b, "%%%02X", c)
			} else {
				fmt.Fprintf(&b, "%%%02x", c)
			}
		}
		return b.String()
	}
	js, _ := json.Marshal(v)
	var dec, hx strings.Builder
	for _, r := range v {
		fmt.Fprintf(&dec, "&#%d;", r)
		fmt.Fprintf(&hx, "&#x%X;", r)
	}
	return map[string]string{
		"literal":           v,
		"html.Escape":       html.EscapeString(v),
		"template.HTML":     template.HTMLEscapeString(v),
		"template.JS":       template.JSEscapeString(v),
		"decimal entities":  dec.String(),
		"hex entities":      hx.String(),
		"QueryEscape":       url.QueryEscape(v),
		"PathEscape":        url.PathEscape(v),
		"pct lower":         pct(false),
		"pct upper":         pct(true),
		"json":              strings.Trim(string(js), `"`),
		"base64 std":        base64.StdEncoding.EncodeToString([]byte(v)),
		"base64 url":        base64.URLEncoding.EncodeToString([]byte(v)),
		"base64 raw std":    base64.RawStdEncoding.EncodeToString([]byte(v)),
		"base64 raw url":    base64.RawURLEncoding.EncodeToString([]byte(v)),
		"hex":               hex.EncodeToString([]byte(v)),
		"QueryEscape twice": url.QueryEscape(url.QueryEscape(v)),
		"base64 in query":   url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(v))),
	}
}

func TestRedactsEveryEncoding(t *testing.T) {
	for _, v := range []string{tricky, "hunter2-very-secret", "tok 😀 \u00a0end"} {
		Register(v)
		for name, form := range encodings(v) {
			if name == "template.JS" && !strings.ContainsAny(v, `&<"'>+=`) {
				continue
			}
			in := "before " + form + " after"
			got := Redact(in)
			if got != "before "+Mask+" after" {
				t.Errorf("%q %s: Redact(%q) = %q", v, name, in, got)
			}
			if !Contains([]byte(in)) {
				t.Errorf("%q %s: Contains is false", v, name)
			}
		}
	}
}

// base64 of a longer text that holds the secret at any offset (a Basic
// credential "user:secret") still gives the secret away unless its core is
// redacted.
func TestRedactsBase64AtEveryAlignment(t *testing.T) {
	const v = "b64-aligned-secret"
	Register(v)
	for off := 0; off < 6; off++ {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			blob := enc.EncodeToString([]byte(strings.Repeat("u", off) + ":" + v + "!tail"))
			if got := Redact(blob); !strings.Contains(got, Mask) {
				t.Errorf("offset %d: %s not redacted: %s", off, blob, got)
			}
		}
	}
}

// Mixed escaping, as a browser or a template produces: only some
// characters encoded.
func TestRedactsMixedEscaping(t *testing.T) {
	const v = "mix&match<42>"
	Register(v)
	for _, in := range []string{"mix&amp;match&lt;42>", `mix\&match\<42\>`, "mix%26match<42%3E", `mix\u0026match\u003c42\u003e`, "mix&#38match&#x3c;42&gt;"} {
		if got := Redact(in); got != Mask {
			t.Errorf("Redact(%q) = %q", in, got)
		}
	}
}

func TestRedactLeavesOtherTextAlone(t *testing.T) {
	Register("zq-unrelated-9")
	in := "status 200 OK, premium 412.50 GBP &amp; %20 \\u0041 aGVsbG8="
	if got := Redact(in); got != in {
		t.Errorf("Redact changed unrelated text: %q", got)
	}
}

// The pattern is handed to the browser: it must compile as a JavaScript
// RegExp too, so it may use only syntax both engines share.
func TestPatternIsPortable(t *testing.T) {
	Register(tricky)
	src := Pattern()
	for _, bad := range []string{"(?i", "(?P", `\x{`, `\z`, `\A`, `\pL`} {
		if strings.Contains(src, bad) {
			t.Errorf("pattern uses %q, which JavaScript does not have", bad)
		}
	}
	if _, err := regexp.Compile(src); err != nil {
		t.Fatal(err)
	}
}

type chunks struct{ bytes.Buffer }

// A secret split across writes, at every split point, in every form: the
// stream never passes it on in clear, and after Flush everything else got
// through unchanged.
func TestStreamRedactsAcrossWrites(t *testing.T) {
	const v = "split-secret-77"
	Register(v)
	for name, form := range encodings(v) {
		text := "line one\nthe value is " + form + " (end)\nlast line without newline"
		want := Redact(text)
		for i := 0; i <= len(text); i++ {
			for _, j := range []int{i, i + 1, i + 5, (i + len(text)) / 2} {
				j = min(j, len(text))
				var out chunks
				s := NewStream(&out)
				s.Write([]byte(text[:i]))
				s.Write([]byte(text[i:j]))
				s.Write([]byte(text[j:]))
				if Contains(out.Bytes()) {
					t.Fatalf("%s: split %d/%d: secret passed before flush: %q", name, i, j, out.String())
				}
				s.Flush()
				if out.String() != want {
					t.Fatalf("%s: split %d/%d: got %q, want %q", name, i, j, out.String(), want)
				}
			}
		}
	}
}

// One byte at a time, as fmt does for a %c loop: still redacted, and the
// stream never holds back more than the longest form.
func TestStreamBytewiseAndBounded(t *testing.T) {
	const v = "bytewise-secret"
	Register(v)
	var out bytes.Buffer
	s := NewStream(&out)
	text := strings.Repeat("noise ", 50) + v + strings.Repeat(" more", 50)
	for i := range len(text) {
		s.Write([]byte{text[i]})
		if held := len(s.buf); held >= current().maxLen {
			t.Fatalf("holding back %d bytes, longest form is %d", held, current().maxLen)
		}
	}
	s.Close()
	if got := out.String(); got != Redact(text) || strings.Contains(got, v) {
		t.Fatalf("got %q", got)
	}
	// After Close, writes pass at once.
	s.Write([]byte("late " + v))
	if !strings.HasSuffix(out.String(), "late "+Mask) {
		t.Fatalf("late write: %q", out.String())
	}
}

// Line ends flush: progress lines are not delayed when no secret spans one.
func TestStreamFlushesAtLineEnds(t *testing.T) {
	Register("newline-check-secret")
	var out bytes.Buffer
	s := NewStream(&out)
	s.Write([]byte("• spec passed\n"))
	if out.String() != "• spec passed\n" {
		t.Fatalf("line held back: %q", out.String())
	}
	s.Write([]byte("•••"))
	if out.String() != "• spec passed\n•••" {
		t.Fatalf("bytes no secret starts with held back: %q", out.String())
	}
}

// Redaction speed on a page of ordinary HTML, with a typical secret and
// with one made of the characters HTML and URLs escape (which defeats the
// cut into runs: every byte may be part of a match).
func BenchmarkRedactBytes(b *testing.B) {
	page := bytes.Repeat([]byte("<div class=\"row\">premium 412.50 GBP &amp; more text here</div>\n"), 16<<10)
	for _, v := range []string{"hunter2-very-secret", tricky} {
		b.Run(fmt.Sprintf("%d-bytes", len(v)), func(b *testing.B) {
			Register(v)
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				RedactBytes(page)
			}
		})
	}
}

// Cutting text into runs before matching changes nothing: the forms'
// matches are the regular expression's own on the whole text, for texts built from
// secrets' forms, their pieces and noise.
func TestRunsMatchTheWholeText(t *testing.T) {
	vals := []string{"run-split-secret", tricky, "two words here"}
	var pieces []string
	for _, v := range vals {
		Register(v)
		for _, f := range encodings(v) {
			pieces = append(pieces, f, f[:len(f)/2], f[len(f)/2:])
		}
	}
	pieces = append(pieces, " ", "<", "\n", "&amp;", "%2", "\\u00", "=", "x")
	whole := regexp.MustCompile(current().src)
	whole.Longest()
	seed := uint32(1)
	next := func(n int) int { seed = seed*1664525 + 1013904223; return int(seed>>8) % n }
	for i := 0; i < 400; i++ {
		var b strings.Builder
		for range next(12) {
			b.WriteString(pieces[next(len(pieces))])
		}
		in := []byte(b.String())
		// The forms' pass alone: the decoded forms (decoded.go) find more.
		var got []byte
		last := 0
		for _, l := range current().findForms(in) {
			got = append(append(got, in[last:l[0]]...), Mask...)
			last = l[1]
		}
		got = append(got, in[last:]...)
		if got, want := string(got), string(whole.ReplaceAllLiteral(in, []byte(Mask))); got != want {
			t.Fatalf("runs: %q\nwhole: %q\ninput: %q", got, want, in)
		}
	}
}
