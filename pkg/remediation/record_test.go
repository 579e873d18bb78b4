package remediation

import (
	"strings"
	"testing"
	"time"
)

const goodRecord = `remediation: CHG-2026-0412
cves: [CVE-2026-1234]
detected: 2026-11-28T09:00:00Z
exposure: external
apps: [quote]
fixed:
  components:
    - { name: openssl, path: /version, json: components.openssl, version: ">= 3.0.15" }
  tls: { refuse: ["1.0", "1.1"] }
  headers: { Strict-Transport-Security: present }
  refused: [ { path: /debug/vars, status: [401, 403, 404] } ]
`

func TestRemediationRecordParses(t *testing.T) {
	r, err := Parse("rec.yaml", []byte(goodRecord))
	if err != nil {
		t.Fatal(err)
	}
	if r.ID != "CHG-2026-0412" || !r.DetectedAt.Equal(time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)) || !r.HasApp("quote") {
		t.Fatalf("record: %+v", r)
	}
	var keys []string
	for _, it := range r.Items() {
		keys = append(keys, it.Key)
	}
	want := "component openssl|tls 1.0|tls 1.1|header Strict-Transport-Security|refused /debug/vars"
	if got := strings.Join(keys, "|"); got != want {
		t.Fatalf("items %q, want %q", got, want)
	}
	if d, _, err := r.SLAFor(""); err != nil || d != 5*24*time.Hour {
		t.Fatalf("SLA %v %v, want 120h", d, err)
	}
}

func TestRemediationRecordErrorsHaveFileLine(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown key", strings.Replace(goodRecord, "exposure: external", "exposur: external", 1), `rec.yaml:4: unknown key "exposur"`},
		{"unknown key in component", strings.Replace(goodRecord, "json: components.openssl", "jsn: components.openssl", 1), `rec.yaml:8: unknown key "jsn"`},
		{"bad detected", strings.Replace(goodRecord, "2026-11-28T09:00:00Z", "28/11/2026", 1), `rec.yaml:3: detected: "28/11/2026": want RFC 3339`},
		{"bad exposure", strings.Replace(goodRecord, "exposure: external", "exposure: public", 1), `rec.yaml:4: exposure: "public"`},
		{"bad semver constraint", strings.Replace(goodRecord, `">= 3.0.15"`, `">= 1:3.0.11-1~deb12u2"`, 1), `rec.yaml:8: fixed.components[0].version: ">= 1:3.0.11-1~deb12u2" is not a semver constraint`},
		{"bad tls version", strings.Replace(goodRecord, `"1.0", "1.1"`, `"1.0", "1.4"`, 1), `rec.yaml:9: fixed.tls.refuse[1]: "1.4"`},
		{"no apps", strings.Replace(goodRecord, "apps: [quote]\n", "", 1), `rec.yaml:1: apps: missing`},
		{"bad cve", strings.Replace(goodRecord, "CVE-2026-1234", "CVE-26-1", 1), `rec.yaml:2: cves[0]: "CVE-26-1"`},
		{"refused 200", strings.Replace(goodRecord, "[401, 403, 404]", "[200]", 1), `rec.yaml:11: fixed.refused[0].status[0]: 200 is not a refusal`},
		{"nothing to check", "remediation: X\ndetected: 2026-11-28T09:00:00Z\napps: [quote]\nfixed: {}\n", `rec.yaml:4: fixed: nothing to check`},
		{"no version source", strings.Replace(goodRecord, "json: components.openssl, ", "", 1), `rec.yaml:8: fixed.components[0]: give json`},
		{"bad sla", strings.Replace(goodRecord, "exposure: external", "sla: soon", 1), `rec.yaml:4: sla: "soon"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("rec.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestRemediationSLAOverrideAndAppExposure(t *testing.T) {
	r, err := Parse("rec.yaml", []byte(strings.Replace(goodRecord, "exposure: external", "sla: 3d", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if d, _, _ := r.SLAFor("internal"); d != 72*time.Hour {
		t.Fatalf("sla 3d gave %v", d)
	}
	r, err = Parse("rec.yaml", []byte(strings.Replace(goodRecord, "exposure: external\n", "", 1)))
	if err != nil {
		t.Fatal(err)
	}
	if d, _, _ := r.SLAFor("internal"); d != 30*24*time.Hour {
		t.Fatalf("app exposure internal gave %v", d)
	}
	if _, _, err := r.SLAFor(""); err == nil || !strings.Contains(err.Error(), "rec.yaml:1: no exposure") {
		t.Fatalf("no exposure anywhere: %v", err)
	}
}

func TestRemediationVersionSchemes(t *testing.T) {
	cases := []struct {
		scheme, constraint, seen string
		ok                       bool
	}{
		{"semver", ">= 3.0.15", "3.0.15", true},
		{"semver", ">= 3.0.15", "3.0.9", false}, // numeric, not string order
		{"semver", ">= 3.0.15", "3.1.0", true},
		{"semver", ">= 3.0.15", "3.0.15-rc1", false}, // a pre-release is before the release
		{"semver", ">= 2.42.0", "2.42.0+ds", true},   // build metadata ignored
		{"semver", ">= 1.2.3, < 2", "2.0.0", false},
		{"debian", ">= 1:3.0.11-1~deb12u2", "1:3.0.11-1~deb12u2", true},
		{"debian", ">= 1:3.0.11-1~deb12u2", "1:3.0.11-1~deb12u1", false},
		{"debian", ">= 1:3.0.11-1~deb12u2", "3.0.15-1", false},   // no epoch is epoch 0: older
		{"debian", ">= 1:3.0.11-1", "1:3.0.11-1~deb12u2", false}, // ~ sorts before the release
		{"debian", ">= 2.42.0", "2.42.0+ds", true},               // +ds repack sorts after
		{"debian", ">> 2.42.0+ds", "2.42.0+ds-1", true},          // a revision after it
		{"debian", ">= 2.42.0+ds", "2.42.0", false},
		{"debian", ">= 1:3.0.11-1~deb12u2, << 1:3.1", "1:3.0.15-1~deb12u1", true},
	}
	for _, c := range cases {
		k, err := ParseConstraint(c.scheme, c.constraint)
		if err != nil {
			t.Fatalf("%s %q: %v", c.scheme, c.constraint, err)
		}
		ok, err := k.Check(c.seen)
		if err != nil || ok != c.ok {
			t.Errorf("%s: %q satisfies %q = %v (err %v), want %v", c.scheme, c.seen, c.constraint, ok, err, c.ok)
		}
	}
	k, _ := ParseConstraint("semver", ">= 1.0.0")
	if ok, err := k.Check("not-a-version"); ok || err == nil {
		t.Fatalf("unreadable version passed: %v %v", ok, err)
	}
	if ok, err := k.Check(""); ok || err == nil {
		t.Fatalf("empty version passed: %v %v", ok, err)
	}
}
