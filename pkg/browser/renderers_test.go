package browser

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestOneRendererPerPage guards the launch flags that keep a page cheap:
// no start window, no spare renderer, no address-bar popup WebUI renderer
// per window (chrome://omnibox-popup.top-chrome, up to 330 ms of CPU
// each). Two targets' pages: two renderers, nothing else renders.
func TestOneRendererPerPage(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	ca := newCA(t, "renderers CA")
	b := launch(t, Options{CAs: [][]byte{ca.CertPEM}})
	count := func() (pages, browserUI int) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			cmd, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			if err != nil || !strings.Contains(string(cmd), b.UserDataDir()) || !strings.Contains(string(cmd), "--type=renderer") {
				continue
			}
			if strings.Contains(string(cmd), "--top-chrome-webui") {
				browserUI++
			} else {
				pages++
			}
		}
		return
	}
	if p, ui := count(); p+ui != 0 {
		t.Fatalf("after launch: %d page and %d browser-UI renderers, want none (no start window)", p, ui)
	}
	for i, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		name := []string{"app-01", "app-02"}[i]
		tg := pinned(t, name, node(t, ip, name, ca, "quote.test"), ca)
		p := openPage(t, ctx, b, tg, ca.CertPEM)
		if err := Navigate(ctx, p, tg.URLFor("/")); err != nil {
			t.Fatal(err)
		}
	}
	if p, ui := count(); p != 2 || ui != 0 {
		t.Fatalf("two pages: %d page and %d browser-UI renderers, want 2 and 0", p, ui)
	}
}
