// Package quote is the functional suite of the demo insurer's quote service
// (fixtures/quoteapp). It is selected by `suites: [quote]` in the app
// definition and runs against whatever the run targets: one drained node,
// the whole service, or a container image.
package quote

import (
	"fmt"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/piv-gate/piv/pkg/piv"
)

var _ = piv.Describe("quote", "motor quote API", func() {
	// Pricing is read-only in this app (a quote id encodes the quote, nothing
	// is stored), so the journey is safe on a production node.
	It("prices a motor quote and returns it by id", piv.Functional, piv.Smoke, func(ctx SpecContext) {
		api := piv.HTTP(ctx)

		By("asking for a quote for a 35-year-old driver")
		created := api.PostJSON("/api/quotes", `{"product":"motor","driverAge":35}`)
		Expect(created).To(piv.HaveStatus(http.StatusCreated))
		Expect(created).To(piv.HaveJSON("premium.currency", "GBP"))
		Expect(created).To(piv.HaveJSON("premium.amount", BeNumerically(">", 0)))
		id := created.JSON("id").String()
		Expect(id).NotTo(BeEmpty(), "the created quote has an id")

		By("fetching it back by id")
		fetched := api.Get("/api/quotes/" + id)
		Expect(fetched).To(piv.HaveStatus(http.StatusOK))
		Expect(fetched).To(piv.HaveJSON("premium.amount", created.JSON("premium.amount").Float()))
		Expect(fetched).To(piv.HaveJSON("product", "motor"))
	})

	It("refuses a driver under the minimum age", piv.Functional, func(ctx SpecContext) {
		resp := piv.HTTP(ctx).PostJSON("/api/quotes", `{"product":"motor","driverAge":15}`)
		Expect(resp).To(piv.HaveStatus(http.StatusBadRequest))
		Expect(resp).To(piv.HaveJSON("field", "driverAge"))
	})

	// A quote saved for a customer creates data: never in a gate unless the
	// pipeline passes --allow-mutating (a test environment, the nightly run).
	It("saves a quote for a named customer", piv.Functional, piv.Mutating, func(ctx SpecContext) {
		resp := piv.HTTP(ctx).PostJSON("/api/quotes", fmt.Sprintf(`{"product":"home","driverAge":%d}`, 40))
		Expect(resp).To(piv.HaveStatus(http.StatusCreated))
	})
})
