// Package claims is the claims team's functional suite. It lives in the
// team's repository, next to the application, and is compiled into the
// team's gate binary (cmd/claims-gate); piv itself never changes for it.
// piv.Describe's first argument is the name in the app definition's
// suites: list.
package claims

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/piv-gate/piv/pkg/piv"
)

var _ = piv.Describe("claims", "claims API", func() {
	It("files a claim and returns it by id", piv.Functional, piv.Smoke, func(ctx SpecContext) {
		api := piv.HTTP(ctx)

		By("filing a claim against a policy")
		filed := api.PostJSON("/api/claims", `{"policy":"POL-1234","amount":950.5}`)
		Expect(filed).To(piv.HaveStatus(http.StatusCreated))
		Expect(filed).To(piv.HaveJSON("status", "RECEIVED"))
		id := filed.JSON("id").String()
		Expect(id).To(HavePrefix("CLM-"))

		By("fetching it back by id")
		fetched := api.Get("/api/claims/" + id)
		Expect(fetched).To(piv.HaveStatus(http.StatusOK))
		Expect(fetched).To(piv.HaveJSON("amount", 950.5))
	})

	It("refuses a claim without a policy", piv.Functional, func(ctx SpecContext) {
		resp := piv.HTTP(ctx).PostJSON("/api/claims", `{"amount":10}`)
		Expect(resp).To(piv.HaveStatus(http.StatusBadRequest))
		Expect(resp).To(piv.HaveJSON("field", "policy"))
	})
})
