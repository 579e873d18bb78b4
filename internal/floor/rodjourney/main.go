// Command rodjourney is the floor piv's browser benchmarks are measured
// against: a bare go-rod program doing the demo's quote-page journey (open,
// choose motor, type the age, click, wait for the premium) against each URL
// given, one after another, in one Chromium — what a competent engineer would
// write by hand with the same stack, and nothing a gate adds (no pinning
// proxy, no CA set-up, no reports).
//
//	rodjourney -bin /usr/bin/chromium http://127.0.0.2:8080/ [URL...]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/launcher"
)

func main() {
	bin := flag.String("bin", "/usr/bin/chromium", "Chromium binary")
	flag.Parse()
	u := launcher.New().Bin(*bin).Headless(true).NoSandbox(true).
		Set("disable-gpu").Set("disable-dev-shm-usage").Set("no-first-run").
		Set("disable-background-networking").Set("disable-component-update").MustLaunch()
	b := rod.New().ControlURL(u).MustConnect()
	defer b.MustClose()
	for _, url := range flag.Args() {
		p := b.Timeout(30 * time.Second).MustPage(url)
		p.MustWaitLoad()
		p.MustElement("#product").MustSelect("Motor")
		p.MustElement("#driverAge").MustInput("35")
		p.MustElement("#get-quote").MustClick()
		el := p.MustElementR("#premium", `^\d+\.\d{2} GBP$`)
		if el == nil {
			fmt.Fprintln(os.Stderr, "no premium on", url)
			os.Exit(1)
		}
		p.MustClose()
	}
}
