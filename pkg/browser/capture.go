package browser

import (
	"context"
	"errors"
	"fmt"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// PasswordSelector is always masked by Capture, whatever the caller asks.
const PasswordSelector = "input[type=password]"

// maskJS blanks the values of matching form fields and lays a black box over
// every matching element, remembering what it changed so unmaskJS can put
// the page back. A selector that does not parse is skipped.
const maskJS = `(sels) => {
  const st = {vals: [], boxes: []}; const seen = new Set();
  for (const s of sels) {
    let els; try { els = document.querySelectorAll(s); } catch (e) { continue; }
    for (const el of els) {
      if (seen.has(el)) continue; seen.add(el);
      if (el.tagName === "INPUT" || el.tagName === "TEXTAREA") { st.vals.push([el, el.value]); el.value = ""; }
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) {
        const d = document.createElement("div");
        d.setAttribute("data-piv-mask", "");
        d.style.cssText = "position:absolute;margin:0;padding:0;border:0;background:#000;z-index:2147483647;pointer-events:none;" +
          "left:" + (r.left + window.scrollX) + "px;top:" + (r.top + window.scrollY) + "px;width:" + r.width + "px;height:" + r.height + "px";
        document.documentElement.appendChild(d); st.boxes.push(d);
      }
    }
  }
  window.__pivMask = st;
  return st.vals.length;
}`

const unmaskJS = `() => {
  const st = window.__pivMask; if (!st) return;
  for (const [el, v] of st.vals) el.value = v;
  for (const d of st.boxes) d.remove();
  delete window.__pivMask;
}`

// htmlJS serializes a copy of the document with secrets scrubbed: value
// attributes of matching fields removed, other matching elements' text
// replaced. Typed values are DOM properties, which serialization never
// includes; a value attribute (server-rendered or set by script) would be,
// hence the scrub. The live page is not touched.
const htmlJS = `(sels) => {
  const root = document.documentElement.cloneNode(true);
  root.querySelectorAll("[data-piv-mask]").forEach((e) => e.remove());
  for (const s of sels) {
    let els; try { els = root.querySelectorAll(s); } catch (e) { continue; }
    for (const el of els) {
      el.removeAttribute("value");
      if (el.tagName !== "INPUT" && el.tagName !== "SELECT") el.textContent = el.tagName === "TEXTAREA" ? "" : "[masked]";
    }
  }
  const dt = document.doctype ? "<!DOCTYPE " + document.doctype.name + ">\n" : "";
  return dt + root.outerHTML;
}`

// Capture takes a PNG screenshot of the viewport and the page's HTML, the
// evidence attached to a failed browser check. Password fields and every
// element matching maskSelectors are blanked and covered with a black box
// for the screenshot, and scrubbed from the HTML; the page is restored
// afterwards, so Capture may also be used mid-journey.
func Capture(ctx context.Context, page *rod.Page, maskSelectors []string) (png []byte, html []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, CaptureTimeout)
	defer cancel()
	p := page.Context(ctx)
	sels := append([]string{PasswordSelector}, maskSelectors...)

	if _, err := p.Evaluate(rod.Eval(maskJS, sels)); err != nil {
		return nil, nil, fmt.Errorf("browser: masking secret fields: %w", err)
	}
	defer func() {
		// Restore even when ctx is done: the spec may go on with the page.
		rctx, rcancel := context.WithTimeout(context.Background(), CaptureTimeout)
		defer rcancel()
		if _, uerr := page.Context(rctx).Evaluate(rod.Eval(unmaskJS)); uerr != nil && err == nil {
			err = fmt.Errorf("browser: restoring masked fields: %w", uerr)
		}
	}()
	png, err = p.Screenshot(false, &proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatPng})
	if err != nil {
		return nil, nil, fmt.Errorf("browser: screenshot: %w", err)
	}
	res, err := p.Evaluate(rod.Eval(htmlJS, sels))
	if err != nil {
		return png, nil, fmt.Errorf("browser: page HTML: %w", err)
	}
	s := res.Value.Str()
	if s == "" {
		return png, nil, errors.New("browser: page HTML: empty")
	}
	return png, []byte(s), nil
}
