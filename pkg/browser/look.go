package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/cdp"
	"github.com/go-rod/rod/lib/proto"
)

// Waiting on a page, and why it is built this way:
//
//   - One look is one DevTools round trip (Runtime.evaluate in the page's
//     current main-world context). go-rod's Element/Text path costs several
//     (a cached window object, helper injection, DOM.querySelector,
//     callFunctionOn), and its cached context goes stale when the page
//     navigates: that is where raw errors such as "-32000 Inspected target
//     navigated or closed" came from.
//   - No fixed polling interval. After the first look, the page itself waits
//     (a MutationObserver, bounded by LookWait) until what is looked at
//     changes, so an answer that arrives 3 ms after a placeholder is seen
//     about 3 ms later, and a page that does not change costs one round trip
//     per LookWait instead of one every few milliseconds.
//   - A look that meets a page between two documents (a click that
//     navigated, a redirect) is not an error: the next look reads the new
//     document. Errors that remain are translated (see Describe).

// LookWait bounds how long one look waits inside the page for a change
// before answering anyway. Values, visibility by style and history.pushState
// change without a DOM mutation: they are seen at most this late.
const LookWait = 100 * time.Millisecond

// navRetry is the pause before looking again at a page that was between two
// documents; the new document usually commits within a few milliseconds.
const navRetry = 5 * time.Millisecond

// maxLooks bounds the number of looks of one wait whatever its deadline (a
// page mutating without pause answers every mutation batch).
const maxLooks = 100_000

// State is what one look at a page saw of a selector.
type State struct {
	URL   string `json:"url"`   // the page's address
	Ready string `json:"ready"` // document.readyState
	Count int    `json:"count"` // elements matching the selector
	// Of the first matching element:
	Text     string `json:"text"`     // innerText as rendered (what a customer reads)
	Value    string `json:"value"`    // value of an input, select or textarea
	HasValue bool   `json:"hasValue"` // the element has a value (is a form control)
	Visible  bool   `json:"visible"`  // a non-empty box and not visibility:hidden
	// Navigating is set when the last attempt met the page between two
	// documents (the fields above are then from the look before).
	Navigating bool `json:"-"`
	// Looks counts the looks made by a wait.
	Looks int `json:"-"`

	bad string // invalid selector: misuse, not a page state
	raw string // the look's canonical form, to wait for a change from
}

// Seen says in a few words what the state shows of the selector, for
// failure texts: `"" (element present, empty text)`, `no element matched`.
func (s State) Seen() string {
	switch {
	case s.raw == "" && s.Navigating:
		return "the page was navigating"
	case s.raw == "":
		return "nothing (the page never answered)"
	case s.Count == 0:
		return "no element matched"
	case strings.TrimSpace(s.Text) == "":
		return fmt.Sprintf("%q (element present, empty text)", s.Text)
	}
	return fmt.Sprintf("%q", s.Text)
}

// ErrBadSelector wraps a selector the page cannot parse.
var ErrBadSelector = errors.New("invalid selector")

const lookJS = `(async (sel, last, waitMs) => {
  const snap = () => {
    let els = [];
    if (sel !== "") {
      try { els = document.querySelectorAll(sel); } catch (e) { return JSON.stringify({bad: String(e.message)}); }
    }
    const s = {url: location.href, ready: document.readyState, count: els.length};
    const el = els[0];
    if (el) {
      s.text = typeof el.innerText === "string" ? el.innerText : (el.textContent || "");
      if (el instanceof HTMLInputElement || el instanceof HTMLSelectElement || el instanceof HTMLTextAreaElement) {
        s.value = el.value; s.hasValue = true;
      }
      const r = el.getBoundingClientRect();
      s.visible = r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== "hidden";
    }
    return JSON.stringify(s);
  };
  const first = snap();
  if (first !== last || waitMs <= 0) return first;
  return await new Promise(resolve => {
    let done = false, timer = 0;
    const obs = new MutationObserver(() => { const s = snap(); if (s !== last) finish(s); });
    const finish = s => { if (done) return; done = true; obs.disconnect(); clearTimeout(timer); resolve(s); };
    obs.observe(document, {subtree: true, childList: true, characterData: true, attributes: true});
    timer = setTimeout(() => finish(snap()), waitMs);
  });
})`

// Look reads selector's state once ("" looks at the page only: URL, ready
// state).
func Look(ctx context.Context, page *rod.Page, selector string) (State, error) {
	return look(ctx, page, selector, "", 0)
}

func look(ctx context.Context, page *rod.Page, selector, last string, wait time.Duration) (State, error) {
	res, err := evalJSON(ctx, page, lookJS, selector, last, wait.Milliseconds())
	if err != nil {
		return State{}, err
	}
	raw := res.Str()
	var s State
	var bad struct {
		Bad string `json:"bad"`
	}
	if err := json.Unmarshal([]byte(raw), &bad); err == nil && bad.Bad != "" {
		return State{}, fmt.Errorf("%w %q: %s", ErrBadSelector, selector, bad.Bad)
	}
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return State{}, fmt.Errorf("browser: reading the page: %w", err)
	}
	s.raw = raw
	return s, nil
}

// WaitState looks at selector until ok accepts what it sees, or ctx ends.
// It returns the last state seen either way (for "last seen:" in failure
// texts); the error is ctx's when time ran out, ErrBadSelector on misuse, or
// a translated page error (closed, crashed).
func WaitState(ctx context.Context, page *rod.Page, selector string, ok func(State) bool) (State, error) {
	var last State
	for i := range maxLooks {
		wait := time.Duration(0)
		if i > 0 && !last.Navigating {
			wait = LookWait
			if dl, has := ctx.Deadline(); has {
				if left := time.Until(dl); left < wait {
					wait = max(left, 0)
				}
			}
		}
		s, err := look(ctx, page, selector, last.raw, wait)
		switch {
		case err == nil:
			s.Looks = i + 1
			last = s
			if ok(s) {
				return s, nil
			}
		case errors.Is(err, ErrBadSelector):
			return last, err
		case ctx.Err() != nil:
			return last, ctx.Err()
		case IsNavigating(err):
			last.Navigating, last.Looks = true, i+1
			if err := pause(ctx, navRetry); err != nil {
				return last, err
			}
			continue
		default:
			return last, Describe(err)
		}
		if err := ctx.Err(); err != nil {
			return last, err
		}
	}
	return last, fmt.Errorf("browser: gave up after %d looks at %s", maxLooks, selector)
}

// evalJSON runs fn(args...) in the page's current document and returns its
// value: one Runtime.evaluate, never a cached execution context.
func evalJSON(ctx context.Context, page *rod.Page, fn string, args ...any) (res gsonValue, err error) {
	var b strings.Builder
	b.WriteString("(")
	b.WriteString(fn)
	b.WriteString(")(")
	for i, a := range args {
		if i > 0 {
			b.WriteString(",")
		}
		j, err := json.Marshal(a)
		if err != nil {
			return gsonValue{}, err
		}
		b.Write(j)
	}
	b.WriteString(")")
	r, err := proto.RuntimeEvaluate{Expression: b.String(), AwaitPromise: true, ReturnByValue: true}.Call(page.Context(ctx))
	if err != nil {
		return gsonValue{}, err
	}
	if r.ExceptionDetails != nil {
		msg := r.ExceptionDetails.Text
		if r.ExceptionDetails.Exception != nil && r.ExceptionDetails.Exception.Description != "" {
			msg = r.ExceptionDetails.Exception.Description
		}
		if strings.Contains(msg, "Execution context was destroyed") || strings.Contains(msg, "Inspected target navigated") {
			return gsonValue{}, cdp.ErrCtxDestroyed
		}
		return gsonValue{}, fmt.Errorf("browser: page script failed: %s", msg)
	}
	return gsonValue{r.Result}, nil
}

// gsonValue is a returned JavaScript value.
type gsonValue struct{ o *proto.RuntimeRemoteObject }

func (v gsonValue) Str() string {
	if v.o == nil {
		return ""
	}
	return v.o.Value.Str()
}

func (v gsonValue) Bool() bool { return v.o != nil && v.o.Value.Bool() }

// IsNavigating reports whether err is what DevTools answers when the page
// is between two documents: the old one is gone (a click navigated, a
// redirect, a reload), the new one has no context yet. Retrying reads the
// new document.
func IsNavigating(err error) bool {
	var ce *cdp.Error
	if !errors.As(err, &ce) {
		return false
	}
	for _, m := range []string{"Inspected target navigated or closed", "Execution context was destroyed",
		"Cannot find context with specified id", "Cannot find default execution context", "uniqueContextId not found"} {
		if strings.Contains(ce.Message, m) {
			return true
		}
	}
	return false
}

// ErrPageClosed is returned when the page (or its browser) went away.
var ErrPageClosed = errors.New("the page was closed (or its browser crashed)")

// Describe turns a DevTools error into words a suite author can act on; a
// raw "-32000 …" never reaches a failure text. Errors that are not
// DevTools errors are returned as they are.
func Describe(err error) error {
	if err == nil {
		return nil
	}
	if IsNavigating(err) {
		return fmt.Errorf("the page navigated away while it was being read")
	}
	var ce *cdp.Error
	if errors.As(err, &ce) {
		switch {
		case ce.Code == cdp.ErrSessionNotFound.Code, strings.Contains(ce.Message, "Target closed"),
			strings.Contains(ce.Message, "No target with given id"), strings.Contains(ce.Message, "Session with given id not found"):
			return ErrPageClosed
		}
		return fmt.Errorf("the browser refused: %s", ce.Message)
	}
	var nav *rod.NavigationError
	if errors.As(err, &nav) {
		return fmt.Errorf("navigation failed: %s", nav.Reason)
	}
	return err
}

// pause waits d or until ctx ends (never a bare sleep: a cancelled run stops at once).
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
