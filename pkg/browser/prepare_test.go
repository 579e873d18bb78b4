package browser

import (
	"context"
	"net/url"
	"testing"
)

// A prepared page is the one the next Page hands out, pinned and with the
// target's headers like any other; the page after it is a fresh one in a
// context of its own. Remote browsers prepare too (--fleet's children).
func TestPreparedPageIsHandedOutOnce(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), testBound)
	defer cancel()
	ca := newCA(t, "prepare CA")
	tg := pinned(t, "app-01", node(t, "127.0.0.2", "app-01", ca, "quote.test"), ca)
	local := launch(t, Options{CAs: [][]byte{ca.CertPEM}, Prepare: []PrepareTarget{{Target: tg, CAPEM: ca.CertPEM}}})
	u, err := url.Parse(local.ControlURL())
	if err != nil {
		t.Fatal(err)
	}
	remote := launch(t, Options{RemoteURL: "http://" + u.Host, Prepare: []PrepareTarget{{Target: tg, CAPEM: ca.CertPEM}}})

	for name, b := range map[string]*Browser{"local": local, "remote": remote} {
		t.Run(name, func(t *testing.T) {
			b.mu.Lock()
			sp := b.spares[spareKey(tg)]
			b.mu.Unlock()
			if sp == nil {
				t.Fatal("nothing prepared for the target")
			}
			<-sp.ready
			if sp.err != nil {
				t.Fatal(sp.err)
			}
			first := openPage(t, ctx, b, tg, ca.CertPEM)
			if first.TargetID != sp.page.TargetID {
				t.Fatalf("Page made a new page (%s) instead of the prepared one (%s)", first.TargetID, sp.page.TargetID)
			}
			second := openPage(t, ctx, b, tg, ca.CertPEM)
			if second.TargetID == first.TargetID {
				t.Fatal("the prepared page was handed out twice")
			}
			for _, p := range []*struct {
				name string
				w    whoami
			}{{"prepared", readWhoami(t, first, tg.URLFor(""))}, {"fresh", readWhoami(t, second, tg.URLFor(""))}} {
				if want := (whoami{Node: "app-01", Host: "quote.test:8443", SNI: "quote.test", PIVRun: runID}); p.w != want {
					t.Errorf("%s page: whoami = %+v, want %+v", p.name, p.w, want)
				}
			}
		})
	}
}
