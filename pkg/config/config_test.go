package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/piv-gate/piv/internal/pki"
)

func TestDemoDefinitionLoadsWithDefaults(t *testing.T) {
	// The demo's CA is generated; write a stand-in next to a copy.
	dir := t.TempDir()
	y, err := os.ReadFile("../../fixtures/apps/quote.yaml")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "quote.yaml"), []byte(strings.Replace(string(y), "../tls/generated/ca.pem", "ca.pem", 1)), 0o644)
	ca, err := pki.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM, 0o644)
	a, err := Load(filepath.Join(dir, "quote.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if a.App != "quote" || len(a.Nodes) != 3 || a.ServiceURL.Host != "quote.test:8443" || a.Roots() == nil {
		t.Fatalf("%+v", a)
	}
	if a.Technical.Latency.P95.D() != 250*time.Millisecond || a.Settle.Consecutive != 3 || a.Technical.Health.JSON[1].Path != "checks.db" {
		t.Fatalf("%+v", a.Technical)
	}
	if got := a.Where("nodes", "1", "address"); got != filepath.Join(dir, "quote.yaml")+":12" {
		t.Fatalf("Where = %s", got)
	}
}

func TestErrorsCarryFileAndLine(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"app: q\nservice:\n  url: https://q.test\n  bogus: 1\n", `x.yaml:4: unknown key "bogus" in service`},
		{"app: q\nservice:\n  url: https://q.test\nsettle: {timeout: 90}\n", `x.yaml:4: bad duration "90"`},
		{"app: q\nservice:\n  url: https://q.test\nnodes:\n  - name: a\n", `x.yaml:5: nodes[0].address: missing`},
		{"app: q\nservice:\n  url: https://q.test\nnodes:\n  - {name: a, address: h}\n  - {name: a, address: h}\n", `x.yaml:6: nodes[1].name: "a" is used twice`},
		{"app: q\nservice:\n  url: ftp://q.test\n", `x.yaml:3: service.url: "ftp://q.test" is not an http(s) URL`},
		{"app: q\nservice: [\n", `x.yaml:2: invalid YAML`},
		{"app: Q Q\nservice:\n  url: https://q.test\n", `x.yaml:1: app: "Q Q"`},
		{"app: q\nservice:\n  url: https://q.test\ntechnical:\n  tls: {minVersion: \"1.5\"}\n", `x.yaml:5: technical.tls.minVersion`},
		{"app: q\nservice:\n  url: https://q.test\ntechnical:\n  latency: {samples: 3}\n", `technical.latency.p95: missing`},
		{"", `x.yaml: empty file`},
		{"app: q\nservice:\n  url: https://q.test\n---\napp: r\n", `more than one YAML document`},
		{"app: q\nservice:\n  url: https://q.test\n  ca: nothere.pem\n", `x.yaml:4: service.ca: cannot read`},
	}
	for _, c := range cases {
		_, err := Parse("x.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got  %v\n want …%s…", c.yaml, err, c.want)
		}
	}
}

func TestFindNamesKnownApps(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("app: alpha\nservice:\n  url: http://a.test\n"), 0o644)
	if _, err := Find(dir, "beta"); err == nil || !strings.Contains(err.Error(), "apps defined: alpha") {
		t.Fatalf("%v", err)
	}
	a, err := Find(dir, "alpha")
	if err != nil || a.Technical.TLS != nil || a.Technical.Ports[0] != 80 {
		t.Fatalf("%v %+v", err, a)
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"app: q\nservice:\n  url: https://q.test:8443\nnodes:\n  - {name: a, address: 127.0.0.2}\ntechnical:\n  health: {path: /h, json: {status: UP}}\n  latency: {p95: 1s}\nsettle: {timeout: 2s}\n",
		"app: q\nservice: [\n", "", "---\n", "app: [1, 2]\n", "technical: {ports: [1, 99999]}\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Parse("fuzz.yaml", data)
		if err == nil && (a.App == "" || a.ServiceURL == nil) {
			t.Fatalf("accepted a definition without app or service URL: %q", data)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "fuzz.yaml") {
			t.Fatalf("error without file name: %v", err)
		}
	})
}
