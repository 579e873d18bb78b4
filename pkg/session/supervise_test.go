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
