package browser

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"

	"github.com/piv-gate/piv/pkg/secret"
)

// PasswordSelector is always masked by Capture, whatever the caller asks.
const PasswordSelector = "input[type=password]"

// ErrScreenshotWithheld is returned (wrapped, with why) by Capture when the
// page still showed a registered secret after masking: no screenshot is
// taken or kept, and the caller attaches a note in its place. The HTML is
// still returned.
var ErrScreenshotWithheld = errors.New("screenshot withheld")

// walkJS is shared by maskJS and verifyJS: it visits every document a
// screenshot can show (the page, its open shadow roots, same-origin
// frames) and calls visit(root, frameEl) for each, where frameEl is the
// top-level <iframe> the root is shown in, or null. Frames it cannot look
// into (other origins) are reported through opaque(frameEl).
const walkJS = `
  const walk = (visit, opaque) => {
    const seen = new Set();
    const go = (root, frame) => {
      if (seen.has(root)) return; seen.add(root);
      visit(root, frame);
      for (const el of root.querySelectorAll("*")) {
        if (el.shadowRoot) go(el.shadowRoot, frame);
        if (el.tagName === "IFRAME" || el.tagName === "FRAME" || el.tagName === "OBJECT" || el.tagName === "EMBED") {
          let d = null; try { d = el.contentDocument; } catch (e) {}
          if (d && d.documentElement) go(d, frame || el); else opaque(frame || el);
        }
      }
    };
    go(document, null);
  };
  const textNodes = (root) => {
    const out = []; const start = root.nodeType === 9 ? root.documentElement : root;
    if (!start) return out;
    const w = document.createTreeWalker(start, NodeFilter.SHOW_TEXT);
    for (let n = w.nextNode(); n; n = w.nextNode()) out.push(n);
    return out;
  };
  const rootText = (root) => root.nodeType === 9 ? (root.documentElement ? root.documentElement.textContent : "") : root.textContent;
  // Attributes whose change would make the page load something: left as
  // they are, and their element covered instead.
  const loads = (el, name) => ["src", "srcset", "href", "data", "poster", "action", "formaction"].includes(name) && el.tagName !== "A";
  // Elements whose pixels no check can read, because they are drawn,
  // not text: a canvas, a video, an image made by the page itself (data:
  // or blob:, as a chart or a rendered "text image" is), an SVG drawing
  // text, images or HTML. Covered whole while a secret is registered.
  const selfMade = (u) => typeof u === "string" && /^\s*(data|blob):/i.test(u);
  const unreadable = (el) => {
    const t = el.localName;
    if (t === "canvas" || t === "video") return true;
    if (t === "img" || (t === "input" && (el.getAttribute("type") || "").toLowerCase() === "image"))
      return selfMade(el.currentSrc) || selfMade(el.src) || selfMade(el.getAttribute("src")) || /(^|[\s,])(data|blob):/i.test(el.getAttribute("srcset") || "");
    if (t === "svg" && !el.ownerSVGElement) return !!el.querySelector("text, image, foreignObject, foreignobject, use, textPath, textpath");
    return false;
  };
  const rectOf = (el) => { const r = el.getBoundingClientRect(); return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height].join(","); };
`

// maskJS hides every registered secret, in any form (secret.Pattern), and
// every field matching sels (password fields always) from the rendered
// page: text nodes holding one have it replaced by the mask, form fields
// (of every type) holding one are emptied, attributes holding one are
// rewritten, and a text split over several nodes (<b>hun</b>ter2) empties
// the smallest element holding it whole. Each such element, and each frame
// that cannot be looked into, is also covered with a black box. What was
// changed is remembered in window.__pivMask so unmaskJS can put the page
// back. A selector that does not parse is skipped.
const maskJS = `(sels, pat) => {` + walkJS + `
  const re = pat ? new RegExp(pat) : null, reG = pat ? new RegExp(pat, "g") : null;
  const hit = (s) => !!re && typeof s === "string" && s !== "" && re.test(s);
  const st = {vals: [], texts: [], attrs: [], boxes: [], covered: [], drawn: []}; const boxed = new Set();
  window.__pivMask = st; // first: should a step below throw, unmaskJS still undoes the others
  // Boxes are laid once every change is made: emptying a field or
  // replacing a text moves what follows it.
  const box = (el) => { if (el && !boxed.has(el) && el !== document.documentElement) boxed.add(el); };
  const layBoxes = () => {
    for (const el of boxed) {
      const r = el.getBoundingClientRect();
      if (r.width > 0 && r.height > 0) {
        const d = document.createElement("div");
        d.setAttribute("data-piv-mask", "");
        d.style.cssText = "position:absolute;margin:0;padding:0;border:0;background:#000;z-index:2147483647;pointer-events:none;" +
          "left:" + (r.left + window.scrollX) + "px;top:" + (r.top + window.scrollY) + "px;width:" + r.width + "px;height:" + r.height + "px";
        document.documentElement.appendChild(d); st.boxes.push(d);
      }
    }
    // No blinking caret in the picture (it takes the text's colour).
    const c = document.createElement("style");
    c.setAttribute("data-piv-mask", "");
    c.textContent = "*{caret-color:transparent !important}";
    document.documentElement.appendChild(c); st.boxes.push(c);
  };
  const blankValue = (el, frame) => {
    if ((el.tagName === "INPUT" || el.tagName === "TEXTAREA") && el.value !== "") { st.vals.push([el, el.value]); el.value = ""; }
    box(frame || el);
  };
  walk((root, frame) => {
    for (const s of sels) {
      let els; try { els = root.querySelectorAll(s); } catch (e) { continue; }
      for (const el of els) blankValue(el, frame);
    }
    if (!re) return;
    for (const el of root.querySelectorAll("*")) {
      if (unreadable(el)) { st.drawn.push([el, frame ? rectOf(frame) : rectOf(el)]); box(frame || el); }
    }
    for (const el of root.querySelectorAll("input, textarea")) if (hit(el.value)) blankValue(el, frame);
    for (const n of textNodes(root)) {
      if (hit(n.data)) { st.texts.push([n, n.data]); n.data = n.data.replace(reG, "[REDACTED]"); box(frame || n.parentElement); }
    }
    for (const el of root.querySelectorAll("*")) {
      for (const a of Array.from(el.attributes)) {
        if (!hit(a.value)) continue;
        if (loads(el, a.name)) { st.covered.push([el, a.name]); box(frame || el); continue; }
        st.attrs.push([el, a.name, a.value]); el.setAttribute(a.name, a.value.replace(reG, "[REDACTED]")); box(frame || el);
      }
    }
    // A secret split over several text nodes: empty the smallest element
    // that holds it whole (descendants come before ancestors here).
    for (const el of Array.from(root.querySelectorAll("*")).reverse()) {
      if (!hit(el.textContent)) continue;
      for (const n of textNodes(el)) { st.texts.push([n, n.data]); n.data = ""; }
      box(frame || el);
    }
  }, (frame) => box(frame));
  layBoxes();
  return st.vals.length + st.texts.length + st.attrs.length;
}`

// verifyJS looks again, after masking, at everything a screenshot can show
// and returns where a secret is still present ("" when nowhere). Elements
// are named by tag (and id when the id holds no secret), never by content.
const verifyJS = `(pat) => {` + walkJS + `
  if (!pat) return "";
  const re = new RegExp(pat); const hit = (s) => typeof s === "string" && s !== "" && re.test(s);
  const st = window.__pivMask || {covered: []};
  const name = (el) => el.tagName.toLowerCase() + (el.id && !hit(el.id) ? "#" + el.id : "");
  const left = [];
  const drawn = new Map((st.drawn || []).map(([el, r]) => [el, r]));
  walk((root, frame) => {
    // A drawn element added or moved since it was covered may show
    // pixels no check can read.
    for (const el of root.querySelectorAll("*")) {
      if (!unreadable(el)) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (!drawn.has(el)) left.push("a " + el.localName + " added after masking (its pixels cannot be checked)");
      else if (drawn.get(el) !== rectOf(frame || el)) left.push("a " + el.localName + " moved after masking (its pixels cannot be checked)");
    }
    for (const el of root.querySelectorAll("input, textarea, select")) if (hit(el.value)) left.push("the value of " + name(el));
    for (const n of textNodes(root)) if (hit(n.data)) left.push("text in " + (n.parentElement ? name(n.parentElement) : "the page"));
    if (hit(rootText(root))) left.push("text of the page");
    for (const el of root.querySelectorAll("*")) {
      for (const a of Array.from(el.attributes)) {
        if (hit(a.value) && !st.covered.some(([e, n]) => e === el && n === a.name)) left.push("attribute " + a.name + " of " + name(el));
      }
    }
  }, () => {});
  return Array.from(new Set(left)).slice(0, 5).join("; ");
}`

const unmaskJS = `() => {
  const st = window.__pivMask; if (!st) return;
  for (const [n, v] of st.texts.reverse()) n.data = v;
  for (const [el, a, v] of st.attrs.reverse()) el.setAttribute(a, v);
  for (const [el, v] of st.vals.reverse()) el.value = v;
  for (const d of st.boxes) d.remove();
  delete window.__pivMask;
}`

// htmlJS serializes a copy of the document with secrets scrubbed: value
// attributes of matching fields removed, other matching elements' text
// replaced. Typed values are DOM properties, which serialization never
// includes; a value attribute (server-rendered or set by script) would be,
// hence the scrub. It runs while the page is masked, so registered secrets
// are already replaced; the caller redacts the text once more (in every
// form) before it is written. The live page is not touched.
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

// beforeScreenshot, when set (tests), is called with the masked page right
// before the screenshot is taken.
var beforeScreenshot func(*rod.Page)

// Capture takes a PNG screenshot of the viewport and the page's HTML, the
// evidence attached to a failed browser check.
//
// No screenshot may show a secret. Before it is taken, password fields and
// every element matching maskSelectors are blanked and covered, and so is
// every element whose text, form value or attributes hold a registered
// secret (secret.Register) in any of its forms. The page is then checked
// again, before and after the screenshot, twice over: by a walk of the DOM
// and by the renderer's own snapshot of what it lays out (which also sees
// closed shadow roots and generated content that no script can reach). If
// a secret can still be seen (a script put it back, a place masking cannot
// get at), the screenshot is dropped and the error wraps
// ErrScreenshotWithheld with where it was seen; the HTML is still
// returned. What neither check can read is covered whole while a secret is
// registered: cross-origin frames, and every canvas, video, image the page
// made itself (data: or blob: source) and SVG drawing text, images or HTML
// (a secret drawn on a canvas is pixels, not text). One added or moved
// after masking has the screenshot withheld. Not covered: CSS
// background images and images served by URL (a server-rendered picture
// of a secret).
//
// The page is restored afterwards, so Capture may also be used mid-journey.
func Capture(ctx context.Context, page *rod.Page, maskSelectors []string) (png []byte, html []byte, err error) {
	ctx, cancel := context.WithTimeout(ctx, CaptureTimeout)
	defer cancel()
	p := page.Context(ctx)
	sels := append([]string{PasswordSelector}, maskSelectors...)
	pat := secret.Pattern()

	if _, err := p.Evaluate(rod.Eval(maskJS, sels, pat)); err != nil {
		return nil, nil, fmt.Errorf("browser: masking secrets: %w", err)
	}
	defer func() {
		// Restore even when ctx is done: the spec may go on with the page.
		rctx, rcancel := context.WithTimeout(context.Background(), CaptureTimeout)
		defer rcancel()
		if _, uerr := page.Context(rctx).Evaluate(rod.Eval(unmaskJS)); uerr != nil && err == nil {
			err = fmt.Errorf("browser: restoring masked fields: %w", uerr)
		}
	}()
	pageHTML := func() ([]byte, error) {
		res, err := p.Evaluate(rod.Eval(htmlJS, sels))
		if err != nil {
			return nil, fmt.Errorf("browser: page HTML: %w", err)
		}
		s := res.Value.Str()
		if s == "" {
			return nil, errors.New("browser: page HTML: empty")
		}
		return secret.RedactBytes([]byte(s)), nil
	}
	withheld := func(when, where string) ([]byte, []byte, error) {
		h, herr := pageHTML()
		return nil, h, errors.Join(fmt.Errorf("%w: a secret was still visible %s masking (%s), so no screenshot was kept",
			ErrScreenshotWithheld, when, secret.Redact(where)), herr)
	}
	verify := func() (string, error) {
		res, err := p.Evaluate(rod.Eval(verifyJS, pat))
		if err != nil {
			return "", fmt.Errorf("browser: checking the masked page: %w", err)
		}
		if where := res.Value.Str(); where != "" || pat == "" {
			return where, nil
		}
		return renderedSecret(p)
	}

	where, err := verify()
	if err != nil {
		return nil, nil, err
	}
	if where != "" {
		return withheld("after", where)
	}
	if beforeScreenshot != nil {
		beforeScreenshot(p)
	}
	png, err = p.Screenshot(false, &proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatPng})
	if err != nil {
		return nil, nil, fmt.Errorf("browser: screenshot: %w", err)
	}
	// The page may have changed while the picture was taken.
	if where, err = verify(); err != nil || where != "" {
		if err != nil {
			return nil, nil, err
		}
		return withheld("while taking the screenshot, after", where)
	}
	html, err = pageHTML()
	return png, html, err
}

// renderedSecret checks what the renderer lays out, independently of the
// page's scripts: the text of every layout object (generated content, text
// in closed shadow roots the DOM walk cannot enter, frames of the same
// process) and every form field's value, as DOMSnapshot reports them. It
// returns where a registered secret was found, or "".
func renderedSecret(p *rod.Page) (string, error) {
	snap, err := proto.DOMSnapshotCaptureSnapshot{ComputedStyles: []string{}}.Call(p)
	if err != nil {
		return "", fmt.Errorf("browser: snapshot of the masked page: %w", err)
	}
	str := func(i proto.DOMSnapshotStringIndex) string {
		if i < 0 || int(i) >= len(snap.Strings) {
			return ""
		}
		return snap.Strings[i]
	}
	for _, d := range snap.Documents {
		if d.Layout != nil {
			var all strings.Builder
			for _, i := range d.Layout.Text {
				t := str(i)
				if secret.Contains([]byte(t)) {
					return "text the page lays out (rendered, but out of the DOM's reach)", nil
				}
				all.WriteString(t)
			}
			if secret.Contains([]byte(all.String())) {
				return "text the page lays out, split over several boxes", nil
			}
		}
		if d.Nodes != nil {
			for _, rare := range []*proto.DOMSnapshotRareStringData{d.Nodes.InputValue, d.Nodes.TextValue} {
				if rare == nil {
					continue
				}
				for _, i := range rare.Value {
					if secret.Contains([]byte(str(i))) {
						return "a form field's value (out of the DOM's reach)", nil
					}
				}
			}
		}
	}
	return "", nil
}
