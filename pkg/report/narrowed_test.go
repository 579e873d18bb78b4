package report

import (
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/gate"
)

// TestNarrowedRunSaysSo: a narrowed pass shows NARROWED in every output
// (issue 8 class 9), and a full run shows it in none.
func TestNarrowedRunSaysSo(t *testing.T) {
	const banner = "NARROWED: label filter technical, focus health|version; 7 checks left out — this is not a full gate"
	text, md, html, junit, js := renderAll(t, narrowedResult())
	if lines := strings.Split(text, "\n"); lines[1] != banner {
		t.Errorf("text: the line after the headline should be the banner:\n%s", text)
	}
	if !strings.Contains(md, "> **NARROWED: label filter technical, focus health\\|version; 7 checks left out — this is not a full gate**") {
		t.Errorf("markdown lacks the banner:\n%s", md)
	}
	if !strings.Contains(html, `<div class="narrowed" role="alert">`+banner+`</div>`) {
		t.Errorf("report.html lacks the visible banner")
	}
	for _, want := range []string{`<property name="narrowed" value="true">`, `<property name="selection" value="` + banner + `">`,
		`<property name="labelFilter" value="technical">`, `<property name="focus" value="health|version">`, `<property name="leftOut" value="7">`} {
		if !strings.Contains(junit, want) {
			t.Errorf("junit.xml lacks %s", want)
		}
	}
	if !strings.Contains(js, `"narrowed": true`) || !strings.Contains(js, `"labelFilter": "technical"`) {
		t.Errorf("gate.json lacks the selection:\n%s", js)
	}

	// Not narrowed (the default mutating exclusion left a spec out): no banner.
	text, md, html, junit, _ = renderAll(t, passingResult())
	for what, s := range map[string]string{"text": text, "markdown": md, "html": html, "junit": junit} {
		if strings.Contains(s, "NARROWED") {
			t.Errorf("%s says NARROWED for a full run", what)
		}
	}
	if !strings.Contains(junit, `<property name="narrowed" value="false">`) {
		t.Errorf("junit.xml should say narrowed=false")
	}

	// Singular, and a narrowed selection with neither filter nor focus named.
	if got := narrowedText(gate.Selection{Narrowed: true, LeftOut: 1}); got != "NARROWED: selection narrowed; 1 check left out — this is not a full gate" {
		t.Errorf("narrowedText: %q", got)
	}
}

// TestHTMLShowsEvidence: passed checks are expandable with what they
// observed, real durations and steps; the footer names the piv version;
// --fleet groups per target with a row per target.
func TestHTMLShowsEvidence(t *testing.T) {
	h, err := HTML(passingResult(), readFixture)
	if err != nil {
		t.Fatal(err)
	}
	s := string(h)
	for _, want := range []string{
		`<details class="check passed" title="technical tls certificate is valid for quote.test">`,
		`<tr><th>daysLeft</th><td>89</td></tr>`,
		`<tr><th>issuer</th><td>CN=piv test CA</td></tr>`,
		`<tr><th>sans</th><td>[&#34;quote.test&#34;]</td></tr>`,
		`<tr><th>json.checks.db</th><td>UP</td></tr>`,
		`<span class="time">12ms</span>`,
		`<span class="time">1ms</span>`,
		`<ol class="steps"><li>asking for a quote</li><li>fetching it back by id</li></ol>`,
		`· piv 0.9.0-test</footer>`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("report.html lacks %s", want)
		}
	}
	if strings.Contains(s, `<span class="time">0.00s</span>`) {
		t.Errorf("durations of milliseconds must not show as 0.00s")
	}

	h, _ = HTML(fleetResult(), readFixture)
	s = string(h)
	app02 := strings.Index(s, `<section class="target">`+"\n"+`<h2>node app-02 `)
	app01 := strings.Index(s, `<section class="target">`+"\n"+`<h2>node app-01 `)
	svc := strings.Index(s, `<section class="target">`+"\n"+`<h2>service `)
	if app02 < 0 || app01 < 0 || svc < 0 || app02 > app01 {
		t.Errorf("fleet: a section per target, the failing node first (app-02 %d, app-01 %d, service %d)", app02, app01, svc)
	}
	if !strings.Contains(s, `<tr class="bad"><td>node app-02</td><td class="n">6</td><td class="n">5</td><td class="n">1</td>`) {
		t.Errorf("fleet: the summary table should have a row per target, app-02 marked")
	}
	if !strings.Contains(s, `<dt>remediation</dt><dd>CHG-2026-0412 (CVE-2026-1234)</dd>`) {
		t.Errorf("fleet: remediation not shown")
	}
	if strings.Count(s, "<tr><td>")+strings.Count(s, `<tr class="bad"><td>`) != 3 {
		t.Errorf("fleet: want 3 target rows")
	}

	// No piv version recorded: say so rather than print "piv ".
	r := passingResult()
	r.Piv = ""
	h, _ = HTML(r, nil)
	if !strings.Contains(string(h), "· piv (version not recorded)</footer>") {
		t.Errorf("footer without a version")
	}
}

func TestDurations(t *testing.T) {
	for in, want := range map[float64]string{0: "0s", 0.0002: "<1ms", 0.0012: "1ms", 0.21: "210ms", 0.9996: "1.00s", 1.93: "1.93s", 125.3: "2m05.3s"} {
		if got := dur(in); got != want {
			t.Errorf("dur(%v) = %q, want %q", in, got, want)
		}
	}
}
