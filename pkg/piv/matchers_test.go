package piv

import (
	"net/http"
	"strings"
	"testing"

	"github.com/onsi/gomega"

	"github.com/piv-gate/piv/pkg/secret"
)

func resp(status int, body string) *Response {
	return &Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}, Body: []byte(body),
		Method: "POST", Path: "/api/quotes", Where: "node app-02 (127.0.0.3:8443)"}
}

func TestHaveJSONFailureTexts(t *testing.T) {
	r := resp(201, `{"premium":{"amount":412.5,"currency":"USD"}}`)
	m := HaveJSON("premium.currency", "GBP")
	if ok, err := m.Match(r); ok || err != nil {
		t.Fatal(ok, err)
	}
	if got, want := m.FailureMessage(r), `POST /api/quotes on node app-02 (127.0.0.3:8443): JSON at "premium.currency": expected "GBP", got "USD"`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	m = HaveJSON("premium.tax", 1)
	m.Match(r)
	if got, want := m.FailureMessage(r), "POST /api/quotes on node app-02 (127.0.0.3:8443): JSON path \"premium.tax\" not found\nbody: "+`{"premium":{"amount":412.5,"currency":"USD"}}`; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	m = HaveJSON("premium.amount", gomega.BeNumerically(">", 500))
	if ok, _ := m.Match(r); ok {
		t.Fatal("412.5 > 500?")
	}
	if got, want := m.FailureMessage(r), "POST /api/quotes on node app-02 (127.0.0.3:8443): JSON at \"premium.amount\": Expected\n    <float64>: 412.5\nto be >\n    <int>: 500"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}

	m = HaveJSON("premium", 1)
	notJSON := resp(500, "<html>oops</html>")
	m.Match(notJSON)
	if got, want := m.FailureMessage(notJSON), "POST /api/quotes on node app-02 (127.0.0.3:8443): body is not JSON, so JSON path \"premium\" cannot be read\nbody: <html>oops</html>"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}

	// Numbers compare by value whatever the Go type; strings exactly.
	for _, w := range []any{412.5, float32(412.5)} {
		if ok, _ := HaveJSON("premium.amount", w).Match(r); !ok {
			t.Errorf("%T %v should match 412.5", w, w)
		}
	}
	if ok, _ := HaveJSON("premium.amount", 412).Match(r); ok {
		t.Error("412 should not match 412.5")
	}
	if ok, _ := HaveJSON("a", "1").Match(`{"a":1}`); ok {
		t.Error(`string "1" should not match number 1`)
	}
	if _, err := HaveJSON("a", 1).Match(42); err == nil {
		t.Error("misuse (an int as actual) must be an error")
	}
}

func TestHaveStatusFailureTextAndRedaction(t *testing.T) {
	secret.Register("tok-abcdef-123")
	r := resp(500, `{"error":"quote engine unavailable","token":"tok-abcdef-123"}`)
	m := HaveStatus(201)
	if ok, err := m.Match(r); ok || err != nil {
		t.Fatal(ok, err)
	}
	want := "POST /api/quotes on node app-02 (127.0.0.3:8443): expected status 201, got 500\nbody: {\"error\":\"quote engine unavailable\",\"token\":\"[REDACTED]\"}"
	if got := m.FailureMessage(r); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if _, err := m.Match("nope"); err == nil {
		t.Error("misuse must be an error")
	}
}

func TestSecretNeverPrintsItsValue(t *testing.T) {
	s := secret.New("X", "value-that-leaks")
	for _, got := range []string{s.String(), s.GoString()} {
		if got != "[secret X]" {
			t.Errorf("got %q", got)
		}
	}
	if secret.Redact("a value-that-leaks b") != "a [REDACTED] b" {
		t.Error("not redacted")
	}
}

func TestHaveJSONRefusesAmbiguousDocuments(t *testing.T) {
	m := HaveJSON("status", "UP")
	ok, err := m.Match(`{"status":"UP","status":"DOWN"}`)
	if ok || err != nil {
		t.Fatalf("a document with a repeated key matched: %v %v", ok, err)
	}
	if msg := m.FailureMessage(nil); !strings.Contains(msg, "ambiguous") || !strings.Contains(msg, `"status"`) {
		t.Fatalf("message: %s", msg)
	}
}
