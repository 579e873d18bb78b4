//go:build pivselftest

package selftest

import (
	"encoding/base64"
	"encoding/json"
	"net/url"

	. "github.com/onsi/ginkgo/v2"

	"github.com/piv-gate/piv/pkg/piv"
)

// SecretsEnv is the variable the secrets selftest reads its secret from.
const SecretsEnv = "PIV_SELFTEST_SECRETS_VALUE"

// A suite that does with a secret everything a careless suite (or app)
// does: names it in a By step, prints it to GinkgoWriter in two writes,
// opens a page that echoes it (in a text field, an error message, a link,
// a data attribute), attaches a response body holding it JSON-escaped, and
// fails with a message holding it literally, in a page URL's query, as a
// path segment and as base64. cli/secrets_test.go then searches every byte
// piv produced for it, in every form. settings.secrets: "leak" (default),
// "withheld" (the page puts the secret back when masked) or "missing"
// (reads a secret the environment lacks).
var _ = piv.Describe("selftest-secrets", "secrets in every medium", func() {
	It("leaks nothing it is given", piv.Functional, piv.Browser, func(ctx SpecContext) {
		if piv.SettingOr("secrets", "leak") == "missing" {
			piv.Secret("PIV_SELFTEST_SECRETS_UNSET")
			Fail("selftest: piv.Secret returned for an unset variable")
		}
		s := piv.Secret(SecretsEnv)
		v := s.Value()

		By("signing in with " + v)
		GinkgoWriter.Printf("typing %s", v[:3])
		GinkgoWriter.Printf("%s into the form\n", v[3:])

		q := url.Values{"pw": {v}}
		if piv.SettingOr("secrets", "leak") == "withheld" {
			// The page puts the secret back whenever it is changed, as a
			// framework re-rendering would: it cannot be masked.
			q.Set("js", `const e = document.getElementById("error"), t = e.textContent;
new MutationObserver(() => { if (e.textContent !== t) e.textContent = t; }).observe(e, {subtree: true, characterData: true, childList: true});`)
		}
		page := piv.OpenPage(ctx, "/echo?"+q.Encode())
		body, _ := json.Marshal(map[string]string{"password": v, "note": "as the API echoed it"})
		piv.Attach("response.json", "application/json", body)
		piv.Attach("response.html", "text/html", []byte(page.MustHTML()))

		Fail("selftest: login refused for " + v +
			"\npage: " + page.MustInfo().URL +
			"\npath: /users/" + url.PathEscape(v) +
			"\ntoken: " + base64.StdEncoding.EncodeToString([]byte(v)) + " " + base64.URLEncoding.EncodeToString([]byte(v)))
	})
})
