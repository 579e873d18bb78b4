package report

import (
	"encoding/base64"
	"strings"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
)

// A 1×1 PNG, so the golden report.html shows a real inline screenshot.
var tinyPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")

var start = time.Date(2026, 11, 25, 19, 1, 2, 120_000_000, time.UTC)

func technicalChecks() []gate.Check {
	mk := func(name string, secs float64, observed map[string]any) gate.Check {
		return gate.Check{Name: "technical " + name, Suite: "technical", Labels: []string{"technical"},
			State: gate.Passed, Blocking: true, Attempts: 1, DurationSeconds: secs, Observed: observed}
	}
	return []gate.Check{
		mk("tcp port 8443 accepts connections", 0.0012, map[string]any{"address": "127.0.0.3:8443", "connectSeconds": 0.0011}),
		mk("tls certificate is valid for quote.test", 0.012, map[string]any{
			"tlsVersion": "1.3", "subject": "CN=quote.test", "issuer": "CN=piv test CA",
			"notAfter": "2027-02-23T00:00:00Z", "daysLeft": 89.0, "sans": []any{"quote.test"}}),
		mk("health reports UP", 0.004, map[string]any{"status": 200.0, "json": map[string]any{"status": "UP", "checks.db": "UP"}}),
		mk("version reports the expected version", 0.0042, map[string]any{"status": 200.0, "version": "2.4.1"}),
		mk("latency p95 within 250ms", 0.21, map[string]any{"samples": 20.0, "p95Seconds": 0.0081, "budgetSeconds": 0.25}),
	}
}

// piv is the version the fixtures say ran them.
const pivVersion = "0.9.0-test"

func nodeTarget() gate.Target {
	return gate.Target{Scope: "node", Node: "app-02", Address: "127.0.0.3", URL: "https://quote.test:8443"}
}

// passing: nine checks passed against one node.
func passingResult() *gate.Result {
	r := &gate.Result{
		Schema: gate.Schema, RunID: "20261125T190102Z-quote-node-app-02", App: "quote",
		Target: nodeTarget(), ExpectedVersion: "2.4.1", ObservedVersion: "2.4.1",
		StartedAt: start, DurationSeconds: 0.84, Piv: pivVersion,
		Selection: gate.Selection{LeftOut: 1}, // the mutating spec, left out by default: not narrowed
		Checks:    technicalChecks(),
	}
	for _, n := range []string{"prices a motor quote and returns it by id", "rejects a quote without a driver age", "shows the premium on the quote page", "logs in with the test account"} {
		labels := []string{"functional"}
		if strings.Contains(n, "page") {
			labels = append(labels, "browser")
		}
		r.Checks = append(r.Checks, gate.Check{Name: "quote motor quote journey " + n, Suite: "quote motor quote journey",
			Labels: labels, State: gate.Passed, Blocking: true, Attempts: 1, DurationSeconds: 0.05,
			Steps: []string{"asking for a quote", "fetching it back by id"}})
	}
	gate.Decide(r, gate.Policy{}, "")
	return r
}

// failing: one blocking browser failure with a screenshot and page HTML,
// one advisory failure, one flaky pass, one skipped.
func failingResult() *gate.Result {
	r := &gate.Result{
		Schema: gate.Schema, RunID: "20261125T190102Z-quote-node-app-02", App: "quote",
		Target: nodeTarget(), ExpectedVersion: "2.4.1", ObservedVersion: "2.4.1",
		StartedAt: start, DurationSeconds: 3.21, Piv: pivVersion,
		Selection: gate.Selection{AllowMutating: false},
		Checks:    technicalChecks(),
	}
	r.Checks[4] = gate.Check{Name: "technical latency p95 within 250ms", Suite: "technical",
		Labels: []string{"technical", "advisory"}, State: gate.Failed, Blocking: false, Attempts: 1, DurationSeconds: 0.31,
		Failure: &gate.Failure{Message: "latency of GET https://quote.test:8443/health on node app-02 (127.0.0.3): p95 312ms over 20 samples, budget 250ms", Location: "suites/technical/latency.go:41"}}
	r.Checks = append(r.Checks,
		gate.Check{Name: "quote motor quote journey prices a motor quote and returns it by id", Suite: "quote motor quote journey",
			Labels: []string{"functional"}, State: gate.Flaky, Blocking: true, Attempts: 2, DurationSeconds: 0.09,
			Steps: []string{"asking for a quote", "fetching it back by id"}},
		gate.Check{Name: "quote motor quote journey shows the premium on the quote page", Suite: "quote motor quote journey",
			Labels: []string{"functional", "browser"}, State: gate.Failed, Blocking: true, Attempts: 1, DurationSeconds: 1.93,
			Steps: []string{"opening the quote page", "filling the driver's age", "clicking Get quote", "waiting for the premium"},
			Failure: &gate.Failure{
				Message:  "Timed out after 5.000s.\nExpected\n    <string>: \"\"\nto match regular expression\n    <string>: ^\\d+\\.\\d{2} GBP$\n#premium on https://quote.test:8443/ (node app-02) stayed empty: <button id=\"get-quote\"> did nothing",
				Location: "suites/quote/quote.go:58",
				Step:     "waiting for the premium",
			},
			Attachments: []gate.Attachment{
				{Name: "screenshot", ContentType: "image/png", Path: "attachments/001-screenshot.png"},
				{Name: "page HTML", ContentType: "text/html", Path: "attachments/002-page.html"},
			}},
		gate.Check{Name: "quote motor quote journey creates a policy from the quote", Suite: "quote motor quote journey",
			Labels: []string{"functional", "mutating"}, State: gate.Skipped, Blocking: true, Attempts: 0,
			Failure: &gate.Failure{Message: "mutating: left out of node gates unless --allow-mutating"}},
	)
	gate.Decide(r, gate.Policy{}, "")
	return r
}

// inconclusive: the run hit --timeout while a check was running.
func inconclusiveResult() *gate.Result {
	r := &gate.Result{
		Schema: gate.Schema, RunID: "20261125T190102Z-quote-service", App: "quote",
		Target: gate.Target{Scope: "service", URL: "https://quote.test:8443"}, ExpectedVersion: "2.4.1",
		StartedAt: start, DurationSeconds: 30.0, Piv: pivVersion,
		Checks: technicalChecks()[:3],
		Attachments: []gate.Attachment{
			{Name: "settle transcript", ContentType: "text/plain", Path: "attachments/000-settle.txt"},
		},
	}
	r.Checks = append(r.Checks, gate.Check{Name: "technical version reports the expected version", Suite: "technical",
		Labels: []string{"technical"}, State: gate.Aborted, Blocking: true, Attempts: 1, DurationSeconds: 29.1,
		Failure: &gate.Failure{Message: "interrupted by the run timeout (--timeout 30s) while waiting for GET https://quote.test:8443/version", Step: ""}})
	gate.Decide(r, gate.Policy{}, "timeout: the run exceeded --timeout 30s; checks after that point were not verified")
	return r
}

// narrowed: a pass of the technical checks only (--label-filter technical
// --focus health): green, but not a full gate.
func narrowedResult() *gate.Result {
	r := &gate.Result{
		Schema: gate.Schema, RunID: "20261125T190102Z-quote-node-app-02", App: "quote", Piv: pivVersion,
		Target: nodeTarget(), ExpectedVersion: "2.4.1", ObservedVersion: "2.4.1",
		StartedAt: start, DurationSeconds: 0.31,
		Selection: gate.Selection{LabelFilter: "technical", Focus: "health|version", LeftOut: 7, Narrowed: true},
		Checks:    technicalChecks()[2:4],
	}
	gate.Decide(r, gate.Policy{}, "")
	return r
}

// fleet: --fleet over two nodes and the service with a remediation record;
// app-02 answers the quote API with 500 while the service (round robin)
// passes, and app-01 has a flaky journey.
func fleetResult() *gate.Result {
	r := &gate.Result{
		Schema: gate.Schema, RunID: "20261125T190102Z-quote-fleet", App: "quote", Piv: pivVersion,
		Target: gate.Target{Scope: "service", URL: "https://quote.test:8443"}, ExpectedVersion: "2.4.1", ObservedVersion: "2.4.1",
		StartedAt: start, DurationSeconds: 1.42,
		Selection:   gate.Selection{LeftOut: 1},
		Remediation: &gate.Remediation{ID: "CHG-2026-0412", CVEs: []string{"CVE-2026-1234"}},
	}
	for _, target := range []string{"app-01", "app-02", "service"} {
		for _, c := range technicalChecks()[:4] {
			c.Target = target
			r.Checks = append(r.Checks, c)
		}
		journey := gate.Check{Name: "quote motor quote journey prices a motor quote and returns it by id", Suite: "quote motor quote journey",
			Target: target, Labels: []string{"functional"}, State: gate.Passed, Blocking: true, Attempts: 1, DurationSeconds: 0.061,
			Steps: []string{"asking for a quote", "fetching it back by id"}, Observed: map[string]any{"status": 201.0, "premium.currency": "GBP"}}
		switch target {
		case "app-01":
			journey.State, journey.Attempts = gate.Flaky, 3
		case "app-02":
			journey.State, journey.Observed = gate.Failed, map[string]any{"status": 500.0}
			journey.Failure = &gate.Failure{Message: "POST https://quote.test:8443/api/quotes on node app-02 (127.0.0.3): want status 201, got 500",
				Location: "suites/quote/quote.go:31", Step: "asking for a quote"}
		}
		r.Checks = append(r.Checks, journey)
		r.Checks = append(r.Checks, gate.Check{Name: "remediation CHG-2026-0412 openssl >= 3.0.15", Suite: "remediation", Target: target,
			Labels: []string{"remediation"}, State: gate.Passed, Blocking: true, Attempts: 1, DurationSeconds: 0.003,
			Observed: map[string]any{"components.openssl": "3.0.15"}})
	}
	gate.Decide(r, gate.Policy{}, "")
	return r
}

// attachmentFiles are the files the fixtures' attachments point at.
var attachmentFiles = map[string][]byte{
	"attachments/001-screenshot.png": tinyPNG,
	"attachments/002-page.html":      []byte("<!doctype html><html><body><h1>Motor quote</h1><script>alert('x')</script><div id=\"premium\"></div></body></html>\n"),
	"attachments/000-settle.txt":     []byte("19:01:02.130 health 200 {\"status\":\"UP\"}\n19:01:02.380 health 200 {\"status\":\"UP\"}\n19:01:02.630 health 200 {\"status\":\"UP\"}\nsettled after 3 consecutive passes\n"),
}
