package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/piv-gate/piv/pkg/gate"
)

const schemaPath = "../../schema/gate.schema.json"

func loadSchema(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s: %v", schemaPath, err)
	}
	return s
}

// TestSchemaMatchesGoTypes keeps schema/gate.schema.json and pkg/gate in
// step: every json field of every gate type is a schema property and vice
// versa, required exactly when the field has no omitempty, and the enums
// are the Go constants.
func TestSchemaMatchesGoTypes(t *testing.T) {
	s := loadSchema(t)
	defs := s["$defs"].(map[string]any)
	for _, c := range []struct {
		def string
		typ reflect.Type
	}{
		{"", reflect.TypeFor[gate.Result]()},
		{"target", reflect.TypeFor[gate.Target]()},
		{"summary", reflect.TypeFor[gate.Summary]()},
		{"selection", reflect.TypeFor[gate.Selection]()},
		{"remediation", reflect.TypeFor[gate.Remediation]()},
		{"check", reflect.TypeFor[gate.Check]()},
		{"failure", reflect.TypeFor[gate.Failure]()},
		{"attachment", reflect.TypeFor[gate.Attachment]()},
	} {
		node := s
		if c.def != "" {
			node = defs[c.def].(map[string]any)
		}
		var goFields, goRequired []string
		for f := range c.typ.Fields() {
			tag := f.Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			goFields = append(goFields, name)
			if !strings.Contains(opts, "omitempty") {
				goRequired = append(goRequired, name)
			}
		}
		var schemaFields []string
		for k := range node["properties"].(map[string]any) {
			schemaFields = append(schemaFields, k)
		}
		var schemaRequired []string
		for _, k := range node["required"].([]any) {
			schemaRequired = append(schemaRequired, k.(string))
		}
		sort.Strings(goFields)
		sort.Strings(goRequired)
		sort.Strings(schemaFields)
		sort.Strings(schemaRequired)
		if !slices.Equal(goFields, schemaFields) {
			t.Errorf("%s: Go fields %v, schema properties %v", c.typ, goFields, schemaFields)
		}
		if !slices.Equal(goRequired, schemaRequired) {
			t.Errorf("%s: Go fields without omitempty %v, schema required %v", c.typ, goRequired, schemaRequired)
		}
		if node["additionalProperties"] != false {
			t.Errorf("%s: schema must set additionalProperties: false", c.typ)
		}
	}

	enum := func(node any) []string {
		var out []string
		for _, v := range node.(map[string]any)["enum"].([]any) {
			out = append(out, v.(string))
		}
		sort.Strings(out)
		return out
	}
	props := s["properties"].(map[string]any)
	wantVerdicts := []string{string(gate.Fail), string(gate.Inconclusive), string(gate.Pass)}
	if got := enum(props["verdict"]); !slices.Equal(got, wantVerdicts) {
		t.Errorf("verdict enum %v, Go %v", got, wantVerdicts)
	}
	states := []string{string(gate.Passed), string(gate.Failed), string(gate.Flaky), string(gate.Skipped), string(gate.Panicked), string(gate.Aborted)}
	sort.Strings(states)
	checkProps := defs["check"].(map[string]any)["properties"].(map[string]any)
	if got := enum(checkProps["state"]); !slices.Equal(got, states) {
		t.Errorf("state enum %v, Go %v", got, states)
	}
	targetProps := defs["target"].(map[string]any)["properties"].(map[string]any)
	if got := enum(targetProps["scope"]); !slices.Equal(got, []string{"fleet", "image", "node", "service"}) {
		t.Errorf("scope enum %v", got)
	}
	if got := props["schema"].(map[string]any)["const"]; got != gate.Schema {
		t.Errorf("schema const %v, gate.Schema %q", got, gate.Schema)
	}
}

// compileSchema compiles schema/gate.schema.json with a real JSON Schema
// 2020-12 validator (santhosh-tekuri/jsonschema: full draft 2020-12,
// $ref/$defs, anyOf, const, and format assertions when asked), so the
// schema users validate against is the one the tests hold gate.json to.
func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", schemaPath, err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat() // startedAt must be a date-time, not just a string
	if err := c.AddResource("gate.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("gate.schema.json")
	if err != nil {
		t.Fatalf("%s does not compile: %v", schemaPath, err)
	}
	return sch
}

func validateGateJSON(sch *jsonschema.Schema, b []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}

// TestGateJSONMatchesSchema validates every golden gate.json, what JSON
// renders from every fixture, and an almost empty Result, against the
// schema.
func TestGateJSONMatchesSchema(t *testing.T) {
	sch := compileSchema(t)
	files, _ := filepath.Glob("testdata/*.gate.json")
	if len(files) < 5 {
		t.Fatalf("expected at least 5 golden gate.json files, found %v", files)
	}
	docs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = b
	}
	for name, r := range fixtures() {
		b, err := JSON(r)
		if err != nil {
			t.Fatal(err)
		}
		docs["generated "+name] = b
	}
	minimal, err := JSON(&gate.Result{Verdict: gate.Inconclusive, Target: gate.Target{Scope: "service"},
		Checks: []gate.Check{{Name: "x", State: gate.Skipped}}})
	if err != nil {
		t.Fatal(err)
	}
	docs["minimal"] = minimal
	for name, b := range docs {
		if err := validateGateJSON(sch, b); err != nil {
			t.Errorf("%s does not match the schema: %v", name, err)
		}
	}
}

// TestSchemaRejects makes sure the schema is not vacuous: each mutation of
// a good gate.json must fail validation.
func TestSchemaRejects(t *testing.T) {
	sch := compileSchema(t)
	good, _ := JSON(fleetResult())
	if err := validateGateJSON(sch, good); err != nil {
		t.Fatalf("the fleet fixture should be valid: %v", err)
	}
	check := func(m map[string]any, i int) map[string]any { return m["checks"].([]any)[i].(map[string]any) }
	for what, mutate := range map[string]func(m map[string]any){
		"missing verdict":       func(m map[string]any) { delete(m, "verdict") },
		"unknown verdict":       func(m map[string]any) { m["verdict"] = "maybe" },
		"unknown key":           func(m map[string]any) { m["extra"] = 1 },
		"null checks":           func(m map[string]any) { m["checks"] = nil },
		"bad state":             func(m map[string]any) { check(m, 0)["state"] = "ok" },
		"bad scope":             func(m map[string]any) { m["target"].(map[string]any)["scope"] = "cluster" },
		"attempts float":        func(m map[string]any) { check(m, 0)["attempts"] = 1.5 },
		"failure no msg":        func(m map[string]any) { check(m, 10)["failure"] = map[string]any{} },
		"negative seconds":      func(m map[string]any) { m["durationSeconds"] = -1.0 },
		"startedAt not a time":  func(m map[string]any) { m["startedAt"] = "yesterday" },
		"missing piv":           func(m map[string]any) { delete(m, "piv") },
		"missing selection":     func(m map[string]any) { delete(m, "selection") },
		"narrowed not a bool":   func(m map[string]any) { m["selection"].(map[string]any)["narrowed"] = "yes" },
		"leftOut negative":      func(m map[string]any) { m["selection"].(map[string]any)["leftOut"] = -1 },
		"selection unknown key": func(m map[string]any) { m["selection"].(map[string]any)["labels"] = "x" },
		"remediation no id":     func(m map[string]any) { m["remediation"] = map[string]any{"cves": []any{"CVE-1"}} },
		"remediation empty id":  func(m map[string]any) { m["remediation"] = map[string]any{"id": ""} },
		"observed not object":   func(m map[string]any) { check(m, 0)["observed"] = []any{1} },
		"target not a string":   func(m map[string]any) { check(m, 0)["target"] = 2 },
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		mutate(m)
		b, _ := json.Marshal(m)
		if err := validateGateJSON(sch, b); err == nil {
			t.Errorf("%s: the schema accepted it", what)
		}
	}
}
