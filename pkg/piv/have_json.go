package piv

import (
	"encoding/json"
	"fmt"
	"github.com/piv-gate/piv/pkg/jsondup"

	"github.com/onsi/gomega"
	"github.com/onsi/gomega/types"
	"github.com/tidwall/gjson"
)

// HaveJSON succeeds when the JSON body has a value at a gjson path that
// equals want, or satisfies want when want is a Gomega matcher:
//
//	Expect(resp).To(piv.HaveJSON("premium.currency", "GBP"))
//	Expect(resp).To(piv.HaveJSON("premium.amount", BeNumerically(">", 0)))
//
// The actual value is taken as the JSON type it has: numbers as float64,
// strings, booleans, and objects/arrays as their raw JSON text. A plain want
// is compared loosely for numbers (412.5 matches 412.50) and exactly otherwise.
// Accepts *Response, []byte and string.
func HaveJSON(path string, want any) types.GomegaMatcher {
	return &jsonMatcher{path: path, want: want}
}

type jsonMatcher struct {
	path   string
	want   any
	got    gjson.Result
	inner  types.GomegaMatcher
	source string
	body   []byte
	dup    *jsondup.Duplicate
}

func (m *jsonMatcher) Match(actual any) (bool, error) {
	switch a := actual.(type) {
	case *Response:
		if a == nil {
			return false, fmt.Errorf("HaveJSON: got a nil *piv.Response")
		}
		m.body, m.source = a.Body, a.describe()
	case []byte:
		m.body = a
	case string:
		m.body = []byte(a)
	default:
		return false, fmt.Errorf("HaveJSON expects a *piv.Response, []byte or string, got %T", actual)
	}
	if !json.Valid(m.body) {
		return false, nil
	}
	// A key given twice is read as the first by gjson and as the last by
	// most other parsers: an ambiguous document asserts nothing.
	if d, _ := jsondup.Find(m.body); d != nil {
		m.dup = d
		return false, nil
	}
	m.got = gjson.GetBytes(m.body, m.path)
	if !m.got.Exists() {
		return false, nil
	}
	if inner, ok := m.want.(types.GomegaMatcher); ok {
		m.inner = inner
		return inner.Match(value(m.got))
	}
	return looselyEqual(value(m.got), m.want), nil
}

// value is the gjson result as a Go value a matcher can compare.
func value(r gjson.Result) any {
	switch r.Type {
	case gjson.Number:
		return r.Float()
	case gjson.String:
		return r.String()
	case gjson.True, gjson.False:
		return r.Bool()
	case gjson.Null:
		return nil
	}
	return r.Raw
}

func looselyEqual(got, want any) bool {
	if g, ok := got.(float64); ok {
		switch w := want.(type) {
		case int:
			return g == float64(w)
		case int64:
			return g == float64(w)
		case float64:
			return g == w
		case float32:
			return g == float64(w)
		}
	}
	ok, _ := gomega.Equal(want).Match(got)
	return ok
}

func (m *jsonMatcher) where() string {
	if m.source != "" {
		return m.source + ": "
	}
	return ""
}

func (m *jsonMatcher) FailureMessage(actual any) string {
	switch {
	case !json.Valid(m.body):
		return fmt.Sprintf("%sbody is not JSON, so JSON path %q cannot be read\nbody: %s", m.where(), m.path, excerpt(m.body))
	case m.dup != nil:
		return fmt.Sprintf("%sbody is an ambiguous JSON document (%v), so JSON path %q cannot be read\nbody: %s", m.where(), m.dup, m.path, excerpt(m.body))
	case !m.got.Exists():
		return fmt.Sprintf("%sJSON path %q not found\nbody: %s", m.where(), m.path, excerpt(m.body))
	case m.inner != nil:
		return fmt.Sprintf("%sJSON at %q: %s", m.where(), m.path, m.inner.FailureMessage(value(m.got)))
	}
	return fmt.Sprintf("%sJSON at %q: expected %s, got %s", m.where(), m.path, show(m.want), m.got.Raw)
}

func (m *jsonMatcher) NegatedFailureMessage(actual any) string {
	if m.inner != nil {
		return fmt.Sprintf("%sJSON at %q: %s", m.where(), m.path, m.inner.NegatedFailureMessage(value(m.got)))
	}
	return fmt.Sprintf("%sJSON at %q: expected anything but %s", m.where(), m.path, show(m.want))
}

func show(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}
