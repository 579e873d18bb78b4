package verify

import (
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/config"
	"github.com/piv-gate/piv/pkg/probe"
)

// A document with a repeated key means one thing to gjson (the first value)
// and another to encoding/json and JSON.parse (the last). Whichever order the
// node writes them in, the answer is not a valid one.

func TestHealthRefusesDuplicateKeys(t *testing.T) {
	h := &config.Health{Path: "/health", Status: 200, JSON: config.Expectations{{Path: "status", Want: "UP"}, {Path: "checks.db", Want: "UP"}}}
	cases := []struct{ name, body, want string }{
		{"UP first", `{"status":"UP","checks":{"db":"UP"},"status":"DOWN","checks":{"db":"DOWN"}}`, `duplicate key "status" at the top level`},
		{"DOWN first", `{"status":"DOWN","checks":{"db":"DOWN"},"status":"UP","checks":{"db":"UP"}}`, `duplicate key "status" at the top level`},
		{"nested", `{"status":"UP","checks":{"db":"UP","db":"DOWN"}}`, `duplicate key "db" at checks`},
		{"escaped spelling", `{"status":"UP","checks":{"db":"UP"},"st\u0061tus":"DOWN"}`, `duplicate key "status" at the top level`},
		{"outside the judged paths", `{"status":"UP","checks":{"db":"UP"},"extra":[{"x":1,"x":2}]}`, `duplicate key "x" at extra.0`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tg := serve(t, answer("application/json", c.body))
			f := get(t, tg, "/health")
			err := Health(f, h, tg)
			if err == nil {
				t.Fatal("passed")
			}
			for _, w := range []string{c.want, "GET /health on node app-01", "body: " + c.body} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("failure lacks %q:\n%v", w, err)
				}
			}
			// The observation does not report values read out of an
			// ambiguous document; it says why.
			obs := f.Observed("status", "checks.db")
			if _, ok := obs["json"]; ok {
				t.Errorf("observed json values of an ambiguous body: %v", obs)
			}
			if got, _ := obs["jsonDuplicateKey"].(string); !strings.HasPrefix(got, c.want) {
				t.Errorf("observed jsonDuplicateKey %q, want %q…", got, c.want)
			}
		})
	}
}

func TestVersionRefusesDuplicateKeys(t *testing.T) {
	v := &config.Version{Path: "/version", JSON: "version"}
	for _, body := range []string{`{"version":"2.4.1","version":"1.0.0"}`, `{"version":"1.0.0","version":"2.4.1"}`} {
		tg := serve(t, answer("application/json", body))
		got, err := Version(get(t, tg, "/version"), v, "2.4.1", tg)
		if err == nil || got != "" || !strings.Contains(err.Error(), `duplicate key "version" at the top level`) {
			t.Errorf("%s: got %q, %v", body, got, err)
		}
		// Without --expect-version too: no version is read from it.
		got, err = Version(get(t, tg, "/version"), v, "", tg)
		if err == nil || got != "" {
			t.Errorf("%s (no expected version): got %q, %v", body, got, err)
		}
	}
}

func TestLatencySampleWithDuplicateKeysDoesNotCount(t *testing.T) {
	tech := config.Technical{Health: health, Latency: &config.Latency{Path: "/health", Samples: 3, P95: config.Duration(60e9)}}
	tg := serve(t, answer("application/json", `{"status":"UP","status":"DOWN"}`))
	accept := func(h probe.HTTPFact) string { return LatencyAnswer(h, tech, tg) }
	f := probe.Latency(t.Context(), tg.HTTPClient(nil), tg.URLFor("/health"), 3, probe.Timeouts{}, accept)
	if err := Latency(f, tech.Latency, tg); err == nil || !strings.Contains(err.Error(), `duplicate key "status"`) {
		t.Fatalf("%v", err)
	}
}
