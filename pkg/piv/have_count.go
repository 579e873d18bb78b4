package piv

import (
	"fmt"

	"github.com/onsi/gomega/types"

	"github.com/piv-gate/piv/pkg/browser"
)

// HaveCount succeeds once the number of elements matching selector is
// expected: an int, or a Gomega matcher of an int such as
// BeNumerically(">=", 3). It retries until Timeouts.Assert, so rows that
// render one by one are waited for.
func HaveCount(selector string, expected any) types.GomegaMatcher {
	var test func(int) (bool, error)
	var want string
	switch e := expected.(type) {
	case int:
		test = func(n int) (bool, error) { return n == e, nil }
		want = plural(e)
	case types.GomegaMatcher:
		test = func(n int) (bool, error) { return e.Match(n) }
		want = "count " + describeMatcher(e, 0)
	default:
		return misuseMatcher{fmt.Errorf("HaveCount(%q): expected an int or a Gomega matcher, got %T", selector, expected)}
	}
	return &pageMatcher{
		name: "HaveCount", selector: selector, what: "count", want: want,
		test: func(s browser.State) (bool, error) { return test(s.Count) },
		seen: func(s browser.State) string {
			if s.Count == 0 {
				return "no element matched"
			}
			return plural(s.Count)
		},
	}
}

func plural(n int) string {
	if n == 1 {
		return "1 element"
	}
	return fmt.Sprintf("%d elements", n)
}
