package piv

import (
	"fmt"

	"github.com/onsi/gomega/types"

	"github.com/piv-gate/piv/pkg/browser"
)

// HaveValue succeeds once the first element matching selector (an input,
// select or textarea) has a value matching expected: a string (equal,
// surrounding white space ignored) or a Gomega matcher. It retries until
// Timeouts.Assert.
func HaveValue(selector string, expected any) types.GomegaMatcher {
	test, want, err := expectation("value", expected)
	if err != nil {
		return misuseMatcher{fmt.Errorf("HaveValue(%q): %w", selector, err)}
	}
	return &pageMatcher{
		name: "HaveValue", selector: selector, what: "value", want: want,
		test: func(s browser.State) (bool, error) {
			if s.Count == 0 || !s.HasValue {
				return false, nil
			}
			return test(s.Value)
		},
		seen: func(s browser.State) string {
			switch {
			case s.Count == 0:
				return "no element matched"
			case !s.HasValue:
				return "element present, has no value (not an input, select or textarea)"
			case s.Value == "":
				return `"" (element present, empty value)`
			}
			return fmt.Sprintf("%q", s.Value)
		},
	}
}
