package runner

import (
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/gate"
	"github.com/piv-gate/piv/pkg/secret"
)

// A long failure message is redacted whole and only then bounded: the cut
// never splits a secret into a fragment the redactor cannot see.
func TestLongFailureIsRedactedThenBounded(t *testing.T) {
	const v = "bounded-secret-Tail0123456789"
	secret.Register(v)
	// The secret straddles the bound: cut first, its head would be left.
	msg := strings.Repeat("é", (MaxMessage-10)/2) + v + strings.Repeat("x", 3*MaxMessage)
	r := &gate.Result{Reason: msg, Checks: []gate.Check{{Failure: &gate.Failure{Message: msg}}}}
	redactResult(r)
	for _, got := range []string{r.Reason, r.Checks[0].Failure.Message} {
		if len(got) > MaxMessage+100 {
			t.Errorf("message not bounded: %d bytes", len(got))
		}
		if strings.Contains(got, "bounded-secret") || strings.Contains(got, "Tail0123") {
			t.Errorf("a fragment of the secret is left: ...%q", got[MaxMessage-40:MaxMessage+20])
		}
		if !strings.Contains(got, secret.Mask) || !strings.Contains(got, "more bytes") {
			t.Errorf("the bounded message should show the mask and say it was cut: ...%q", got[len(got)-120:])
		}
		if !strings.HasPrefix(got, "é") || strings.ContainsRune(got, '\uFFFD') {
			t.Errorf("cut inside a character")
		}
	}
	short := &gate.Result{Reason: "short " + v}
	redactResult(short)
	if short.Reason != "short "+secret.Mask {
		t.Errorf("short reason: %q", short.Reason)
	}
}
