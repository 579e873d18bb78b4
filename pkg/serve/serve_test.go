package serve

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/piv-gate/piv/pkg/gate"
)

// These tests drive the server with real child processes: small shell
// scripts standing where `piv run` stands, each behaving as one exit-code
// case of the contract (DESIGN.md), so the mapping is proven for outputs a
// real piv only produces when something is broken. cli/serve_test.go runs
// the real piv against a real fleet.

func gateJSON(v gate.Verdict) string {
	b, _ := json.Marshal(gate.Result{Schema: gate.Schema, RunID: "r1", App: "quote", Verdict: v, Target: gate.Target{Scope: "node", Node: "app-02"},
		Checks: []gate.Check{{Name: "technical ports", State: gate.Passed, Blocking: true, Labels: []string{"technical"}}}})
	return string(b)
}

// child writes an executable script that prints stdout and exits code.
func child(t *testing.T, script string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "piv")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func newTestServer(t *testing.T, exe string, mod func(*Options)) (*Server, *httptest.Server, string) {
	t.Helper()
	out := t.TempDir()
	o := Options{Exe: exe, ConfigDir: t.TempDir(), ReportsDir: out, Token: []byte("tok-123"), MaxConcurrent: 2,
		MaxBody: 1024, RunTimeout: time.Minute, KillGrace: 5 * time.Second}
	if mod != nil {
		mod(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(func() { hs.Close(); s.Interrupt(); s.Wait() })
	return s, hs, out
}

func post(t *testing.T, url, token, body string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// errorOf is the message of an {"error": ...} answer.
func errorOf(body string) string {
	var e struct{ Error string }
	if json.Unmarshal([]byte(body), &e) != nil {
		return ""
	}
	return e.Error
}

const nodeGate = `{"app":"quote","node":"app-02","expectVersion":"2.4.1"}`

func TestChildExitCodesMapExactly(t *testing.T) {
	cases := []struct {
		name, script string
		status       int
		verdict      gate.Verdict
		reason       string
	}{
		{"pass", "echo '" + gateJSON(gate.Pass) + "'; exit 0", 200, gate.Pass, ""},
		{"fail", "echo '" + gateJSON(gate.Fail) + "'; exit 1", 200, gate.Fail, ""},
		{"inconclusive", "echo '" + gateJSON(gate.Inconclusive) + "'; exit 3", 200, gate.Inconclusive, ""},
		{"exit 0 but not gate.json", "echo 'all good'; exit 0", 200, gate.Inconclusive, "not gate.json"},
		{"exit 0 but verdict fail", "echo '" + gateJSON(gate.Fail) + "'; exit 0", 200, gate.Inconclusive, "disagrees"},
		{"exit 1 but verdict pass", "echo '" + gateJSON(gate.Pass) + "'; exit 1", 200, gate.Inconclusive, "disagrees"},
		{"no output", "exit 0", 200, gate.Inconclusive, "not gate.json"},
		{"unknown exit code", "echo '" + gateJSON(gate.Pass) + "'; exit 7", 200, gate.Inconclusive, "exit 7"},
		{"killed by a signal", "echo '" + gateJSON(gate.Pass) + "'; kill -9 $$", 200, gate.Inconclusive, "killed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, hs, out := newTestServer(t, child(t, c.script), nil)
			status, h, body := post(t, hs.URL+"/v1/gates", "tok-123", nodeGate)
			if status != c.status {
				t.Fatalf("status %d, want %d: %s", status, c.status, body)
			}
			var g gate.Result
			if err := json.Unmarshal([]byte(body), &g); err != nil {
				t.Fatalf("body is not gate.json: %v\n%s", err, body)
			}
			if !regexp.MustCompile(`^gate;desc="piv run";dur=[0-9]+\.[0-9]$`).MatchString(h.Get("Server-Timing")) {
				t.Errorf("Server-Timing %q", h.Get("Server-Timing"))
			}
			if g.Verdict != c.verdict || !strings.Contains(g.Reason, c.reason) || h.Get("X-Piv-Verdict") != string(c.verdict) {
				t.Fatalf("verdict %q reason %q (header %q), want %q containing %q", g.Verdict, g.Reason, h.Get("X-Piv-Verdict"), c.verdict, c.reason)
			}
			// When the server overrode the child, the evidence on disk says
			// what the caller was told (a real piv writes gate.json itself).
			if c.reason != "" {
				files, _ := filepath.Glob(filepath.Join(out, "quote", "*", "gate.json"))
				if len(files) != 1 {
					t.Fatalf("report folders: %v", files)
				}
				b, _ := os.ReadFile(files[0])
				var disk gate.Result
				if err := json.Unmarshal(b, &disk); err != nil || disk.Verdict != gate.Inconclusive {
					t.Fatalf("gate.json on disk says %q (%v) where the server answered inconclusive", disk.Verdict, err)
				}
			}
		})
	}
}

// A child that writes its gate.json is the canonical case; the synthesized
// cases above write theirs. Exit 2 is a usage error: 400 with the child's
// message, no verdict.
func TestChildUsageErrorIs400WithItsMessage(t *testing.T) {
	_, hs, out := newTestServer(t, child(t, `echo 'piv: --label-filter "((": syntax error' >&2; exit 2`), nil)
	status, _, body := post(t, hs.URL+"/v1/gates", "tok-123", nodeGate)
	if status != 400 || body != `{"error":"--label-filter \"((\": syntax error"}`+"\n" {
		t.Fatalf("%d %s", status, body)
	}
	if d, _ := filepath.Glob(filepath.Join(out, "quote", "*")); len(d) != 0 {
		t.Fatalf("report folder left for a request that ran nothing: %v", d)
	}
}

func TestGateThatCannotStartIsInconclusive(t *testing.T) {
	_, hs, out := newTestServer(t, filepath.Join(t.TempDir(), "no-such-piv"), nil)
	status, _, body := post(t, hs.URL+"/v1/gates", "tok-123", nodeGate)
	var g gate.Result
	if status != 200 || json.Unmarshal([]byte(body), &g) != nil || g.Verdict != gate.Inconclusive || !strings.Contains(g.Reason, "could not start") {
		t.Fatalf("%d %s", status, body)
	}
	if files, _ := filepath.Glob(filepath.Join(out, "quote", "*", "gate.json")); len(files) != 1 {
		t.Fatalf("no gate.json kept: %v", files)
	}
	// Flagger: anything but a pass is non-2xx.
	status, _, body = post(t, hs.URL+"/v1/flagger", "tok-123", `{"name":"quote","namespace":"prod","phase":"Progressing","metadata":{"app":"quote","node":"app-02","version":"2.4.1"}}`)
	if status != http.StatusServiceUnavailable || !strings.HasPrefix(body, "INCONCLUSIVE: the gate could not start") {
		t.Fatalf("flagger: %d %s", status, body)
	}
}

// The child gets exactly the flags the request asked for, every value in
// --flag=value form.
func TestChildArguments(t *testing.T) {
	argsFile := filepath.Join(t.TempDir(), "args")
	exe := child(t, `for a in "$@"; do printf '%s\n' "$a"; done > `+argsFile+`; echo '`+gateJSON(gate.Pass)+`'`)
	rem := t.TempDir()
	os.WriteFile(filepath.Join(rem, "CHG-1.yaml"), nil, 0o644)
	s, hs, out := newTestServer(t, exe, func(o *Options) { o.RemediationsDir = rem })
	status, _, body := post(t, hs.URL+"/v1/gates", "tok-123", `{"app":"quote","scope":"service","expectVersion":"--config=/etc","labelFilter":"technical && !browser","remediation":"CHG-1.yaml"}`)
	if status != 200 {
		t.Fatalf("%d %s", status, body)
	}
	b, _ := os.ReadFile(argsFile)
	dirs, _ := filepath.Glob(filepath.Join(out, "quote", "*"))
	if len(dirs) != 1 {
		t.Fatalf("report dirs %v", dirs)
	}
	want := strings.Join([]string{"run", "quote", "--service", "--expect-version=--config=/etc", "--label-filter=technical && !browser",
		"--remediation=" + filepath.Join(rem, "CHG-1.yaml"), "--format=json", "--out=" + dirs[0], "--timeout=1m0s", "--config=" + s.opt.ConfigDir}, "\n") + "\n"
	if string(b) != want {
		t.Fatalf("child args:\n%s\nwant:\n%s", b, want)
	}
}

func TestRequestsRefusedBeforeAnyChild(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "ran")
	_, hs, out := newTestServer(t, child(t, "touch "+marker+"; echo '"+gateJSON(gate.Pass)+"'"), nil)
	big := `{"app":"quote","node":"app-02","expectVersion":"` + strings.Repeat("9", 2000) + `"}`
	cases := []struct {
		name, token, body string
		status            int
		msg               string
	}{
		{"no token", "", nodeGate, 401, "bearer token"},
		{"wrong token", "tok-124", nodeGate, 401, "bearer token"},
		{"token prefix", "tok-12", nodeGate, 401, "bearer token"},
		{"oversized", "tok-123", big, 413, "larger than 1024 bytes"},
		{"malformed", "tok-123", `{"app":"quote",`, 400, "malformed JSON body"},
		{"not an object", "tok-123", `["quote"]`, 400, "malformed JSON body"},
		{"null", "tok-123", `null`, 400, "want an object"},
		{"two values", "tok-123", nodeGate + nodeGate, 400, "more than one JSON value"},
		{"unknown field", "tok-123", `{"app":"quote","node":"app-02","expectedVersion":"2.4.1"}`, 400, `unknown field "expectedVersion"`},
		{"empty node", "tok-123", `{"app":"quote","node":"","expectVersion":"2.4.1"}`, 400, `field "node" is empty`},
		{"null node", "tok-123", `{"app":"quote","node":null}`, 400, `field "node" must be a string`},
		{"number", "tok-123", `{"app":"quote","node":2}`, 400, `field "node" must be a string`},
		{"no target", "tok-123", `{"app":"quote","expectVersion":"2.4.1"}`, 400, "say which target"},
		{"bad scope", "tok-123", `{"app":"quote","scope":"all"}`, 400, `scope "all": want service or fleet`},
		{"node and service", "tok-123", `{"app":"quote","node":"app-02","scope":"service"}`, 400, "scope node"},
		{"no app", "tok-123", `{"node":"app-02"}`, 400, `"app" is required`},
		{"flag as app", "tok-123", `{"app":"--config=/etc","node":"app-02"}`, 400, "not an app name"},
		{"flag as node", "tok-123", `{"app":"quote","node":"-x"}`, 400, "not a node name"},
		{"newline", "tok-123", `{"app":"quote","node":"app-02","labelFilter":"a\nb"}`, 400, "control characters"},
		{"remediation path", "tok-123", `{"app":"quote","node":"app-02","remediation":"../../etc/passwd"}`, 400, "not a path"},
		{"remediation without folder", "tok-123", `{"app":"quote","node":"app-02","remediation":"CHG-1.yaml"}`, 400, "no --remediations folder"},
	}
	for _, c := range cases {
		status, h, body := post(t, hs.URL+"/v1/gates", c.token, c.body)
		if status != c.status || !strings.Contains(errorOf(body), c.msg) {
			t.Errorf("%s: %d %s, want %d containing %q", c.name, status, body, c.status, c.msg)
		}
		if status == 401 && h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: 401 without WWW-Authenticate", c.name)
		}
		if strings.Contains(body, "tok-123") {
			t.Errorf("%s: the token is in the answer", c.name)
		}
	}
	// A wrong scheme is no token either.
	req, _ := http.NewRequest("POST", hs.URL+"/v1/gates", strings.NewReader(nodeGate))
	req.Header.Set("Authorization", "Basic tok-123")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("Basic auth: %v %v", resp, err)
	}
	// A body that claims no length and streams past the bound.
	req, _ = http.NewRequest("POST", hs.URL+"/v1/gates", io.MultiReader(strings.NewReader(`{"app":"`), bytes.NewReader(bytes.Repeat([]byte("a"), 4096))))
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer tok-123")
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 413 {
		t.Errorf("chunked oversized: %v %v", resp, err)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a child ran for a refused request")
	}
	if e, _ := os.ReadDir(out); len(e) != 0 {
		t.Fatalf("report folders made for refused requests: %v", e)
	}
}

func TestFlaggerPayloads(t *testing.T) {
	_, hs, _ := newTestServer(t, child(t, `case "$*" in *app-03*) echo '`+gateJSON(gate.Fail)+`'; exit 1;; esac; echo '`+gateJSON(gate.Pass)+`'`), nil)
	payload := func(node string) string {
		return `{"name":"quote","namespace":"prod","phase":"Progressing","checksum":"6d8f9c","metadata":{"app":"quote","node":"` + node + `","version":"2.4.1"}}`
	}
	if status, _, body := post(t, hs.URL+"/v1/flagger", "tok-123", payload("app-02")); status != 200 || !strings.HasPrefix(body, "PASS (canary prod/quote, phase Progressing, run r1)") {
		t.Fatalf("pass: %d %s", status, body)
	}
	if status, _, body := post(t, hs.URL+"/v1/flagger", "tok-123", payload("app-03")); status != 412 || !strings.HasPrefix(body, "FAIL") {
		t.Fatalf("fail: %d %s", status, body)
	}
	for _, c := range []struct{ body, msg string }{
		{`{"name":"podinfo","namespace":"test","phase":"Progressing","metadata":{"test":"all","token":"16688eb5e9f289f1991c"}}`, `unknown metadata key "test"`},
		{`{"name":"quote","namespace":"prod","phase":"Progressing"}`, "no metadata"},
		{`{"name":"quote","namespace":"prod","metadata":{"app":"quote","node":"app-02","version":""}}`, `metadata key "version" is empty`},
		{`{"name":"quote","namespace":"prod","metadata":{"app":"quote","version":"2.4.1"}}`, "say which target"},
	} {
		if status, _, body := post(t, hs.URL+"/v1/flagger", "tok-123", c.body); status != 400 || !strings.Contains(errorOf(body), c.msg) {
			t.Errorf("%s: %d %s, want 400 with %q", c.body, status, body, c.msg)
		}
	}
	if status, _, _ := post(t, hs.URL+"/v1/flagger", "", payload("app-02")); status != 401 {
		t.Fatalf("no token: %d", status)
	}
}

// Flagger cannot send headers: with --flagger-metadata-token the token may
// ride in the metadata, compared like the header's.
func TestFlaggerMetadataToken(t *testing.T) {
	_, hs, _ := newTestServer(t, child(t, `echo '`+gateJSON(gate.Pass)+`'`), func(o *Options) { o.FlaggerMetadataToken = "token" })
	body := func(tok string) string {
		return `{"name":"quote","namespace":"prod","phase":"Progressing","metadata":{"app":"quote","node":"app-02","version":"2.4.1","token":"` + tok + `"}}`
	}
	if status, _, b := post(t, hs.URL+"/v1/flagger", "", body("tok-123")); status != 200 {
		t.Fatalf("metadata token: %d %s", status, b)
	}
	if status, _, _ := post(t, hs.URL+"/v1/flagger", "", body("wrong")); status != 401 {
		t.Fatalf("wrong metadata token: %d", status)
	}
	// /v1/gates still needs the header.
	if status, _, _ := post(t, hs.URL+"/v1/gates", "", nodeGate); status != 401 {
		t.Fatalf("gates without header: %d", status)
	}
}

func TestMethodsAndHealth(t *testing.T) {
	_, hs, _ := newTestServer(t, child(t, "exit 0"), nil)
	resp, err := http.Get(hs.URL + "/v1/gates")
	if err != nil || resp.StatusCode != 405 || resp.Header.Get("Allow") != "POST" {
		t.Fatalf("GET /v1/gates: %v %v", resp, err)
	}
	resp, err = http.Get(hs.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
}

func TestOptionsValidated(t *testing.T) {
	base := Options{Exe: "piv", ConfigDir: "c", ReportsDir: "r", MaxConcurrent: 1, MaxBody: 1, RunTimeout: time.Second, KillGrace: time.Second}
	for name, mod := range map[string]func(*Options){
		"no exe": func(o *Options) { o.Exe = "" }, "no slots": func(o *Options) { o.MaxConcurrent = 0 },
		"no body": func(o *Options) { o.MaxBody = 0 }, "no timeout": func(o *Options) { o.RunTimeout = 0 },
	} {
		o := base
		mod(&o)
		if _, err := New(o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := New(base); err != nil {
		t.Fatal(err)
	}
}

// Per-target and global limits with children held on FIFOs: opening a FIFO
// for writing returns once the child has opened it for reading, so the test
// knows a gate is running without any timing; closing it lets the child end.
func TestLimitsWithHeldChildren(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"app-01", "app-02"} {
		if err := syscall.Mkfifo(filepath.Join(dir, n), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	exe := child(t, `for a; do case $a in --node=*) n=${a#--node=};; esac; done; cat "`+dir+`/$n" >/dev/null; echo '`+gateJSON(gate.Pass)+`'`)
	s, hs, _ := newTestServer(t, exe, nil) // MaxConcurrent 2
	type result struct {
		status int
		body   string
	}
	start := func(node string) (chan result, *os.File) {
		ch := make(chan result, 1)
		go func() {
			st, _, b := post(t, hs.URL+"/v1/gates", "tok-123", `{"app":"quote","node":"`+node+`"}`)
			ch <- result{st, b}
		}()
		w, err := os.OpenFile(filepath.Join(dir, node), os.O_WRONLY, 0) // returns once the child reads
		if err != nil {
			t.Fatal(err)
		}
		return ch, w
	}
	a1, w1 := start("app-01")
	if st, _, b := post(t, hs.URL+"/v1/gates", "tok-123", `{"app":"quote","node":"app-01"}`); st != 409 {
		t.Fatalf("same target: %d %s", st, b)
	}
	a2, w2 := start("app-02")
	st, h, b := post(t, hs.URL+"/v1/gates", "tok-123", `{"app":"quote","node":"app-03"}`)
	if st != 503 || h.Get("Retry-After") != "6" {
		t.Fatalf("over the limit: %d %v %s", st, h, b)
	}
	if v := testutilGauge(t, s); v != 2 {
		t.Fatalf("running gauge %v", v)
	}
	w1.Close()
	w2.Close()
	for _, ch := range []chan result{a1, a2} {
		if r := <-ch; r.status != 200 || !strings.Contains(r.body, `"verdict":"pass"`) {
			t.Fatalf("held gate: %d %s", r.status, r.body)
		}
	}
	s.Wait()
}

func testutilGauge(t *testing.T, s *Server) float64 {
	t.Helper()
	mf, err := s.m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range mf {
		if f.GetName() == "piv_gates_running" {
			return f.Metric[0].GetGauge().GetValue()
		}
	}
	t.Fatal("no piv_gates_running")
	return 0
}
