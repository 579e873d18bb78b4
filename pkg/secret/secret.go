// Package secret holds typed secrets and the one redactor every output passes
// through. A secret's value is registered the moment it is read, so anything
// printed or written afterwards (failure messages, Ginkgo's progress, response
// excerpts, page HTML) has it replaced before it leaves the process.
//
// A web stack rarely shows a value only as itself: a page escapes it for
// HTML, a URL carries it percent-encoded, a JSON body escapes it, a token or
// a Basic credential is base64. Every registered value is therefore matched
// in all of those forms (see forms.go), and in forms found by decoding the
// text (base64 wrapped over lines, hex with separators, hex.Dump, decimal
// byte lists, and long pieces of a long secret: see decoded.go); streams
// are redacted across writes (see stream.go), not one write at a time.
package secret

import (
	"regexp"
	"sync"
	"sync/atomic"
)

// Mask replaces a secret value in every output.
const Mask = "[REDACTED]"

// minLen: values shorter than this are not redacted by substring (a one- or
// two-character secret would mangle every report); they are refused instead
// by Lookup's callers.
const minLen = 4

// matcher is the compiled set of every registered value's forms. It is
// replaced as a whole on Register, so readers never lock.
type matcher struct {
	// anchored matches every form of every value, at the start of its
	// input only (nil when nothing is registered). Tried at each byte a
	// match can start with, it is far cheaper than an unanchored search
	// over text made mostly of bytes that could be in a match (a secret
	// with spaces or HTML's characters).
	anchored *regexp.Regexp
	// src is the unanchored pattern, which is also a valid JavaScript RegExp source
	// (no inline flags, no named groups): the browser checks the DOM with it.
	src string
	// maxLen is the longest text a form can be: a stream holds back at most
	// maxLen-1 bytes.
	maxLen int
	// formLen is the longest text a match of src can be.
	formLen int
	// starts holds every byte a match can begin with: a stream may pass on
	// bytes that are not one at once.
	starts [256]bool
	// streamStarts adds the bytes a decoded form's match begins with.
	streamStarts [256]bool
	// newline: some form contains a raw '\n', so a line end is not a safe
	// place to flush a stream.
	newline bool
	// alphabet holds every byte a match of src can contain: no match
	// crosses a byte outside it.
	alphabet [256]bool
	// values are the registered values, searched for in decoded text
	// (decoded.go).
	values [][]byte
	// frags index the pieces of long values (decoded.go).
	frags []*fragments
	// fragPairs is the set of two bytes a piece can begin with, a bit per
	// pair: most positions are ruled out without a map look-up.
	fragPairs [1024]uint64
	// first and pairs: the first byte, and the first two, of every value.
	first [256]bool
	pairs map[[2]byte]bool
	// listStart holds the characters a byte list holding a value can
	// start that value's number with: the first digit of its first byte
	// in hex (either case) or decimal, and 0 (0x).
	listStart [256]bool
}

// runs calls f for each maximal run of b made of alphabet bytes that is
// long enough to hold a match, with its offset. A match lies within one
// run, so matching each run alone finds exactly what matching all of b
// finds, in a fraction of the time: most text breaks into short words.
func (m *matcher) runs(b []byte, f func(off int, run []byte) bool) {
	for i := 0; i < len(b); {
		if !m.alphabet[b[i]] {
			i++
			continue
		}
		j := i
		for j < len(b) && m.alphabet[b[j]] {
			j++
		}
		if j-i >= minLen && !f(i, b[i:j]) {
			return
		}
		i = j
	}
}

// findAll returns the spans to mask in b, sorted and not overlapping:
// the forms' matches (findForms) and the decoded forms' (findDecoded).
func (m *matcher) findAll(b []byte) [][2]int {
	out := m.findForms(b)
	if d := m.findDecoded(b); len(d) > 0 {
		out = mergeSpans(append(out, d...))
	}
	return out
}

// findForms returns the matches in b, leftmost-longest and not
// overlapping, as an unanchored regexp.Longest search for src would.
func (m *matcher) findForms(b []byte) [][2]int {
	var out [][2]int
	m.runs(b, func(off int, run []byte) bool {
		for p := 0; p <= len(run)-minLen; {
			if !m.starts[run[p]] {
				p++
				continue
			}
			l := m.anchored.FindIndex(run[p:min(len(run), p+m.formLen)])
			if l == nil || l[1] == 0 {
				p++
				continue
			}
			out = append(out, [2]int{off + p, off + p + l[1]})
			p += l[1]
		}
		return true
	})
	return out
}

// replace is RedactBytes with m.
func (m *matcher) replace(b []byte) []byte {
	locs := m.findAll(b)
	if len(locs) == 0 {
		return b
	}
	var out []byte
	last := 0
	for _, l := range locs {
		out = append(out, b[last:l[0]]...)
		out = append(out, Mask...)
		last = l[1]
	}
	return append(out, b[last:]...)
}

// match reports whether b holds a match.
func (m *matcher) match(b []byte) bool { return len(m.findAll(b)) > 0 }

var (
	mu     sync.Mutex // serializes Register
	values = map[string]bool{}
	order  []string
	cur    atomic.Pointer[matcher]
)

func init() { cur.Store(&matcher{}) }

func current() *matcher { return cur.Load() }

// Register adds a value to redact everywhere from now on.
func Register(v string) {
	if len(v) < minLen {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	if values[v] {
		return
	}
	values[v] = true
	order = append(order, v)
	cur.Store(compile(order))
	for _, f := range hooks {
		f(v)
	}
}

var hooks []func(string)

// OnRegister calls f with every value registered so far and every value
// registered from now on. A supervised gate uses it to hand its secrets to
// its supervising parent (in band on its stderr, never a file), which then
// redacts what it relays of the child's stderr too — including a Go
// runtime crash, which the child itself cannot redact.
func OnRegister(f func(string)) {
	mu.Lock()
	defer mu.Unlock()
	for _, v := range order {
		f(v)
	}
	hooks = append(hooks, f)
}

// Redact replaces every registered value, in each of its forms, in s.
func Redact(s string) string {
	m := current()
	if m.anchored == nil {
		return s
	}
	return string(m.replace([]byte(s)))
}

// RedactBytes is Redact for file contents (page HTML, response bodies,
// report.html, junit.xml, gate.json, container logs).
func RedactBytes(b []byte) []byte {
	m := current()
	if m.anchored == nil {
		return b
	}
	return m.replace(b)
}

// Contains reports whether b holds any registered value in any form.
func Contains(b []byte) bool {
	m := current()
	return m.anchored != nil && m.match(b)
}

// Pattern is the regular expression matching every registered value in
// every form, in a syntax both Go (RE2) and JavaScript accept, or "" when
// nothing is registered. The browser uses it to find secrets in a page
// before a screenshot; it is as sensitive as the values themselves and must
// never be printed.
func Pattern() string { return current().src }

// Count returns how many secrets are registered (for tests and diagnostics;
// never the values).
func Count() int {
	mu.Lock()
	defer mu.Unlock()
	return len(order)
}

// Secret is a value read from the environment that must never be shown.
// Printing it (%v, %s, Gomega's formatting) shows its name, not its value.
type Secret struct {
	name  string
	value string
}

// New makes a secret and registers its value for redaction.
func New(name, value string) Secret {
	Register(value)
	return Secret{name: name, value: value}
}

// Value is the secret itself: pass it to the system under test, never to output.
func (s Secret) Value() string { return s.value }
func (s Secret) Name() string  { return s.name }
func (s Secret) String() string {
	return "[secret " + s.name + "]"
}

// GoString keeps %#v (and Gomega's object dumps) from printing the value.
func (s Secret) GoString() string { return s.String() }

// GomegaString keeps Gomega's failure messages from printing the value.
func (s Secret) GomegaString() string { return s.String() }
