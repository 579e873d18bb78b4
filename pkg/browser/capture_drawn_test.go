package browser

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-rod/rod"
)

// drawnJS draws the secret in red where no DOM check can read it: on a
// canvas, and in an image the page makes itself (an SVG data: URL).
func drawnJS() string {
	b64 := base64.StdEncoding.EncodeToString([]byte(captureSecret))
	return `const v = new TextDecoder().decode(Uint8Array.from(atob("` + b64 + `"), (c) => c.charCodeAt(0)));
const c = document.createElement("canvas"); c.width = 900; c.height = 80; c.id = "drawn";
document.body.prepend(c);
const g = c.getContext("2d"); g.fillStyle = "#f00"; g.font = "40px sans-serif"; g.fillText(v, 10, 55);
const svg = '<svg xmlns="http://www.w3.org/2000/svg" width="900" height="80"><text x="10" y="55" fill="#f00" font-size="40" font-family="sans-serif">' +
  v.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;") + '</text></svg>';
const i = new Image(); i.id = "drawnimg"; i.src = "data:image/svg+xml;base64," + btoa(svg);
document.body.prepend(i);`
}

// A secret drawn on a canvas or in a page-made image is pixels, not text:
// both are covered, and the screenshot has none of its red.
func TestCaptureCoversWhatIsDrawn(t *testing.T) {
	p, ctx := openEcho(t, drawnJS())
	p.Timeout(ElementTimeout).MustElement("#drawnimg").MustWaitLoad()
	// Only the drawn secrets are red: the text the page shows is masked
	// already, so the red left in a screenshot comes from them.
	plain, _, err := Capture(ctx, p, nil)
	if err != nil {
		t.Fatalf("Capture: %v", err)
	}
	if n := redPixels(t, plain); n != 0 {
		if dir := os.Getenv("PIV_TEST_KEEP"); dir != "" {
			os.WriteFile(filepath.Join(dir, "drawn.png"), plain, 0o644)
		}
		t.Errorf("%d red pixels in the masked screenshot: the drawn secret shows", n)
	}
	// The drawing is there (not an empty canvas that proves nothing).
	shot, err := p.Screenshot(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := redPixels(t, shot); n < 500 {
		t.Fatalf("the unmasked page shows only %d red pixels", n)
	}
}

// A canvas added after masking (a chart drawn late) cannot be checked: the
// screenshot is withheld.
func TestCaptureWithholdsADrawingAddedAfterMasking(t *testing.T) {
	p, ctx := openEcho(t, "")
	beforeScreenshot = func(p *rod.Page) {
		p.MustEval(`() => { const c = document.createElement("canvas"); c.width = 300; c.height = 40; document.body.prepend(c); }`)
	}
	defer func() { beforeScreenshot = nil }()
	shot, _, err := Capture(ctx, p, nil)
	if !errors.Is(err, ErrScreenshotWithheld) || !strings.Contains(err.Error(), "canvas added after masking") {
		t.Fatalf("Capture error = %v, want the screenshot withheld for a late canvas", err)
	}
	if shot != nil {
		t.Error("a screenshot was returned with the withheld error")
	}
}
