package session

import (
	"reflect"
	"testing"
)

func TestWithoutFlag(t *testing.T) {
	for _, c := range []struct{ in, want []string }{
		{[]string{"run", "quote", "--out", "x", "--node", "a"}, []string{"run", "quote", "--node", "a"}},
		{[]string{"run", "--out=x", "quote"}, []string{"run", "quote"}},
		{[]string{"run", "-out", "x", "quote", "-out=y"}, []string{"run", "quote"}},
		{[]string{"run", "quote", "--outx", "v"}, []string{"run", "quote", "--outx", "v"}},
		{[]string{"run", "quote", "--", "--out", "v"}, []string{"run", "quote", "--", "--out", "v"}},
	} {
		if got := withoutFlag(c.in, "out"); !reflect.DeepEqual(got, c.want) {
			t.Errorf("withoutFlag(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSameRun(t *testing.T) {
	id := "20261203T071105Z-quote-node-app-01"
	for name, want := range map[string]bool{
		"20261203T071105Z-quote-node-app-01":   true,
		"20261203T071104Z-quote-node-app-01":   true,
		"20261203T071104Z-quote-node-app-01-3": true,
		"20261203T071104Z-quote-node-app-012":  false,
		"20261203T071104Z-quote-node-app-02":   false,
		"gate-out":                             false,
		"2026-quote-node-app-01":               false,
	} {
		if got := sameRun(name, id); got != want {
			t.Errorf("sameRun(%q) = %v, want %v", name, got, want)
		}
	}
}
