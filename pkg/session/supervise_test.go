package session

import (
	"reflect"
	"strings"
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

func TestSecretFilterDropsAnOverlongMarkerLine(t *testing.T) {
	var out strings.Builder
	f := &secretFilter{out: &out}
	f.Write([]byte("before\n" + secretMarker))
	f.Write([]byte(strings.Repeat("QUJD", maxMarker/4+10)))
	f.Write([]byte(strings.Repeat("QUJD", 100) + "\nafter\n"))
	f.Close()
	if out.String() != "before\nafter\n" {
		t.Fatalf("relayed %d bytes: %.80q", out.Len(), out.String())
	}
}

func TestLinePrefixerIsBounded(t *testing.T) {
	var out strings.Builder
	l := &linePrefixer{w: &out, prefix: "[t] "}
	for i := 0; i < 4; i++ {
		l.Write([]byte(strings.Repeat("x", maxLine/2)))
	}
	if len(l.buf) > maxLine || out.Len() == 0 {
		t.Fatalf("held %d bytes, relayed %d", len(l.buf), out.Len())
	}
	l.Write([]byte("tail without newline"))
	l.Close()
	if !strings.HasSuffix(out.String(), "[t] tail without newline\n") && !strings.Contains(out.String(), "tail without newline\n") {
		t.Fatalf("the last line was not relayed: %.80q", out.String()[max(0, out.Len()-80):])
	}
}
