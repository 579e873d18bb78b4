package report

import (
	"bytes"
	"encoding/xml"
	"html"
	"strings"
)

// RedactXML applies redact to the text of an XML document (junit.xml):
// character data, CDATA sections, comments and attribute values, each
// decoded first (entities and character references, so an escaped secret
// is the secret again) and escaped back only when redact changed it. Tag
// and attribute names, the XML declaration and the markup are left as
// they are, so a secret that is also markup ("testcase", "CDATA",
// "failure") cannot turn the document into one no CI server parses, as
// redacting the bytes does. b must be well-formed (report.JUnit's
// output); text that is not is copied through redacted as bytes would be.
func RedactXML(b []byte, redact func(string) string) []byte {
	var out bytes.Buffer
	out.Grow(len(b))
	text := func(raw []byte, esc func(string) string) {
		s := html.UnescapeString(string(raw))
		if r := redact(s); r != s {
			out.WriteString(esc(r))
			return
		}
		out.Write(raw)
	}
	escText := func(s string) string {
		var buf bytes.Buffer
		xml.EscapeText(&buf, []byte(s))
		return buf.String()
	}
	for i := 0; i < len(b); {
		lt := bytes.IndexByte(b[i:], '<')
		if lt < 0 {
			text(b[i:], escText)
			break
		}
		if lt > 0 {
			text(b[i:i+lt], escText)
		}
		i += lt
		rest := b[i:]
		switch {
		case bytes.HasPrefix(rest, []byte("<![CDATA[")):
			end := bytes.Index(rest, []byte("]]>"))
			if end < 0 {
				out.Write([]byte(redact(string(rest))))
				return out.Bytes()
			}
			body := string(rest[len("<![CDATA["):end])
			out.WriteString("<![CDATA[")
			// The mask ends in ']': a "]>" after it would close the section.
			out.WriteString(strings.ReplaceAll(redact(body), "]]>", "]]]]><![CDATA[>"))
			out.WriteString("]]>")
			i += end + len("]]>")
		case bytes.HasPrefix(rest, []byte("<!--")):
			end := bytes.Index(rest, []byte("-->"))
			if end < 0 {
				out.Write([]byte(redact(string(rest))))
				return out.Bytes()
			}
			out.WriteString("<!--" + redact(string(rest[4:end])) + "-->")
			i += end + 3
		case bytes.HasPrefix(rest, []byte("<?")):
			end := bytes.Index(rest, []byte("?>"))
			if end < 0 {
				out.Write(rest)
				return out.Bytes()
			}
			out.Write(rest[:end+2])
			i += end + 2
		default:
			// A tag: names as they are, attribute values redacted.
			end := tagEnd(rest)
			if end < 0 {
				out.Write([]byte(redact(string(rest))))
				return out.Bytes()
			}
			out.WriteByte('<')
			for j := 1; j < end; {
				q := rest[j]
				if q != '"' && q != '\'' {
					out.WriteByte(q)
					j++
					continue
				}
				k := j + 1 + bytes.IndexByte(rest[j+1:end], q)
				out.WriteByte(q)
				text(rest[j+1:k], escText)
				out.WriteByte(q)
				j = k + 1
			}
			out.WriteByte('>')
			i += end + 1
		}
	}
	return out.Bytes()
}

// tagEnd is the index of the '>' closing the tag rest starts with, past
// quoted attribute values, or -1.
func tagEnd(rest []byte) int {
	for j := 1; j < len(rest); j++ {
		switch rest[j] {
		case '>':
			return j
		case '"', '\'':
			k := bytes.IndexByte(rest[j+1:], rest[j])
			if k < 0 {
				return -1
			}
			j += k + 1
		}
	}
	return -1
}
