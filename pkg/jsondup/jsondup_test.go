package jsondup

import (
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	cases := []struct {
		doc  string
		want string // the error text; "" when there is no duplicate
	}{
		{`{"status":"UP","checks":{"db":"UP"}}`, ""},
		{`{"a":{"x":1},"b":{"x":1},"c":[{"x":1},{"x":2}]}`, ""}, // the same key in different objects
		{`[1,"a",{"k":[]},null,true]`, ""},
		{`"just a string"`, ""},
		{`{"n":1e400}`, ""}, // out of float range: numbers are not converted
		{`{"status":"UP","checks":{"db":"UP"},"status":"DOWN","checks":{"db":"DOWN"}}`, `duplicate key "status" at the top level`},
		{`{"version":"2.4.1","version":"1.0.0"}`, `duplicate key "version" at the top level`},
		{`{"status":"UP","checks":{"db":"UP","db":"DOWN"}}`, `duplicate key "db" at checks`},
		{`{"items":[{"a":1},{"a":1},{"b":1,"b":2}]}`, `duplicate key "b" at items.2`},
		{`{"status":"UP","st\u0061tus":"DOWN"}`, `duplicate key "status" at the top level`},
		{`{"a.b":{"k":1,"k":2}}`, `duplicate key "k" at a\.b`},
		{`[[{"x":[{"y":1,"y":1}]}]]`, `duplicate key "y" at 0.0.x.0`},
	}
	for _, c := range cases {
		d, err := Find([]byte(c.doc))
		if err != nil {
			t.Errorf("%s: unexpected error %v", c.doc, err)
			continue
		}
		switch {
		case c.want == "" && d != nil:
			t.Errorf("%s: found %v, want none", c.doc, d)
		case c.want != "" && d == nil:
			t.Errorf("%s: found none, want %s", c.doc, c.want)
		case c.want != "" && !strings.HasPrefix(d.Error(), c.want+" (byte "):
			t.Errorf("%s: got %q, want %q (byte …)", c.doc, d.Error(), c.want)
		}
	}
}

func TestFindOffsetPointsAtTheRepeat(t *testing.T) {
	doc := `{"version":"2.4.1","version":"1.0.0"}`
	d, _ := Find([]byte(doc))
	if d == nil || doc[:d.Offset] != `{"version":"2.4.1","version"` {
		t.Fatalf("offset %v: want just past the second key", d)
	}
}

func TestFindReportsInvalidDocuments(t *testing.T) {
	for _, doc := range []string{`{"a":1`, `{"a" 1}`, `{"a":1}}`, `[1,]`} {
		if d, err := Find([]byte(doc)); err == nil {
			t.Errorf("%s: no error (duplicate %v)", doc, d)
		}
	}
}
