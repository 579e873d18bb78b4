package report

import (
	"encoding/base64"
	"html"
	"net/url"
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/secret"
)

// The caller passes every report through secret.RedactBytes. What the
// reporters add (observed values in report.html as a table and as JSON,
// junit properties, the Markdown tables) must stay in forms redaction
// knows: nothing may survive it, in the clear or encoded.
func TestReportsStayRedactable(t *testing.T) {
	const value = `Pa55<w0rd>&"x'`
	secret.Register(value)
	r := fleetResult()
	r.Checks[0].Observed = map[string]any{"token": value, "list": []any{value, 1.0}, "nested": map[string]any{"v": value}}
	r.Checks[10].Failure.Message += "\nsaw " + value + " in " + url.QueryEscape(value)
	r.Checks[10].Steps = append(r.Checks[10].Steps, "typing "+value)
	r.Reason += " " + value
	r.Selection = gate.Selection{Narrowed: true, LabelFilter: value, LeftOut: 1}
	text, md, h, junit, js := renderAll(t, r)
	for name, out := range map[string]string{"text": text, "markdown": md, "html": h, "junit": junit, "gate.json": js} {
		red := secret.RedactBytes([]byte(out))
		for form, v := range map[string]string{
			"clear": value, "HTML-escaped": html.EscapeString(value), "URL-encoded": url.QueryEscape(value),
			"base64": base64.StdEncoding.EncodeToString([]byte(value)), "JSON \\u003c": `Pa55\u003cw0rd`,
		} {
			if strings.Contains(string(red), v) {
				t.Errorf("%s: the secret survives redaction %s", name, form)
			}
		}
		if secret.Contains(red) {
			t.Errorf("%s: secret.Contains after redaction", name)
		}
		if !strings.Contains(string(red), secret.Mask) {
			t.Errorf("%s: nothing was redacted: the test did not put the secret there", name)
		}
	}
}
