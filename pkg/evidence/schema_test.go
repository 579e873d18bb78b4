package evidence

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// TestEvidenceRemediationSchema validates evidence.json for every SLA status
// (and the fields each brings: completedAt, timeLeft, lateBy, failures)
// against schema/evidence.schema.json.
func TestEvidenceRemediationSchema(t *testing.T) {
	f, err := os.Open("../../schema/evidence.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("evidence.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("evidence.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	h := time.Hour
	for i, n := range quote.Nodes {
		gateRun(t, root, "quote", n, detected.Add(time.Duration(i+1)*h), "CHG-2026-0412", fixed)
	}
	gateRun(t, root, "quote", "app-02", detected.Add(5*h), "CHG-2026-0412", stillOld)
	gateRun(t, root, "quote", "app-02", detected.Add(6*h), "CHG-2026-0412", fixed)
	for _, now := range []time.Duration{5 * h, 7 * h, 10 * 24 * h} { // running (regressed), met, met
		r := build(t, root, detected.Add(now), quote)
		b, err := JSON(r)
		if err != nil {
			t.Fatal(err)
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Fatalf("evidence.json (%s) does not validate: %v\n%s", r.SLA.Status, err, b)
		}
	}
	r := build(t, t.TempDir(), detected.Add(10*24*h), quote) // breached, nothing gated
	b, _ := JSON(r)
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if r.SLA.Status != Breached {
		t.Fatalf("status %s", r.SLA.Status)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("breached evidence.json does not validate: %v", err)
	}
}
