package piv

import (
	"github.com/onsi/gomega/types"

	"github.com/piv-gate/piv/pkg/browser"
)

// BeHidden succeeds once no element matches selector or the first one is
// not visible (a spinner gone, a dialog closed). It retries until
// Timeouts.Assert: use it rather than NotTo(BeVisible(…)), which cannot
// wait for the element to go.
func BeHidden(selector string) types.GomegaMatcher {
	return &pageMatcher{
		name: "BeHidden", selector: selector, what: "visibility", want: "hidden (or no element)",
		test: func(s browser.State) (bool, error) { return s.Count == 0 || !s.Visible, nil },
		seen: visibilitySeen,
	}
}
