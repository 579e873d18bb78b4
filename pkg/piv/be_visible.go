package piv

import (
	"github.com/onsi/gomega/types"

	"github.com/piv-gate/piv/pkg/browser"
)

// BeVisible succeeds once the first element matching selector is visible:
// it has a non-empty box and is not visibility:hidden (Playwright's
// definition). It retries until Timeouts.Assert.
func BeVisible(selector string) types.GomegaMatcher {
	return &pageMatcher{
		name: "BeVisible", selector: selector, what: "visibility", want: "visible",
		test: func(s browser.State) (bool, error) { return s.Count > 0 && s.Visible, nil },
		seen: visibilitySeen,
	}
}

func visibilitySeen(s browser.State) string {
	switch {
	case s.Count == 0:
		return "no element matched"
	case s.Visible:
		return "element present, visible"
	}
	return "element present, not visible"
}
