package piv

import (
	"fmt"

	"github.com/onsi/gomega/types"

	"github.com/piv-gate/piv/pkg/browser"
)

// HaveText succeeds once the first element matching selector shows text
// (its rendered innerText, what a customer reads) matching expected: a
// string (equal, surrounding white space ignored) or a Gomega matcher such
// as MatchRegexp or ContainSubstring. It retries until Timeouts.Assert, so
// a placeholder ("", "Loading…") before the answer is waited out:
//
//	Expect(page).To(piv.HaveText("#premium", MatchRegexp(`^\d+\.\d{2} GBP$`)))
func HaveText(selector string, expected any) types.GomegaMatcher {
	test, want, err := expectation("text", expected)
	if err != nil {
		return misuseMatcher{fmt.Errorf("HaveText(%q): %w", selector, err)}
	}
	return &pageMatcher{
		name: "HaveText", selector: selector, what: "text", want: want,
		test: func(s browser.State) (bool, error) {
			if s.Count == 0 {
				return false, nil
			}
			return test(s.Text)
		},
		seen: func(s browser.State) string { return s.Seen() },
	}
}
