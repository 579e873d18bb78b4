package piv_test

// Runnable examples of the authoring API (go test -run Example ./pkg/piv).
// The matchers and Response.JSON work on a *piv.Response without a run, so
// their examples run and check their output. What needs a bound run (the
// HTTP client, pages, settings, secrets) is shown in examples without an
// Output comment: they compile, so they cannot drift from the API, but only
// run inside `piv run`. TestEventuallyPatternFromTheDocs runs the waiting
// pattern of suites/README.md against a real loopback server.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/piv"
	"github.com/piv-gate/piv/pkg/target"
)

// response is what piv.HTTP(ctx).Get/PostJSON/… return; built by hand here
// so the matchers can be shown without a run.
func response(status int, body string) *piv.Response {
	return &piv.Response{
		Response: &http.Response{StatusCode: status, Header: http.Header{}},
		Body:     []byte(body),
		Method:   "POST", Path: "/api/quotes",
		Where: "node app-02 (127.0.0.3:8443)",
	}
}

// show prints whether an assertion held, or its failure message: what a
// spec's failure in gate.json would say.
func show(m interface {
	Match(any) (bool, error)
	FailureMessage(any) string
}, actual any) {
	ok, err := m.Match(actual)
	switch {
	case err != nil:
		fmt.Println("misuse:", err)
	case ok:
		fmt.Println("ok")
	default:
		fmt.Println(m.FailureMessage(actual))
	}
}

func ExampleHaveJSON() {
	created := response(201, `{"id":"Q-42","premium":{"amount":412.50,"currency":"GBP"},"items":[{"id":"x","name":"cover"}]}`)

	// In a spec: Expect(created).To(piv.HaveJSON("premium.currency", "GBP"))
	show(piv.HaveJSON("premium.currency", "GBP"), created)
	// numbers compare loosely: 412.5 matches 412.50
	show(piv.HaveJSON("premium.amount", 412.5), created)
	// any Gomega matcher takes the value as its JSON type (numbers are float64)
	show(piv.HaveJSON("premium.amount", BeNumerically(">", 0)), created)
	show(piv.HaveJSON("items.#(id==\"x\").name", "cover"), created)
	// the failures say which request, where it went, and what was there
	show(piv.HaveJSON("premium.currency", "EUR"), created)
	show(piv.HaveJSON("premium.tax", 0), created)
	// Output:
	// ok
	// ok
	// ok
	// ok
	// POST /api/quotes on node app-02 (127.0.0.3:8443): JSON at "premium.currency": expected "EUR", got "GBP"
	// POST /api/quotes on node app-02 (127.0.0.3:8443): JSON path "premium.tax" not found
	// body: {"id":"Q-42","premium":{"amount":412.50,"currency":"GBP"},"items":[{"id":"x","name":"cover"}]}
}

func ExampleHaveJSON_notJSON() {
	// A maintenance page that embeds JSON is not a JSON answer.
	page := response(200, `<html>{"status":"UP"}</html>`)
	show(piv.HaveJSON("status", "UP"), page)
	// Output:
	// POST /api/quotes on node app-02 (127.0.0.3:8443): body is not JSON, so JSON path "status" cannot be read
	// body: <html>{"status":"UP"}</html>
}

// A key given twice is read as the first value by gjson and as the last by
// most parsers: such a document is refused rather than judged.
func ExampleHaveJSON_duplicateKey() {
	show(piv.HaveJSON("status", "UP"), response(200, `{"status":"UP","status":"DOWN"}`))
	// Output:
	// POST /api/quotes on node app-02 (127.0.0.3:8443): body is an ambiguous JSON document (duplicate key "status" at the top level (byte 23)), so JSON path "status" cannot be read
	// body: {"status":"UP","status":"DOWN"}
}

func ExampleHaveStatus() {
	show(piv.HaveStatus(http.StatusCreated), response(201, `{}`))
	show(piv.HaveStatus(http.StatusCreated), response(500, `{"error":"pricing engine unavailable"}`))
	// Output:
	// ok
	// POST /api/quotes on node app-02 (127.0.0.3:8443): expected status 201, got 500
	// body: {"error":"pricing engine unavailable"}
}

// Gomega's own HaveHTTPStatus takes an *http.Response: give it the embedded
// one. piv.HaveStatus takes the *piv.Response itself and says more.
func ExampleHaveStatus_gomegaHaveHTTPStatus() {
	resp := response(201, `{}`)
	show(HaveHTTPStatus(http.StatusCreated), resp.Response)
	ok, err := HaveHTTPStatus(http.StatusCreated).Match(resp)
	fmt.Println(ok, err != nil)
	// Output:
	// ok
	// false true
}

// Response.JSON captures a value for the next step. Paths are gjson paths
// (github.com/tidwall/gjson, SYNTAX.md): dots into objects, numbers into
// arrays, # for the length or for every element, #(…) to find an element.
func ExampleResponse_JSON() {
	r := response(200, `{
	  "id": "Q-42",
	  "premium": {"amount": 412.5, "currency": "GBP"},
	  "items": [{"id": "a", "name": "third party"}, {"id": "x", "name": "fire and theft"}],
	  "checks.db": "UP"
	}`)
	fmt.Println(r.JSON("id").String())
	fmt.Println(r.JSON("premium.amount").Float())
	fmt.Println(r.JSON("items.#").Int())                  // array length
	fmt.Println(r.JSON("items.0.id").String())            // first element's id
	fmt.Println(r.JSON(`items.#(id=="x").name`).String()) // the element whose id is "x"
	fmt.Println(r.JSON("items.#.id").Raw)                 // every element's id
	fmt.Println(r.JSON(`items.#(name%"fire*")#.id`).Raw)  // every element whose name matches
	fmt.Println(r.JSON(`checks\.db`).String())            // a key with a dot in it
	fmt.Println(r.JSON("premium.tax").Exists())           // absent: Exists is false
	// Output:
	// Q-42
	// 412.5
	// 2
	// a
	// fire and theft
	// ["a","x"]
	// ["x"]
	// UP
	// false
}

// The HTTP client inside a spec. It is bound to the run's target: --node
// pins every connection to that node with the service's host name in Host
// and SNI, the app's CA is trusted, and every request carries X-PIV-Run.
func ExampleHTTP() {
	_ = piv.Describe("quote", "motor quote API", func() {
		It("prices a quote, amends it and withdraws it", piv.Functional, piv.Mutating, func(ctx SpecContext) {
			api := piv.HTTP(ctx)

			By("asking for a quote")
			created := api.PostJSON("/api/quotes", `{"product":"motor","driverAge":35}`)
			Expect(created).To(piv.HaveStatus(http.StatusCreated))
			id := created.JSON("id").String()

			By("amending it")
			amended := api.PutJSON("/api/quotes/"+id, `{"driverAge":36}`)
			Expect(amended).To(piv.HaveJSON("driverAge", 36))

			By("reading it with a header")
			fetched := api.WithHeader("Accept-Language", "en-GB").Get("/api/quotes/" + id)
			Expect(fetched).To(piv.HaveStatus(http.StatusOK))

			By("withdrawing it")
			Expect(api.Delete("/api/quotes/" + id)).To(piv.HaveStatus(http.StatusNoContent))

			By("any other method")
			resp := api.Do(http.MethodPatch, "/api/quotes/"+id, "application/merge-patch+json", strings.NewReader(`{"note":"x"}`))
			Expect(resp).To(piv.HaveStatus(http.StatusNotFound))
		})
	})
}

// An API behind a login: the token from the response is a secret too.
func ExampleClient_WithBearer() {
	_ = piv.Describe("claims", "claims API", func() {
		It("lists the adjuster's claims", piv.Functional, func(ctx SpecContext) {
			password := piv.Secret("CLAIMS_TEST_PASSWORD") // unset: exit 2, never a fail
			api := piv.HTTP(ctx)

			login := api.PostJSON("/api/login", `{"user":"qa-adjuster","password":"`+password.Value()+`"}`)
			Expect(login).To(piv.HaveStatus(http.StatusOK))

			// WithBearer registers the token for redaction and returns a new client.
			authed := api.WithBearer(login.JSON("token").String())
			Expect(authed.Get("/api/claims?mine=true")).To(piv.HaveJSON("items.#", BeNumerically(">=", 0)))
		})
	})
}

// Settings, the target and its scope.
func ExampleTargetOf() {
	_ = piv.Describe("quote", "pricing", func() {
		It("prices the configured product", piv.Functional, func(ctx SpecContext) {
			product := piv.Setting("product")       // settings: {product: motor}; missing: the spec fails
			age := piv.SettingOr("driverAge", "35") // with a default
			resp := piv.HTTP(ctx).PostJSON("/api/quotes", `{"product":"`+product+`","driverAge":`+age+`}`)
			Expect(resp).To(piv.HaveStatus(http.StatusCreated))

			t := piv.TargetOf()
			if t.Scope == target.ScopeNode {
				// pinned to one node: the app's X-Served-By names it
				Expect(resp.ServedBy()).To(Equal(t.Name))
			}
			piv.Observe("servedBy", resp.ServedBy()) // gate.json checks[].observed.servedBy
		})
	})
}

// A browser journey with web-first assertions: each retries until the page
// shows what is asserted, or piv.Timeouts.Assert (5 s by default) passes.
func ExampleOpenPage() {
	_ = piv.Describe("quote", "quote page", func() {
		It("shows the premium for a motor quote", piv.Functional, piv.Browser, func(ctx SpecContext) {
			page := piv.OpenPage(ctx, "/")
			page.Timeouts.Assert = 10 * time.Second // this page only: a slow pricing engine

			Expect(page).To(piv.BeVisible("#product"))
			page.Select("#product", "Motor")
			page.Fill("#driverAge", "35")
			Expect(page).To(piv.HaveValue("#driverAge", "35"))
			page.Click("#get-quote") // waits for the navigation it starts, if any

			Expect(page).To(piv.BeHidden("#spinner"))
			Expect(page).To(piv.HaveText("#premium", MatchRegexp(`^\d+\.\d{2} GBP$`)))
			Expect(page).To(piv.HaveCount("#cover-options li", BeNumerically(">=", 3)))
			Expect(page).To(piv.HaveURL(HavePrefix(piv.TargetOf().URLFor("/"))))
		})
	})
}

// Waiting for an eventually-true answer (an order that becomes CONFIRMED, a
// cache that warms). piv's client fails the spec at once on a transport
// error (there is no response to assert on), and Gomega's Eventually does
// not retry a Ginkgo failure. So inside Eventually, make the request with a
// client that returns the error, and assert with g: a refused connection or
// a 503 is then one more poll, not the end of the spec.
func Example_eventually() {
	_ = piv.Describe("quote", "quote confirmation", func() {
		It("confirms a quote within 30s", piv.Functional, piv.Mutating, func(ctx SpecContext) {
			id := piv.HTTP(ctx).PostJSON("/api/quotes", `{"product":"motor","driverAge":35}`).JSON("id").String()

			t := piv.TargetOf()
			c := t.HTTPClient(nil) // pinned like piv.HTTP, X-PIV-Run set; returns errors
			c.Timeout = 5 * time.Second
			Eventually(func(g Gomega) {
				req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.URLFor("/api/quotes/"+id), nil)
				g.Expect(err).NotTo(HaveOccurred())
				resp, err := c.Do(req)
				g.Expect(err).NotTo(HaveOccurred()) // refused, reset, timeout: poll again
				defer resp.Body.Close()
				g.Expect(resp).To(HaveHTTPStatus(http.StatusOK))
				body, err := io.ReadAll(resp.Body)
				g.Expect(err).NotTo(HaveOccurred())
				g.Expect(body).To(piv.HaveJSON("status", "CONFIRMED"))
			}).WithContext(ctx).WithTimeout(30 * time.Second).WithPolling(time.Second).Should(Succeed())
		})
	})
}

// Cleanup that outlives the spec. The spec's ctx is cancelled when the spec
// ends ("spec has finished"), so a cleanup that reuses the spec's client
// fails and leaves the data behind. DeferCleanup with its own context.
func Example_deferCleanup() {
	_ = piv.Describe("quote", "saved quotes", func() {
		It("saves a quote for a customer", piv.Functional, piv.Mutating, func(ctx SpecContext) {
			saved := piv.HTTP(ctx).PostJSON("/api/saved-quotes", `{"customer":"QA-1"}`)
			Expect(saved).To(piv.HaveStatus(http.StatusCreated))
			id := saved.JSON("id").String()
			DeferCleanup(func(ctx SpecContext) {
				Expect(piv.HTTP(ctx).Delete("/api/saved-quotes/" + id)).To(piv.HaveStatus(http.StatusNoContent))
			})

			Expect(piv.HTTP(ctx).Get("/api/saved-quotes/" + id)).To(piv.HaveJSON("customer", "QA-1"))
		})
	})
}

// TestEventuallyPatternFromTheDocs runs Example_eventually's pattern against
// a loopback server that refuses the first connection, then answers 503,
// then 200: the pattern passes. piv.HTTP(ctx) in the same place fails on
// the refused connection at once, which is why the docs show the pattern.
// Polls are counted, not timed.
func TestEventuallyPatternFromTheDocs(t *testing.T) {
	probe, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := probe.Addr().String()
	probe.Close() // nothing listens: the first poll is refused

	var hits atomic.Int32
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{"status":"CONFIRMED"}`))
	})}
	defer srv.Close()
	listen := func() {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("listen again on %s: %v", addr, err)
		}
		go srv.Serve(l)
	}

	app, err := config.Parse("quote.yaml", []byte("app: quote\nservice: {url: \"http://quote.test:80\"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	tg := target.ForAddress(app, target.ScopeNode, "app-02", addr)
	piv.Bind(&piv.Run{ID: "example", App: app, Target: tg})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// piv's client: a refused connection fails the spec (ginkgo.Fail
	// panics outside a suite) on the first poll; Eventually does not retry.
	func() {
		tries := 0
		defer func() {
			r := recover()
			if r == nil || !strings.Contains(fmt.Sprint(r), "Fail()") || tries != 1 {
				t.Errorf("piv.HTTP on a refused connection: want a Ginkgo failure on the first poll, got %d polls and %v", tries, r)
			}
		}()
		g := NewGomega(func(string, ...int) {})
		g.Eventually(func(g Gomega) {
			tries++
			g.Expect(piv.HTTP(ctx).Get("/status")).To(piv.HaveStatus(http.StatusOK))
		}).WithTimeout(5 * time.Second).WithPolling(10 * time.Millisecond).Should(Succeed())
	}()

	// The documented pattern: refused, 503, then 200.
	var polls int
	var failure string
	g := NewGomega(func(msg string, _ ...int) { failure = msg })
	c := piv.TargetOf().HTTPClient(nil)
	c.Timeout = 5 * time.Second
	ok := g.Eventually(func(g Gomega) {
		polls++
		if polls == 2 {
			listen() // the node comes up after the first refused poll
		}
		if polls > 20 {
			StopTrying("20 polls without an answer").Now() // bounded in count, not only in time
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, piv.TargetOf().URLFor("/status"), nil)
		g.Expect(err).NotTo(HaveOccurred())
		resp, err := c.Do(req)
		g.Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		g.Expect(resp).To(HaveHTTPStatus(http.StatusOK))
		body, err := io.ReadAll(resp.Body)
		g.Expect(err).NotTo(HaveOccurred())
		g.Expect(body).To(piv.HaveJSON("status", "CONFIRMED"))
	}).WithContext(ctx).WithTimeout(20 * time.Second).WithPolling(10 * time.Millisecond).Should(Succeed())
	if !ok || polls != 3 || hits.Load() != 2 {
		t.Fatalf("pattern: ok=%v after %d polls and %d answers (want true, 3, 2): %s", ok, polls, hits.Load(), failure)
	}
}

// The label registry: a typo in a label is an error, not a filter that
// silently selects nothing.
func ExampleCheckLabels() {
	fmt.Println(piv.KnownLabels())
	fmt.Println(piv.CheckLabels([]string{"functional", "smoke"}))
	fmt.Println(piv.CheckLabels([]string{"functinal"}))
	// Output:
	// [advisory browser functional mutating remediation smoke technical]
	// <nil>
	// unknown label(s) functinal (known: advisory, browser, functional, mutating, remediation, smoke, technical)
}

// What a gate says when a spec's secret is missing from the environment
// (exit 2, gate.json missingSecrets): a configuration error, not a fail.
func ExampleMissingSecretsReason() {
	fmt.Println(piv.MissingSecretsReason([]string{"CLAIMS_TEST_PASSWORD"}))
	// Output:
	// secret CLAIMS_TEST_PASSWORD is not set: export CLAIMS_TEST_PASSWORD=… in the environment that runs piv (secrets are never read from files or flags)
}
