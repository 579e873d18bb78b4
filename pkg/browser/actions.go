package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// Actions (Click, Fill, SelectOption) wait until the element can take the
// action — present, visible, enabled (editable for Fill), not moving, and for
// Click not covered at its centre — then act, the way Playwright's
// actionability checks do. Each check is one round trip that checks
// everything at once (go-rod checks one property per call and waits two
// animation frames per scroll, three times in its Fill), so an element that
// is ready costs one round trip (and one animation frame while an animation
// runs on the page).

// NotActionable is an action's failure: what the element was last seen
// doing when time ran out (or that nothing matched).
type NotActionable struct {
	Action   string // "click", "fill", "select"
	Selector string
	Why      string // "no element matched", "element is disabled", "covered by <div id=overlay>", …
	Err      error  // ctx's error
}

func (e *NotActionable) Error() string {
	return fmt.Sprintf("%s %s: %s", e.Action, e.Selector, e.Why)
}

func (e *NotActionable) Unwrap() error { return e.Err }

// actionJS checks that the first element matching sel can take the action
// and prepares it: scrolled into view, for click its centre and a marker
// noting whether the click starts leaving the document; for fill focused
// with its text selected (or emptied); for select the option chosen.
const actionJS = `(async (sel, kind, arg, token) => {
  let els;
  try { els = document.querySelectorAll(sel); } catch (e) { return {bad: String(e.message)}; }
  if (els.length === 0) return {why: "no element matched"};
  const el = els[0];
  const box = () => { const r = el.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; };
  const visible = () => { const b = box(); return b[2] > 0 && b[3] > 0 && getComputedStyle(el).visibility !== "hidden"; };
  if (!visible()) return {why: "element is not visible"};
  if (el.matches(":disabled")) return {why: "element is disabled"};
  if (kind === "fill") {
    const editable = el.isContentEditable ||
      ((el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) && !el.readOnly);
    if (!editable) return {why: "element is not editable"};
  }
  if (kind === "select" && !(el instanceof HTMLSelectElement)) return {why: "element is not a <select>"};
  const r0 = el.getBoundingClientRect();
  if (r0.bottom < 0 || r0.right < 0 || r0.top > innerHeight || r0.left > innerWidth ||
      r0.top < 0 || r0.left < 0 || r0.bottom > innerHeight || r0.right > innerWidth) {
    el.scrollIntoView({block: "center", inline: "center", behavior: "instant"});
  }
  // Stable: the same box over an animation frame (Playwright's rule). Only
  // an animation can move it between two frames without a script running,
  // so the frame is waited for only while one is running.
  if (document.getAnimations().some(a => a.playState === "running")) {
    const before = box().join();
    await new Promise(r => requestAnimationFrame(() => r()));
    if (!el.isConnected) return {why: "element was removed from the page"};
    if (box().join() !== before) return {why: "element is moving"};
  }
  if (kind === "click") {
    const r = el.getBoundingClientRect();
    const x = r.left + r.width / 2, y = r.top + r.height / 2;
    const hit = document.elementFromPoint(x, y);
    const root = el.getRootNode();
    if (!hit || !(hit === el || el.contains(hit) || (root && root.host === hit))) {
      let what = "nothing";
      if (hit) { what = "<" + hit.tagName.toLowerCase() + (hit.id ? " id=" + hit.id : "") + (hit.className && typeof hit.className === "string" ? " class=" + hit.className : "") + ">"; }
      return {why: "element is covered by " + what};
    }
    window.__pivClick = token;
    window.__pivLeaving = false;
    addEventListener("beforeunload", () => { if (window.__pivClick === token) window.__pivLeaving = true; }, {once: true});
    return {ok: true, x, y};
  }
  if (kind === "fill") {
    el.focus();
    if (arg === "") {
      if (el.isContentEditable) el.textContent = ""; else el.value = "";
      el.dispatchEvent(new Event("input", {bubbles: true}));
      el.dispatchEvent(new Event("change", {bubbles: true}));
    } else if (el.isContentEditable) {
      const range = document.createRange(); range.selectNodeContents(el);
      const s = getSelection(); s.removeAllRanges(); s.addRange(range);
    } else {
      try { el.select(); } catch (e) {}
      try { el.setSelectionRange(0, el.value.length); } catch (e) {}
    }
    return {ok: true};
  }
  if (kind === "select") {
    const want = String(arg).trim();
    const opt = Array.from(el.options).find(o => o.value === want || o.label.trim() === want || o.text.trim() === want);
    if (!opt) return {why: "no option " + JSON.stringify(want) + " (options: " + Array.from(el.options).map(o => o.text.trim()).join(", ") + ")"};
    if (opt.disabled) return {why: "option " + JSON.stringify(want) + " is disabled"};
    el.focus();
    opt.selected = true;
    if (!el.multiple) el.value = opt.value;
    el.dispatchEvent(new Event("input", {bubbles: true}));
    el.dispatchEvent(new Event("change", {bubbles: true}));
    return {ok: true};
  }
  return {bad: "unknown action " + kind};
})`

type actionResult struct {
	OK  bool    `json:"ok"`
	Why string  `json:"why"`
	Bad string  `json:"bad"`
	X   float64 `json:"x"`
	Y   float64 `json:"y"`
}

var clickToken struct {
	sync.Mutex
	n int
}

func nextToken() string {
	clickToken.Lock()
	defer clickToken.Unlock()
	clickToken.n++
	return "piv-" + strconv.Itoa(clickToken.n)
}

// actionable waits (bounded by ctx) until the action's checks pass.
func actionable(ctx context.Context, page *rod.Page, kind, sel, arg, token string) (actionResult, error) {
	why := "no element matched"
	for range maxLooks {
		v, err := evalJSON(ctx, page, actionJS, sel, kind, arg, token)
		if err == nil {
			var r actionResult
			if err := json.Unmarshal([]byte(v.o.Value.JSON("", "")), &r); err != nil {
				return r, err
			}
			if r.Bad != "" {
				return r, fmt.Errorf("%w %q: %s", ErrBadSelector, sel, r.Bad)
			}
			if r.OK {
				return r, nil
			}
			why = r.Why
		} else if !IsNavigating(err) {
			if ctx.Err() != nil {
				return actionResult{}, &NotActionable{Action: kind, Selector: sel, Why: why, Err: ctx.Err()}
			}
			return actionResult{}, Describe(err)
		}
		// Not ready: wait for the page to change (or LookWait) before
		// checking again, rather than spinning. A moving element is
		// checked again at once (the check itself waits a frame).
		if err == nil && why != "element is moving" {
			if s, err := look(ctx, page, sel, "", 0); err == nil {
				wctx, cancel := context.WithTimeout(ctx, LookWait)
				_, _ = look(wctx, page, sel, s.raw, LookWait)
				cancel()
			}
		} else if err != nil {
			if perr := pause(ctx, navRetry); perr != nil {
				return actionResult{}, &NotActionable{Action: kind, Selector: sel, Why: why, Err: perr}
			}
		}
		if ctx.Err() != nil {
			return actionResult{}, &NotActionable{Action: kind, Selector: sel, Why: why, Err: ctx.Err()}
		}
	}
	return actionResult{}, &NotActionable{Action: kind, Selector: sel, Why: why, Err: errors.New("too many attempts")}
}

// Fill replaces the text of the input, textarea or contenteditable matched
// by sel with text, typed as a user's paste is (Input.insertText: the
// page's input handlers run), then fires change. ctx bounds the wait for
// the element.
func Fill(ctx context.Context, page *rod.Page, sel, text string) error {
	if _, err := actionable(ctx, page, "fill", sel, text, ""); err != nil {
		return err
	}
	if text == "" {
		return nil
	}
	if err := (proto.InputInsertText{Text: text}).Call(page.Context(ctx)); err != nil {
		return Describe(err)
	}
	_, err := evalJSON(ctx, page, `(() => { const el = document.activeElement; if (el) el.dispatchEvent(new Event("change", {bubbles: true})); return true; })`)
	if err != nil && !IsNavigating(err) {
		return Describe(err)
	}
	return nil
}

// SelectOption chooses the option of the <select> matched by sel whose
// value, label or text is option, firing input and change.
func SelectOption(ctx context.Context, page *rod.Page, sel, option string) error {
	_, err := actionable(ctx, page, "select", sel, option, "")
	return err
}

// NavigationFailed is a click whose navigation did not end on a page.
type NavigationFailed struct {
	URL    string // where the navigation went, when known
	Reason string // Chromium's error text, or "did not finish loading"
	Err    error
}

func (e *NavigationFailed) Error() string {
	if e.URL == "" {
		return "navigation " + e.Reason
	}
	return fmt.Sprintf("navigation to %s %s", e.URL, e.Reason)
}

func (e *NavigationFailed) Unwrap() error { return e.Err }

// Click waits until sel can be clicked (see the actionability checks), then
// moves the mouse to its centre, presses and releases the left button. When
// the click starts a navigation to another document (a link, a form
// submit), Click waits for the new page's load event, within navTimeout:
// what is asserted next is read from the new page. A navigation that fails
// (refused, certificate) is returned as a *NavigationFailed.
func Click(ctx context.Context, page *rod.Page, sel string, navTimeout time.Duration) error {
	token := nextToken()
	r, err := actionable(ctx, page, "click", sel, "", token)
	if err != nil {
		return err
	}
	// Subscribe before clicking so no navigation event can be missed.
	evCtx, stopEvents := context.WithCancel(context.Background())
	defer stopEvents()
	nav := watchNavigation(page.Context(evCtx), page.FrameID)

	pc := page.Context(ctx)
	for _, ev := range []proto.InputDispatchMouseEvent{
		{Type: proto.InputDispatchMouseEventTypeMouseMoved, X: r.X, Y: r.Y},
		{Type: proto.InputDispatchMouseEventTypeMousePressed, X: r.X, Y: r.Y, Button: proto.InputMouseButtonLeft, Buttons: gsonInt(1), ClickCount: 1},
		{Type: proto.InputDispatchMouseEventTypeMouseReleased, X: r.X, Y: r.Y, Button: proto.InputMouseButtonLeft, Buttons: gsonInt(0), ClickCount: 1},
	} {
		if err := ev.Call(pc); err != nil {
			if IsNavigating(err) {
				break
			}
			return Describe(err)
		}
	}

	// Did the click leave the document? The beforeunload marker set in the
	// old document answers; a look that finds the marker gone (a new
	// document) or the page between documents answers too.
	leaving := nav.requested()
	if !leaving {
		v, err := evalJSON(ctx, page, `((token) => window.__pivClick !== token ? "new" : (window.__pivLeaving ? "leaving" : "stay"))`, token)
		switch {
		case err != nil && IsNavigating(err):
			leaving = true
		case err != nil:
			return Describe(err)
		default:
			leaving = v.Str() != "stay" || nav.requested()
		}
	}
	if !leaving {
		return nil
	}
	nctx, cancel := context.WithTimeout(ctx, navTimeout)
	defer cancel()
	err = nav.wait(nctx)
	var nf *NavigationFailed
	if errors.As(err, &nf) && nf.Err == nil {
		nf.Reason = "failed: " + errorPageReason(ctx, page)
		if nf.Reason == "failed: " {
			nf.Reason = "failed (Chromium showed its error page)"
		}
	}
	return err
}

func gsonInt(n int) *int { return &n }

type navWatch struct {
	mu        sync.Mutex
	started   bool
	committed string // URL of the committed main-frame document
	failed    string // unreachable URL when Chromium showed an error page
	done      chan struct{}
	closed    bool
}

func (n *navWatch) requested() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.started
}

func (n *navWatch) finish() {
	if !n.closed {
		n.closed = true
		close(n.done)
	}
}

// watchNavigation follows the main frame's navigation events from now on.
func watchNavigation(page *rod.Page, frame proto.PageFrameID) *navWatch {
	n := &navWatch{done: make(chan struct{})}
	msgs := page.Event() // subscribed before return
	go func() {
		for msg := range msgs {
			var (
				req     proto.PageFrameRequestedNavigation
				start   proto.PageFrameStartedLoading
				navd    proto.PageFrameNavigated
				stopped proto.PageFrameStoppedLoading
				inDoc   proto.PageNavigatedWithinDocument
				load    proto.PageLoadEventFired
			)
			n.mu.Lock()
			switch {
			case msg.Load(&req):
				if req.FrameID == frame {
					n.started = true
				}
			case msg.Load(&start):
				if start.FrameID == frame {
					n.started = true
				}
			case msg.Load(&navd):
				if navd.Frame.ParentID == "" {
					n.started = true
					n.committed = navd.Frame.URL
					if navd.Frame.UnreachableURL != "" {
						n.failed = navd.Frame.UnreachableURL
					}
				}
			case msg.Load(&inDoc):
				if inDoc.FrameID == frame {
					n.finish()
				}
			case msg.Load(&load):
				if n.committed != "" {
					n.finish()
				}
			case msg.Load(&stopped):
				if stopped.FrameID == frame && n.started {
					n.finish()
				}
			}
			n.mu.Unlock()
		}
	}()
	return n
}

func (n *navWatch) wait(ctx context.Context) error {
	select {
	case <-n.done:
	case <-ctx.Done():
		n.mu.Lock()
		u := n.committed
		n.mu.Unlock()
		return &NavigationFailed{URL: u, Reason: "did not finish loading", Err: ctx.Err()}
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.failed != "" {
		return &NavigationFailed{URL: n.failed, Reason: "failed (Chromium showed its error page)"}
	}
	return nil
}
