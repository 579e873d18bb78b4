package report

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

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
	if got := enum(targetProps["scope"]); !slices.Equal(got, []string{"image", "node", "service"}) {
		t.Errorf("scope enum %v", got)
	}
	if got := props["schema"].(map[string]any)["const"]; got != gate.Schema {
		t.Errorf("schema const %v, gate.Schema %q", got, gate.Schema)
	}
}

// TestGoldenGateJSONMatchesSchema validates every golden gate.json, and
// what JSON makes of an almost empty Result, against the schema.
func TestGoldenGateJSONMatchesSchema(t *testing.T) {
	s := loadSchema(t)
	files, _ := filepath.Glob("testdata/*.gate.json")
	if len(files) < 3 {
		t.Fatalf("expected at least 3 golden gate.json files, found %v", files)
	}
	docs := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs[f] = b
	}
	minimal, err := JSON(&gate.Result{Verdict: gate.Inconclusive, Target: gate.Target{Scope: "service"},
		Checks: []gate.Check{{Name: "x", State: gate.Skipped}}})
	if err != nil {
		t.Fatal(err)
	}
	docs["minimal"] = minimal
	for name, b := range docs {
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if errs := validate(s, s, doc, "$"); len(errs) > 0 {
			t.Errorf("%s does not match the schema:\n%s", name, strings.Join(errs, "\n"))
		}
	}
}

// TestSchemaValidatorRejects makes sure the tiny validator is not vacuous.
func TestSchemaValidatorRejects(t *testing.T) {
	s := loadSchema(t)
	good, _ := JSON(failingResult())
	for what, mutate := range map[string]func(m map[string]any){
		"missing verdict":  func(m map[string]any) { delete(m, "verdict") },
		"unknown verdict":  func(m map[string]any) { m["verdict"] = "maybe" },
		"unknown key":      func(m map[string]any) { m["extra"] = 1 },
		"null checks":      func(m map[string]any) { m["checks"] = nil },
		"bad state":        func(m map[string]any) { m["checks"].([]any)[0].(map[string]any)["state"] = "ok" },
		"bad scope":        func(m map[string]any) { m["target"].(map[string]any)["scope"] = "cluster" },
		"attempts float":   func(m map[string]any) { m["checks"].([]any)[0].(map[string]any)["attempts"] = 1.5 },
		"failure no msg":   func(m map[string]any) { m["checks"].([]any)[6].(map[string]any)["failure"] = map[string]any{} },
		"negative seconds": func(m map[string]any) { m["durationSeconds"] = -1.0 },
	} {
		var m map[string]any
		if err := json.Unmarshal(good, &m); err != nil {
			t.Fatal(err)
		}
		mutate(m)
		if errs := validate(s, s, any(m), "$"); len(errs) == 0 {
			t.Errorf("%s: the validator accepted it", what)
		}
	}
}

// validate is the subset of JSON Schema 2020-12 that gate.schema.json uses:
// type, const, enum, required, properties, additionalProperties: false,
// items, anyOf, minimum and local $ref.
func validate(root, schema map[string]any, v any, at string) []string {
	if ref, ok := schema["$ref"].(string); ok {
		name, ok := strings.CutPrefix(ref, "#/$defs/")
		if !ok {
			return []string{at + ": unsupported $ref " + ref}
		}
		return validate(root, root["$defs"].(map[string]any)[name].(map[string]any), v, at)
	}
	var errs []string
	fail := func(f string, a ...any) { errs = append(errs, at+": "+fmt.Sprintf(f, a...)) }
	if c, ok := schema["const"]; ok && !reflect.DeepEqual(c, v) {
		fail("want const %v, got %v", c, v)
	}
	if e, ok := schema["enum"].([]any); ok && !slices.ContainsFunc(e, func(x any) bool { return reflect.DeepEqual(x, v) }) {
		fail("%v is not one of %v", v, e)
	}
	if any_, ok := schema["anyOf"].([]any); ok {
		matched := false
		for _, sub := range any_ {
			if len(validate(root, sub.(map[string]any), v, at)) == 0 {
				matched = true
			}
		}
		if !matched {
			fail("matches none of anyOf")
		}
	}
	if typ, ok := schema["type"].(string); ok {
		okType := false
		switch typ {
		case "object":
			_, okType = v.(map[string]any)
		case "array":
			_, okType = v.([]any)
		case "string":
			_, okType = v.(string)
		case "boolean":
			_, okType = v.(bool)
		case "null":
			okType = v == nil
		case "number":
			_, okType = v.(float64)
		case "integer":
			f, isNum := v.(float64)
			okType = isNum && f == math.Trunc(f)
		}
		if !okType {
			fail("want %s, got %T %v", typ, v, v)
			return errs
		}
	}
	if min, ok := schema["minimum"].(float64); ok {
		if f, isNum := v.(float64); isNum && f < min {
			fail("%v is below the minimum %v", f, min)
		}
	}
	if m, ok := v.(map[string]any); ok {
		props, _ := schema["properties"].(map[string]any)
		for _, r := range schemaList(schema["required"]) {
			if _, ok := m[r]; !ok {
				fail("missing required %q", r)
			}
		}
		for k, val := range m {
			sub, ok := props[k].(map[string]any)
			if !ok {
				if schema["additionalProperties"] == false {
					fail("unexpected key %q", k)
				}
				continue
			}
			errs = append(errs, validate(root, sub, val, at+"."+k)...)
		}
	}
	if a, ok := v.([]any); ok {
		if items, ok := schema["items"].(map[string]any); ok {
			for i, el := range a {
				errs = append(errs, validate(root, items, el, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
	}
	return errs
}

func schemaList(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}
