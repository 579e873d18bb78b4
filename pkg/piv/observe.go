package piv

import (
	"encoding/json"
	"fmt"

	"github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/secret"
)

// ObservedEntry is the Ginkgo report-entry name the runner collects a
// check's observations by (gate.json checks[].observed).
const ObservedEntry = "piv.observed"

// ProbeSeconds is the observation key that, when present, is the check's
// durationSeconds in gate.json. The technical checks judge facts gathered
// once, concurrently, by whichever spec runs first: that spec's own run time
// holds the whole gathering and every other shows 0.00 s. A check's
// duration is more useful as the time its own probe took (the TLS handshake,
// the health GET, the latency samples), which is what this key carries.
const ProbeSeconds = "probeSeconds"

// Observation is one observed value of a spec, as the runner receives it.
type Observation struct {
	Key   string
	Value any
}

// Observe records what the current spec saw under key, on pass as on
// failure: gate.json carries it as checks[].observed[key], so a pass is
// evidence and not just a colour. The value is stored as its JSON form
// (strings, numbers, booleans, lists, maps), with every registered secret
// redacted from its strings, keys included; a value that cannot be
// serialised is recorded as a note saying so rather than lost silently.
func Observe(key string, value any) {
	ginkgo.AddReportEntry(ObservedEntry, Observation{Key: secret.Redact(key), Value: observable(value)}, ginkgo.ReportEntryVisibilityNever)
}

// observable is value as plain JSON data with secrets redacted.
func observable(value any) any {
	b, err := json.Marshal(value)
	if err != nil {
		return fmt.Sprintf("(not serialisable: %T)", value)
	}
	var plain any
	if err := json.Unmarshal(b, &plain); err != nil {
		return fmt.Sprintf("(not serialisable: %T)", value)
	}
	return redactAll(plain)
}

func redactAll(v any) any {
	switch x := v.(type) {
	case string:
		return secret.Redact(x)
	case []any:
		for i := range x {
			x[i] = redactAll(x[i])
		}
		return x
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[secret.Redact(k)] = redactAll(e)
		}
		return out
	}
	return v
}
