package shard

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("app-%02d", i)
	}
	return out
}

func id(s string) string { return s }

// Every app in exactly one shard, for every N from 1 to 8.
func TestEveryAppInExactlyOneShard(t *testing.T) {
	apps := append(names(38), "quote", "claims", "motor-quotes", "")
	for n := 1; n <= 8; n++ {
		seen := map[string]int{}
		for k := 1; k <= n; k++ {
			for _, a := range Select(apps, id, Spec{K: k, N: n}) {
				if prev, dup := seen[a]; dup {
					t.Fatalf("N=%d: %q in shard %d and %d", n, a, prev, k)
				}
				seen[a] = k
			}
		}
		if len(seen) != len(apps) {
			t.Fatalf("N=%d: %d of %d apps assigned", n, len(seen), len(apps))
		}
		for _, a := range apps {
			if k := Of(a, n); k < 1 || k > n || seen[a] != k {
				t.Fatalf("N=%d: Of(%q)=%d, Select put it in %d", n, a, k, seen[a])
			}
		}
	}
}

// Adding apps never moves an existing one; the order of the input does not matter.
func TestStableWhenAppsAreAdded(t *testing.T) {
	before := names(20)
	after := append(append([]string{"new-first"}, before...), names(40)[20:]...)
	for n := 1; n <= 8; n++ {
		for _, a := range before {
			if Of(a, n) != func() int {
				for k := 1; k <= n; k++ {
					for _, b := range Select(after, id, Spec{k, n}) {
						if b == a {
							return k
						}
					}
				}
				return 0
			}() {
				t.Fatalf("N=%d: %q moved when apps were added", n, a)
			}
		}
	}
}

// Growing N to N+1 only moves apps into the new shard, never between old ones.
func TestGrowingNMovesOnlyIntoTheNewShard(t *testing.T) {
	apps := names(200)
	for n := 1; n < 8; n++ {
		moved := 0
		for _, a := range apps {
			was, now := Of(a, n), Of(a, n+1)
			if was != now {
				if now != n+1 {
					t.Fatalf("%q moved from %d to %d going from N=%d to %d", a, was, now, n, n+1)
				}
				moved++
			}
		}
		// 1/(n+1) expected; far more would mean the hash is not spreading.
		if moved == 0 || moved > 2*len(apps)/(n+1) {
			t.Fatalf("N=%d->%d moved %d of %d apps", n, n+1, moved, len(apps))
		}
	}
}

// Pinned assignments: the same on every machine and every release (a change
// would reshuffle every team's nightly history).
func TestAssignmentIsPinned(t *testing.T) {
	got := []int{Of("quote", 4), Of("claims", 4), Of("app-00", 4), Of("app-01", 4), Of("app-02", 4)}
	want := []int{3, 3, 4, 3, 3}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("assignment changed: got %v, want %v", got, want)
	}
}

func TestParse(t *testing.T) {
	for _, ok := range []struct {
		in   string
		want Spec
	}{{"1/1", Spec{1, 1}}, {"2/4", Spec{2, 4}}, {" 8/8 ", Spec{8, 8}}} {
		s, err := Parse(ok.in)
		if err != nil || s != ok.want {
			t.Errorf("Parse(%q) = %v, %v; want %v", ok.in, s, err, ok.want)
		}
	}
	for in, msg := range map[string]string{
		"": "want K/N", "3": "want K/N", "0/4": "K must be between 1 and N=4", "5/4": "K must be between 1 and N=4",
		"1/0": "N must be between 1 and 1000", "-1/4": "K must be between", "a/4": "whole numbers", "1/x": "whole numbers",
		"1/1001": "N must be between", "1/4/2": "whole numbers",
	} {
		_, err := Parse(in)
		if err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("Parse(%q) error = %v; want it to say %q", in, err, msg)
		}
	}
}

func TestStripFlag(t *testing.T) {
	got := StripFlag([]string{"--all", "--shard", "1/2", "--label-filter", "functional", "--shard=2/2", "-shard", "3/4", "-shard=1/1", "--config", "x"})
	want := []string{"--all", "--label-filter", "functional", "--config", "x"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	p, err := WriteManifest(dir, Spec{2, 3}, nil, 5, time.Date(2026, 12, 3, 1, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(p) != "shard-2-of-3.json" {
		t.Fatalf("manifest at %s", p)
	}
	m, ok, err := ReadManifest(p)
	if err != nil || !ok || m.Shard != "2/3" || m.Apps == nil || len(m.Apps) != 0 || m.AllApps != 5 {
		t.Fatalf("read back %+v ok=%v err=%v", m, ok, err)
	}
}
