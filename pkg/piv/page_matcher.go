package piv

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/onsi/gomega/types"

	"github.com/piv-gate/piv/pkg/browser"
)

// Web-first assertions on a *Page (Playwright's expect(locator) is the
// model): Match keeps looking at the page until the condition holds or
// Timeouts.Assert has passed, so an answer that arrives after a placeholder
// is waited for, not raced. Looking is cheap: one DevTools round trip, then
// the page itself waits for its DOM to change (browser.WaitState).
//
// Expect(page).To(...) is all a spec needs; there is no point wrapping these
// in Eventually. Negation checks once the condition holds: NotTo(BeVisible)
// would wait the whole timeout for a spinner that is already gone, so
// assert the state you want instead (BeHidden, HaveCount(sel, 0)).
//
// Failure texts say what was asserted on which selector, the page's URL and
// the target (node or service), and what was last seen.

// pageMatcher is the engine each page matcher configures.
type pageMatcher struct {
	name     string // the constructor, for misuse errors
	selector string // "" for page-level conditions (URL)
	what     string // "text", "value", … as in "text did not match"
	want     string // the expectation in words
	// test judges one look; an error is misuse (a matcher that cannot
	// take the value).
	test func(browser.State) (bool, error)
	// seen describes what a look showed, for "last seen:".
	seen func(browser.State) string

	// set by Match, for the failure texts
	page    *Page
	last    browser.State
	waitErr error
}

func (m *pageMatcher) Match(actual any) (bool, error) {
	p, ok := actual.(*Page)
	if !ok || p == nil || p.Page == nil {
		return false, fmt.Errorf("%s expects a *piv.Page (from piv.OpenPage), got %T", m.name, actual)
	}
	m.page = p
	ctx, cancel := p.bound(p.timeouts().Assert)
	defer cancel()
	var misuse error
	s, err := browser.WaitState(ctx, p.Page, m.selector, func(s browser.State) bool {
		ok, err := m.test(s)
		if err != nil {
			misuse = err
			return true
		}
		return ok
	})
	if misuse != nil {
		return false, fmt.Errorf("%s(%q): %w", m.name, m.selector, misuse)
	}
	if errors.Is(err, browser.ErrBadSelector) {
		return false, fmt.Errorf("%s: %w", m.name, err)
	}
	m.last, m.waitErr = s, err
	return err == nil, nil
}

func (m *pageMatcher) subject() string {
	if m.selector == "" {
		return "page " + m.what
	}
	return m.selector + ": " + m.what
}

func (m *pageMatcher) where() string {
	u := m.last.URL
	if u == "" && m.page != nil {
		u = m.page.URL()
	}
	w := ""
	if m.page != nil {
		w = m.page.Target.Where()
	}
	return fmt.Sprintf("page: %s on %s", u, w)
}

func (m *pageMatcher) lastSeen() string {
	if m.last.Looks == 0 || (m.last.URL == "" && m.last.Navigating) {
		return m.last.Seen()
	}
	return m.seen(m.last)
}

func (m *pageMatcher) FailureMessage(any) string {
	head := fmt.Sprintf("%s did not match within %s", m.subject(), m.page.timeouts().Assert)
	if m.waitErr != nil && !errors.Is(m.waitErr, context.DeadlineExceeded) && !errors.Is(m.waitErr, context.Canceled) {
		head = fmt.Sprintf("%s could not be read: %v", m.subject(), m.waitErr)
	}
	return fmt.Sprintf("%s\n%s\nwant: %s\nlast seen: %s", head, m.where(), m.want, m.lastSeen())
}

func (m *pageMatcher) NegatedFailureMessage(any) string {
	return fmt.Sprintf("%s matched, expected it not to\n%s\nwant: not %s\nseen: %s", m.subject(), m.where(), m.want, m.seen(m.last))
}

// expectation turns HaveText("…", expected)'s expected into a test of a
// string and words for the failure text: a string compares equal to the
// value with surrounding white space trimmed; a Gomega matcher is applied
// to the value as it is.
func expectation(what string, expected any) (func(string) (bool, error), string, error) {
	switch e := expected.(type) {
	case string:
		want := strings.TrimSpace(e)
		return func(s string) (bool, error) { return strings.TrimSpace(s) == want, nil }, fmt.Sprintf("%s %q", what, want), nil
	case types.GomegaMatcher:
		return func(s string) (bool, error) { return e.Match(s) }, what + " " + describeMatcher(e, ""), nil
	}
	return nil, "", fmt.Errorf("expected a string or a Gomega matcher, got %T", expected)
}

// describeMatcher says what a Gomega matcher expects, from its failure
// message with the actual value's lines taken away ("to match regular
// expression\n    <string>: ^…$").
func describeMatcher(m types.GomegaMatcher, zero any) (desc string) {
	defer func() {
		if recover() != nil {
			desc = fmt.Sprintf("to satisfy %T", m)
		}
	}()
	msg := m.FailureMessage(zero)
	lines := strings.Split(msg, "\n")
	if len(lines) > 2 && lines[0] == "Expected" {
		return strings.Join(lines[2:], "\n")
	}
	return msg
}

// misuseMatcher fails every Match with err: a constructor given arguments
// it cannot use says so when the assertion runs.
type misuseMatcher struct{ err error }

func (m misuseMatcher) Match(any) (bool, error)          { return false, m.err }
func (m misuseMatcher) FailureMessage(any) string        { return m.err.Error() }
func (m misuseMatcher) NegatedFailureMessage(any) string { return m.err.Error() }
