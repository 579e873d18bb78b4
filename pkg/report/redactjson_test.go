package report

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
)

// A secret that is also JSON syntax or a key ("null", "pass", "verdict")
// leaves gate.json valid JSON of the same shape when it is redacted string
// by string, where redacting the bytes breaks it.
func TestRedactJSONKeepsTheDocumentValid(t *testing.T) {
	r := &gate.Result{App: "quote", Verdict: gate.Fail, Reason: `login as pass failed: "null" <&> \ back`,
		StartedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Checks: []gate.Check{{Name: "pass the null", State: gate.Failed, Blocking: true,
			Observed: map[string]any{"pass": "null", "n": nil, "ok": true, "list": []any{"a null b", 3}}}}}
	j, err := JSON(r)
	if err != nil {
		t.Fatal(err)
	}
	words := []string{"null", "pass", "verdict", `": "`}
	bytewise := string(j)
	for _, w := range words {
		bytewise = strings.ReplaceAll(bytewise, w, "[REDACTED]")
	}
	if json.Valid([]byte(bytewise)) {
		t.Fatal("the test's words do not break gate.json when redacted as bytes: it shows nothing")
	}
	redact := func(s string) string {
		for _, w := range words {
			s = strings.ReplaceAll(s, w, "[REDACTED]")
		}
		return s
	}
	got, err := RedactJSON(j, redact)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(got, &doc); err != nil {
		t.Fatalf("redacted gate.json is not JSON: %v\n%s", err, got)
	}
	if _, ok := doc["[REDACTED]"]; !ok {
		t.Errorf("the key verdict was not redacted:\n%s", got)
	}
	if want := `login as [REDACTED] failed: "[REDACTED]" <&> \ back`; doc["reason"] != want {
		t.Errorf("reason = %q, want %q", doc["reason"], want)
	}
	for _, w := range words[:3] {
		if strings.Contains(string(got), `"`+w) || strings.Contains(string(got), w+`"`) {
			t.Errorf("%q left in a string:\n%s", w, got)
		}
	}
	// null, true and numbers are JSON, not text: left as they are.
	if !strings.Contains(string(got), `"n": null`) || !strings.Contains(string(got), `"ok": true`) {
		t.Errorf("literals changed:\n%s", got)
	}
	// Nothing to redact: byte for byte the same.
	if same, _ := RedactJSON(j, func(s string) string { return s }); string(same) != string(j) {
		t.Errorf("identity redaction changed the document")
	}
	if _, err := RedactJSON([]byte(`{"a": "b`), redact); err == nil {
		t.Error("invalid JSON accepted")
	}
}

// gate.json's vocabulary is kept where a whole key or value is one (a
// secret "pass" must not hide the verdict), redacted in any longer text.
func TestRedactGateJSONKeepsTheVerdict(t *testing.T) {
	r := &gate.Result{App: "m-pass", Verdict: gate.Pass, Reason: "checked as pass",
		Checks: []gate.Check{{Name: "login", State: gate.Passed, Observed: map[string]any{"pass": "pass", "who": "user pass"}}}}
	j, err := JSON(r)
	if err != nil {
		t.Fatal(err)
	}
	redact := func(s string) string { return strings.ReplaceAll(s, "pass", "[REDACTED]") }
	got, err := RedactGateJSON(j, redact, "m-pass")
	if err != nil {
		t.Fatal(err)
	}
	var back gate.Result
	if err := json.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if back.Verdict != gate.Pass || back.App != "m-pass" || back.Checks[0].State != gate.Passed || back.Summary.Passed != r.Summary.Passed {
		t.Errorf("the gate's own words were redacted:\n%s", got)
	}
	if back.Reason != "checked as [REDACTED]" || back.Checks[0].Observed["who"] != "user [REDACTED]" {
		t.Errorf("free text not redacted:\n%s", got)
	}
	if !strings.Contains(string(got), `"passed":`) {
		t.Errorf("a key of the schema was redacted:\n%s", got)
	}
}
