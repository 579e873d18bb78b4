package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
)

func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		if _, err := d.Token(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// A secret that is also markup ("testcase", "CDATA") leaves junit.xml
// well-formed when redacted text by text, where redacting the bytes
// breaks it; escaped secrets are found, markup is untouched.
func TestRedactXMLKeepsJUnitWellFormed(t *testing.T) {
	r := &gate.Result{App: "quote", Verdict: gate.Fail, Reason: "testcase failed",
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Checks: []gate.Check{{Name: `login as <CDATA> & "testcase"`, State: gate.Failed, Blocking: true, Labels: []string{"functional"},
			Failure: &gate.Failure{Message: "denied for CDATA]> and testcase\nline two"}}}}
	ju, err := JUnit(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := wellFormed(ju); err != nil {
		t.Fatalf("junit.xml itself: %v", err)
	}
	words := []string{"testcase", "CDATA"}
	redact := func(s string) string {
		for _, w := range words {
			s = strings.ReplaceAll(s, w, "[REDACTED]")
		}
		return s
	}
	if wellFormed([]byte(redact(string(ju)))) == nil {
		t.Fatal("redacting the bytes leaves junit.xml well-formed: the test shows nothing")
	}
	got := RedactXML(ju, redact)
	if err := wellFormed(got); err != nil {
		t.Fatalf("redacted junit.xml: %v\n%s", err, got)
	}
	// Every text and attribute value is redacted.
	d := xml.NewDecoder(bytes.NewReader(got))
	var texts []string
	var cdata strings.Builder // adjacent character data is one text (a split CDATA section)
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		if x, ok := tok.(xml.CharData); ok {
			cdata.Write(x)
			continue
		}
		texts = append(texts, cdata.String())
		cdata.Reset()
		if x, ok := tok.(xml.StartElement); ok {
			for _, a := range x.Attr {
				texts = append(texts, a.Value)
			}
		}
	}
	all := strings.Join(texts, "\n")
	for _, w := range words {
		if strings.Contains(all, w) {
			t.Errorf("%q left in the text:\n%s", w, got)
		}
	}
	for _, want := range []string{"login as <[REDACTED]> & \"[REDACTED]\"", "denied for [REDACTED]]> and [REDACTED]\nline two"} {
		if !strings.Contains(all, want) {
			t.Errorf("redacted text lacks %q:\n%s", want, all)
		}
	}
	if same := RedactXML(ju, func(s string) string { return s }); !bytes.Equal(same, ju) {
		t.Errorf("identity redaction changed junit.xml")
	}
}
