package report

import "testing"

// A --fleet gate.json has target.scope "fleet" (session.Gate.Fleet writes
// it so): the shipped schema must accept what piv writes.
func TestSchemaAcceptsFleetScope(t *testing.T) {
	sch := compileSchema(t)
	r := fleetResult()
	r.Target.Scope = "fleet"
	b, err := JSON(r)
	if err != nil {
		t.Fatal(err)
	}
	if err := validateGateJSON(sch, b); err != nil {
		t.Fatalf("a --fleet gate.json does not match the schema: %v", err)
	}
}
