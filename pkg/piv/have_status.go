package piv

import (
	"fmt"
	"net/http"

	"github.com/onsi/gomega/types"
)

// HaveStatus succeeds when a *Response (or *http.Response) has the status.
// Its failure says which request, where it went, and shows the body, because
// "expected 201, got 500" alone sends a QA engineer to the logs.
func HaveStatus(code int) types.GomegaMatcher { return &statusMatcher{want: code} }

type statusMatcher struct{ want int }

func (m *statusMatcher) Match(actual any) (bool, error) {
	switch a := actual.(type) {
	case *Response:
		if a == nil {
			return false, fmt.Errorf("HaveStatus: got a nil *piv.Response")
		}
		return a.StatusCode == m.want, nil
	case *http.Response:
		if a == nil {
			return false, fmt.Errorf("HaveStatus: got a nil *http.Response")
		}
		return a.StatusCode == m.want, nil
	}
	return false, fmt.Errorf("HaveStatus expects a *piv.Response or *http.Response, got %T", actual)
}

func (m *statusMatcher) FailureMessage(actual any) string {
	if r, ok := actual.(*Response); ok {
		return fmt.Sprintf("%s: expected status %d, got %d\nbody: %s", r.describe(), m.want, r.StatusCode, excerpt(r.Body))
	}
	return fmt.Sprintf("expected status %d, got %d", m.want, actual.(*http.Response).StatusCode)
}

func (m *statusMatcher) NegatedFailureMessage(actual any) string {
	if r, ok := actual.(*Response); ok {
		return fmt.Sprintf("%s: expected any status but %d", r.describe(), m.want)
	}
	return fmt.Sprintf("expected any status but %d", m.want)
}
