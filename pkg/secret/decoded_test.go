package secret

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
)

// The attack's secret: HTML, URL and JSON specials, non-ASCII, 63 bytes
// (four hex.Dump lines).
const longSecret = `Zq8"<p&ss>/w rd+ÄÖ-LongTail0123456789abcdefghijklmnopqrstuvwx`

// wrap breaks s into lines of n characters ending in eol, as MIME (76,
// CRLF) and PEM (64, LF) do.
func wrap(s string, n int, eol string) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n] + eol)
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

// decodedForms are forms only decoding finds, by name.
func decodedForms(v string) map[string]string {
	b64 := base64.StdEncoding.EncodeToString([]byte(v))
	basic := base64.StdEncoding.EncodeToString([]byte("qa-user:" + v))
	return map[string]string{
		"base64 MIME 76 CRLF":    wrap(b64, 76, "\r\n"),
		"base64 wrapped 20 CRLF": wrap(b64, 20, "\r\n"),
		"base64 PEM 64 LF":       wrap(b64, 64, "\n"),
		"basic auth wrapped 16":  wrap(basic, 16, "\n"),
		"% x":                    fmt.Sprintf("% x", v),
		"% X":                    fmt.Sprintf("% X", v),
		"colons":                 strings.ReplaceAll(fmt.Sprintf("% x", v), " ", ":"),
		"%#v bytes":              fmt.Sprintf("%#v", []byte(v)),
		"fmt.Sprint bytes":       fmt.Sprint([]byte(v)),
		"commas":                 strings.ReplaceAll(strings.Trim(fmt.Sprint([]byte(v)), "[]"), " ", ", "),
		"hex.Dump":               hex.Dump([]byte(v)),
		"hex.Dump at offset 5":   hex.Dump([]byte("user:" + v + " and more")),
		"% x inside a longer":    fmt.Sprintf("% x", "user="+v+";"),
		"indented MIME":          strings.ReplaceAll(wrap(b64, 20, "\r\n"), "\n", "\n  "),
		"indented hex.Dump":      "  " + strings.ReplaceAll(hex.Dump([]byte(v)), "\n", "\n  "),
	}
}

// leftOf reports what of v (or of its form f) is still readable in out: a
// 10-byte piece of v, a line of f of wrapHold characters or more, or the
// hex of 4 of v's bytes.
func leftOf(v, f, out string) string {
	for i := 0; i+10 <= len(v); i++ {
		if strings.Contains(out, v[i:i+10]) {
			return v[i : i+10]
		}
	}
	for _, line := range strings.Split(f, "\n") {
		line = strings.TrimSpace(line)
		if len(line) >= wrapHold && !strings.Contains(line, " ") && strings.Contains(out, line) {
			return line
		}
	}
	for i := 0; i+4 <= len(v); i += 4 {
		if h := fmt.Sprintf("% x", v[i:i+4]); strings.Contains(out, h) {
			return h
		}
	}
	return ""
}

func TestRedactsDecodedForms(t *testing.T) {
	for _, v := range []string{longSecret, "hunter2-very-secret"} {
		Register(v)
		for name, f := range decodedForms(v) {
			in := "before\n" + f + "\nafter"
			out := Redact(in)
			if left := leftOf(v, f, out); left != "" || !strings.Contains(out, Mask) {
				t.Errorf("%q %s: %q left in\n%s", v[:6], name, left, out)
			}
			if !strings.HasPrefix(out, "before\n") || !strings.HasSuffix(out, "\nafter") {
				t.Errorf("%q %s: text around the form changed:\n%s", v[:6], name, out)
			}
			if !Contains([]byte(in)) {
				t.Errorf("%q %s: Contains is false", v[:6], name)
			}
		}
	}
}

// Numbers, hex and wrapped base64 that are not a secret are left alone.
func TestDecodedFormsLeaveOtherTextAlone(t *testing.T) {
	Register(longSecret)
	other := []string{
		fmt.Sprint([]byte("an ordinary byte slice")),
		fmt.Sprintf("% x", "some other value"),
		hex.Dump([]byte("a dump of something else entirely, over lines")),
		wrap(base64.StdEncoding.EncodeToString([]byte(strings.Repeat("not the secret ", 9))), 20, "\r\n"),
		"2026-12-03 07:29:20 status 200, 90 113 56 ms",
	}
	for _, in := range other {
		if got := Redact(in); got != in {
			t.Errorf("changed %q\nto %q", in, got)
		}
	}
}

// Streamed one byte at a time, line by line, or as hex.Dumper writes: the
// decoded forms are redacted as in the whole text, never passed on before.
func TestStreamRedactsDecodedForms(t *testing.T) {
	Register(longSecret)
	for name, f := range decodedForms(longSecret) {
		text := "• spec\n" + f + "\ndone\n"
		want := Redact(text)
		for _, size := range []int{1, 7, 20, 79} {
			var out bytes.Buffer
			s := NewStream(&out)
			for i := 0; i < len(text); i += size {
				s.Write([]byte(text[i:min(len(text), i+size)]))
				if left := leftOf(longSecret, f, out.String()); left != "" {
					t.Fatalf("%s, writes of %d: %q passed on:\n%s", name, size, left, out.String())
				}
			}
			s.Flush()
			if out.String() != want {
				t.Fatalf("%s, writes of %d:\ngot  %q\nwant %q", name, size, out.String(), want)
			}
		}
	}
	// hex.Dumper writes an offset, each byte, then the ASCII column.
	var out bytes.Buffer
	s := NewStream(&out)
	d := hex.Dumper(s)
	d.Write([]byte(longSecret))
	d.Close()
	s.Flush()
	if left := leftOf(longSecret, "", out.String()); left != "" {
		t.Fatalf("hex.Dumper: %q passed on:\n%s", left, out.String())
	}
}

// A value built from a long secret with one character changed (Gomega's
// "expected" side) is masked in the pieces it shares with the secret;
// a short piece alone is left.
func TestRedactsPiecesOfLongSecrets(t *testing.T) {
	Register(longSecret)
	near := []byte(longSecret)
	near[len(near)/2] ^= 1
	out := Redact("expected " + string(near) + " end")
	if left := leftOf(longSecret, "", out); left != "" {
		t.Errorf("%q left in %q", left, out)
	}
	if !strings.HasPrefix(out, "expected ") || !strings.HasSuffix(out, " end") {
		t.Errorf("text around changed: %q", out)
	}
	short := "tail: " + longSecret[len(longSecret)-11:]
	if got := Redact(short); got != short {
		t.Errorf("an 11-byte piece was masked: %q", got)
	}
}
