package config

import (
	"strings"
	"testing"
)

const base = "app: q\nservice:\n  url: https://q.test\n"

// A value given empty or blank is an error at its own line, never the
// default: a pipeline's unset variable must not drop a check.
func TestEmptyValuesAreErrors(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{base + "technical:\n  health: {path: \"\"}\n", `x.yaml:5: technical.health.path: empty value`},
		{base + "technical:\n  health: {path: \" \"}\n", `x.yaml:5: technical.health.path: blank value " "`},
		{base + "technical:\n  version: {path: /v, json: \" \"}\n", `x.yaml:5: technical.version.json: blank value " "`},
		{base + "technical:\n  version: {path: /v, json: \"\"}\n", `x.yaml:5: technical.version.json: empty value`},
		{base + "technical:\n  health:\n", `x.yaml:5: technical.health: no value`},
		{base + "technical:\n  health: {path: /h, json: {status: \"\"}}\n", `x.yaml:5: technical.health.json.status: empty value`},
		{base + "technical:\n  health: {path: /h, json: {}}\n", `x.yaml:5: technical.health.json: empty: omit the key`},
		{base + "technical:\n  ports: []\n", `x.yaml:5: technical.ports: empty list`},
		{base + "technical:\n  health: {path: /h, status: 0}\n", `x.yaml:5: technical.health.status: 0 is not an HTTP status`},
		{base + "technical:\n  latency: {path: /h, samples: 0, p95: 1s}\n", `x.yaml:5: technical.latency.samples: 0`},
		{base + "technical:\n  latency: {path: \"\", p95: 1s}\n", `x.yaml:5: technical.latency.path: empty value`},
		{base + "technical:\n  latency: {path: h, p95: 1s}\n", `x.yaml:5: technical.latency.path: "h" must start with /`},
		{base + "technical:\n  latency: {path: /h, p95: 0s}\n", `x.yaml:5: technical.latency.p95: 0 is no budget`},
		{base + "technical:\n  tls: {minVersion: \"\"}\n", `x.yaml:5: technical.tls.minVersion: empty value`},
		{base + "nodes:\n  - {name: \"\", address: 127.0.0.2}\n", `x.yaml:5: nodes[0].name: empty value`},
		{base + "nodes:\n  - {name: \"  \", address: 127.0.0.2}\n", `x.yaml:5: nodes[0].name: blank value`},
		{base + "nodes:\n  - {name: a, address: \"\"}\n", `x.yaml:5: nodes[0].address: empty value`},
		{base + "nodes:\n  -\n", `x.yaml:5: nodes[0]: no value`},
		{base + "nodes: []\n", `x.yaml:4: nodes: empty list`},
		{base + "suites: [quote, \"\"]\n", `x.yaml:4: suites[1]: empty value`},
		{base + "suites: []\n", `x.yaml:4: suites: empty list`},
		{"app: q\nservice:\n  url: \"\"\n", `x.yaml:3: service.url: empty value`},
		{"app: q\nservice:\n  url: https://q.test\n  ca: \"\"\n", `x.yaml:4: service.ca: empty value`},
		{"app: q\nservice:\n  url: https://q.test\n  address: \" \"\n", `x.yaml:4: service.address: blank value`},
		{"app: \"\"\nservice:\n  url: https://q.test\n", `x.yaml:1: app: empty value`},
		{base + "settings: {user: \"\"}\n", `x.yaml:4: settings.user: empty value`},
		{base + "settings: {\"\": x}\n", `x.yaml:4: settings."": empty key`},
		{base + "settle: {consecutive: 0}\n", `x.yaml:4: settle.consecutive: 0`},
		{base + "settle: {timeout: ~}\n", `x.yaml:4: settle.timeout: no value (~)`},
		{base + "ephemeral: {port: 8443, wait: {log: \"\"}}\n", `x.yaml:4: ephemeral.wait.log: empty value`},
		{base + "exposure: \"\"\n", `x.yaml:4: exposure: empty value`},
		{base + "owner: {team: \" \"}\n", `x.yaml:4: owner.team: blank value`},
		{base + "ephemeral: {port: 8443, dependencies: [{name: db, image: \"\"}]}\n", `x.yaml:4: ephemeral.dependencies[0].image: empty value`},
	}
	for _, c := range cases {
		_, err := Parse("x.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got  %v\n want …%s…", c.yaml, err, c.want)
		}
	}
}

// An empty environment variable or command argument is the container's
// business, not a check: it stays allowed.
func TestEmptyContainerEnvIsAllowed(t *testing.T) {
	y := base + "ephemeral:\n  port: 8443\n  env: {DEBUG: \"\"}\n  cmd: [serve, \"\"]\n  dependencies:\n    - {name: db, image: db:1, env: {X: \"\"}}\n"
	if _, err := Parse("x.yaml", []byte(y)); err != nil {
		t.Fatal(err)
	}
}

func TestPortsAndDurationsOutOfRange(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"app: q\nservice:\n  url: https://q.test:99999\n", `x.yaml:3: service.url: "https://q.test:99999": port 99999 is not a TCP port`},
		{"app: q\nservice:\n  url: https://q.test:0\n", `x.yaml:3: service.url: "https://q.test:0": port 0 is not a TCP port`},
		{"app: q\nservice:\n  url: https://q.test\n  address: lb:70000\n", `x.yaml:4: service.address: "lb:70000": bad port`},
		{base + "nodes:\n  - {name: a, address: \"127.0.0.2:0\"}\n", `x.yaml:5: nodes[0].address: "127.0.0.2:0": bad port`},
		{base + "technical:\n  ports: [8443, 65536]\n", `x.yaml:5: technical.ports[1]: 65536 is not a TCP port`},
		{base + "technical:\n  ports: [-1]\n", `x.yaml:5: technical.ports[0]: -1 is not a TCP port`},
		{base + "settle: {timeout: -5s}\n", `x.yaml:4: duration "-5s" is negative`},
		{base + "technical:\n  health: {path: /h}\n  latency: {p95: -250ms}\n", `x.yaml:6: duration "-250ms" is negative`},
		{base + "ephemeral: {port: 70000}\n", `x.yaml:4: ephemeral.port: 70000 is not a TCP port`},
		{base + "ephemeral: {port: 0}\n", `x.yaml:4: ephemeral.port: 0 is not a TCP port`},
		{base + "ephemeral: {port: 8443, ports: [0]}\n", `x.yaml:4: ephemeral.ports[0]: 0 is not a TCP port`},
		{base + "ephemeral: {port: 8443, wait: {port: 99999}}\n", `x.yaml:4: ephemeral.wait.port: 99999 is not a TCP port`},
		{base + "ephemeral: {port: 8443, dependencies: [{name: db, image: db:1, wait: {port: 0}}]}\n", `x.yaml:4: ephemeral.dependencies[0].wait.port: 0 is not a TCP port`},
		{base + "ephemeral: {port: 8443, wait: {path: health}}\n", `x.yaml:4: ephemeral.wait.path: "health" must start with /`},
		{base + "ephemeral: {port: 8443, files: [{source: a, target: /a, mode: -1}]}\n", `ephemeral.files[0].mode`},
	}
	for _, c := range cases {
		_, err := Parse("x.yaml", []byte(c.yaml))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q:\n got  %v\n want …%s…", c.yaml, err, c.want)
		}
	}
}

// Every problem in one pass, in file order, each with file:line: a bad
// duration or an unknown key no longer hides the problems after it.
func TestEveryProblemInOnePass(t *testing.T) {
	y := `app: q
service:
  url: https://q.test:99999
  bogus: 1
nodes:
  - {name: "", address: 127.0.0.2}
technical:
  health: {path: /health, status: 0}
  version: {path: /version, json: " "}
  latency: {p95: 90}
settle: {timeout: -5s}
suites: [quote, ""]
`
	_, err := Parse("six.yaml", []byte(y))
	es, ok := err.(Errors)
	if !ok {
		t.Fatalf("want Errors, got %T %v", err, err)
	}
	want := []string{
		`six.yaml:3: service.url: "https://q.test:99999": port 99999 is not a TCP port`,
		`six.yaml:4: unknown key "bogus" in service`,
		`six.yaml:6: nodes[0].name: empty value`,
		`six.yaml:8: technical.health.status: 0 is not an HTTP status`,
		`six.yaml:9: technical.version.json: blank value " "`,
		`six.yaml:10: bad duration "90"`,
		`six.yaml:11: duration "-5s" is negative`,
		`six.yaml:12: suites[1]: empty value`,
	}
	if len(es) != len(want) {
		t.Errorf("got %d problems, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if i >= len(es) || !strings.HasPrefix(es[i].Error(), w) {
			t.Errorf("problem %d: want %s…\n got all:\n%v", i+1, w, err)
			break
		}
	}
}
