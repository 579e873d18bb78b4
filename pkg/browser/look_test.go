package browser

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/go-rod/rod/lib/cdp"
)

// Raw DevTools errors never reach a failure text: each is said in words.
func TestDescribeTranslatesDevToolsErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{&cdp.Error{Code: -32000, Message: "Inspected target navigated or closed"}, "the page navigated away while it was being read"},
		{fmt.Errorf("eval: %w", &cdp.Error{Code: -32000, Message: "Execution context was destroyed."}), "the page navigated away while it was being read"},
		{&cdp.Error{Code: -32001, Message: "Session with given id not found."}, "the page was closed (or its browser crashed)"},
		{&cdp.Error{Code: -32000, Message: "Target closed"}, "the page was closed (or its browser crashed)"},
		{&cdp.Error{Code: -32602, Message: "Invalid parameters"}, "the browser refused: Invalid parameters"},
	} {
		got := Describe(tc.err)
		if got == nil || got.Error() != tc.want {
			t.Errorf("Describe(%v) = %v, want %q", tc.err, got, tc.want)
		}
		if strings.Contains(got.Error(), "-320") {
			t.Errorf("raw code leaked: %v", got)
		}
	}
	plain := errors.New("plain")
	if Describe(plain) != plain || Describe(nil) != nil {
		t.Error("non-DevTools errors must pass through")
	}
}

// A look at a closed page is a translated error, and waiting on one ends
// at once rather than at its deadline.
func TestWaitStateOnAClosedPage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	b := launch(t, Options{})
	p, done, err := b.Page(ctx, pinned(t, "app-01", "127.0.0.2:1", newCA(t, "x")), nil)
	if err != nil {
		t.Fatal(err)
	}
	done()
	_, err = WaitState(ctx, p, "#x", func(State) bool { return false })
	if !errors.Is(err, ErrPageClosed) || ctx.Err() != nil {
		t.Fatalf("WaitState on a closed page: %v (ctx %v)", err, ctx.Err())
	}
}
