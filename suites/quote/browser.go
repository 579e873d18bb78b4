package quote

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/piv-gate/piv/pkg/piv"
)

var _ = piv.Describe("quote", "quote page", func() {
	It("shows the premium for a motor quote", piv.Functional, piv.Browser, func(ctx SpecContext) {
		By("opening the quote page")
		page := piv.OpenPage(ctx, "/")

		By("choosing motor and a driver aged 35")
		page.Select("#product", "Motor")
		page.Fill("#driverAge", "35")

		By("asking for a quote")
		page.Click("#get-quote")

		By("waiting for the premium")
		// Web-first: retries until the answer replaces any placeholder.
		Expect(page).To(piv.HaveText("#premium", MatchRegexp(`^\d+\.\d{2} GBP$`)))
	})
})

var _ = piv.Describe("quote", "customer login", func() {
	It("signs the QA user in with the password from QUOTE_TEST_PASSWORD", piv.Functional, piv.Browser, func(ctx SpecContext) {
		password := piv.Secret("QUOTE_TEST_PASSWORD")

		By("opening the login page")
		page := piv.OpenPage(ctx, "/login")

		By("signing in as " + piv.SettingOr("username", "qa-user"))
		page.Fill("#username", piv.SettingOr("username", "qa-user"))
		page.Fill("#password", password.Value())
		page.Click("#login")

		Expect(page).To(piv.HaveText("#welcome", "Welcome, "+piv.SettingOr("username", "qa-user")))
	})
})
