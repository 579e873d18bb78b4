package piv

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/piv-gate/piv/pkg/browser"
)

// HaveURL succeeds once the page's address matches expected: a string
// starting with "/" is a path (with query) on the run's target, so a suite
// never spells the service's host name; any other string is a whole URL;
// a Gomega matcher is applied to the whole URL. It retries until
// Timeouts.Assert (a redirect, a client-side route).
func HaveURL(expected any) types.GomegaMatcher {
	m := &pageMatcher{name: "HaveURL", what: "URL",
		seen: func(s browser.State) string { return fmt.Sprintf("%q", s.URL) }}
	switch e := expected.(type) {
	case string:
		if strings.HasPrefix(e, "/") {
			m.want = fmt.Sprintf("path %q", e)
			m.test = func(s browser.State) (bool, error) {
				u, err := url.Parse(s.URL)
				if err != nil {
					return false, nil
				}
				return u.RequestURI() == e, nil
			}
		} else {
			m.want = fmt.Sprintf("URL %q", e)
			m.test = func(s browser.State) (bool, error) { return s.URL == e, nil }
		}
	case types.GomegaMatcher:
		m.want = "URL " + describeMatcher(e, "")
		m.test = func(s browser.State) (bool, error) { return e.Match(s.URL) }
	default:
		return misuseMatcher{fmt.Errorf("HaveURL: expected a string or a Gomega matcher, got %T", expected)}
	}
	return m
}
