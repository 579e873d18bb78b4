// Package secret holds typed secrets and the one redactor every output passes
// through. A secret's value is registered the moment it is read, so anything
// printed or written afterwards (failure messages, Ginkgo's progress, response
// excerpts, page HTML) has it replaced before it leaves the process.
package secret

import (
	"io"
	"sort"
	"strings"
	"sync"
)

// Mask replaces a secret value in every output.
const Mask = "[REDACTED]"

// minLen: values shorter than this are not redacted by substring (a one- or
// two-character secret would mangle every report); they are refused instead
// by Lookup's callers.
const minLen = 4

var (
	mu     sync.RWMutex
	values = map[string]bool{}
	sorted []string // longest first, so overlapping secrets redact fully
)

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
	sorted = append(sorted, v)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
}

// Redact replaces every registered value in s.
func Redact(s string) string {
	mu.RLock()
	defer mu.RUnlock()
	for _, v := range sorted {
		if strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, Mask)
		}
	}
	return s
}

// RedactBytes is Redact for file contents.
func RedactBytes(b []byte) []byte {
	mu.RLock()
	n := len(sorted)
	mu.RUnlock()
	if n == 0 {
		return b
	}
	return []byte(Redact(string(b)))
}

// Values returns how many secrets are registered (for tests and diagnostics;
// never the values).
func Count() int {
	mu.RLock()
	defer mu.RUnlock()
	return len(sorted)
}

// Writer redacts what is written through it. Writes are redacted one call at
// a time; callers that write a secret split across two calls defeat it, which
// Ginkgo's reporter and fmt.Fprint* do not do.
type Writer struct{ W io.Writer }

func (w Writer) Write(p []byte) (int, error) {
	if _, err := w.W.Write(RedactBytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
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
