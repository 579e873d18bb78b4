// Package shard splits the apps of a nightly run across machines: shard K of
// N runs a deterministic share of them, every app in exactly one shard, so a
// CI matrix, a GitLab parallel: job or a Kubernetes Indexed Job spreads the
// run over its own parallelism and piv merge joins the reports.
//
// The share is rendezvous (highest random weight) hashing on the app name:
// an app goes to the shard k in 1..N whose weight sha256(name, k) is the
// highest. The choice for an app depends only on its own name and N, so
//   - adding or removing an app never moves another one (a sort-then-modulo
//     split would shift every app after it in the order);
//   - growing N to N+1 moves only the apps the new shard wins, about 1/(N+1)
//     of them (hash-modulo would move almost all);
//   - it is the same on every machine and Go version (no map order, no seed).
//
// The price is balance: the split is statistically even, not exactly even
// (38 apps on 8 shards: 4.75 on average, a shard may get 8 or none), where a
// sort-then-modulo split differs by at most one app. A nightly run pays for
// its slowest shard; stability buys comparable per-shard history and CI
// caches that keep working as applications join the programme. An empty
// shard is legitimate and says so in its manifest (manifest.go), so that
// piv merge does not mistake it for a lost one.
package shard

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// MaxN bounds N: a typo such as 1/1000000 is a usage error, not a loop.
const MaxN = 1000

// Spec is shard K of N (1-based, as CI systems count matrix entries; a
// Kubernetes completion index or a Swarm task slot adds one or not: see Parse).
type Spec struct{ K, N int }

func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// Parse reads "K/N" with 1 <= K <= N <= MaxN. Anything else is an error whose
// text says what was expected: the CLI turns it into a usage error (exit 2).
func Parse(v string) (Spec, error) {
	ks, ns, ok := strings.Cut(strings.TrimSpace(v), "/")
	if !ok {
		return Spec{}, fmt.Errorf("--shard %q: want K/N, e.g. 2/4 (shard 2 of 4)", v)
	}
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if err1 != nil || err2 != nil {
		return Spec{}, fmt.Errorf("--shard %q: K and N must be whole numbers, e.g. 2/4", v)
	}
	if n < 1 || n > MaxN {
		return Spec{}, fmt.Errorf("--shard %q: N must be between 1 and %d", v, MaxN)
	}
	if k < 1 || k > n {
		return Spec{}, fmt.Errorf("--shard %q: K must be between 1 and N=%d (shards count from 1; a Kubernetes completion index counts from 0: use $((JOB_COMPLETION_INDEX+1))/%d)", v, n, n)
	}
	return Spec{K: k, N: n}, nil
}

// Of returns the shard (1..n) that owns the app called name.
func Of(name string, n int) int {
	best, bestW := 1, uint64(0)
	for k := 1; k <= n; k++ {
		if w := weight(name, k); k == 1 || w > bestW {
			best, bestW = k, w
		}
	}
	return best
}

// weight is the app's score for shard k: independent of N, which is what
// makes growing N move only the apps the new shard wins.
func weight(name string, k int) uint64 {
	h := sha256.New()
	h.Write([]byte("piv.shard/v1\x00"))
	h.Write([]byte(name))
	var kb [8]byte
	binary.BigEndian.PutUint64(kb[:], uint64(k))
	h.Write([]byte{0})
	h.Write(kb[:])
	return binary.BigEndian.Uint64(h.Sum(nil))
}

// Owns reports whether the app called name belongs to this shard.
func (s Spec) Owns(name string) bool { return Of(name, s.N) == s.K }

// Select keeps the items of this shard, in their original order.
func Select[T any](items []T, name func(T) string, s Spec) []T {
	var out []T
	for _, it := range items {
		if s.Owns(name(it)) {
			out = append(out, it)
		}
	}
	return out
}

// StripFlag removes --shard (in its -shard, --shard V and --shard=V forms)
// from args: the per-app child processes of run --all must not see it.
func StripFlag(args []string) []string {
	var out []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--shard" || a == "-shard":
			i++ // and its value
		case strings.HasPrefix(a, "--shard=") || strings.HasPrefix(a, "-shard="):
		default:
			out = append(out, a)
		}
	}
	return out
}
