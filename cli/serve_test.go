package cli

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v3"

	"github.com/piv-gate/piv/internal/fleettest"
	"github.com/piv-gate/piv/pkg/gate"
)

// serveBound bounds every wait in these tests: a hung server fails the test
// instead of hanging it. It is a bound, not a timing assertion.
const serveBound = 90 * time.Second

// pivServe is a running `piv serve` process.
type pivServe struct {
	cmd           *exec.Cmd
	url, token    string
	out           string // reports folder
	mu            sync.Mutex
	stderr        bytes.Buffer
	exited        chan struct{}
	waitErr       error
	tokenInStderr bool
}

type serveOpts struct {
	bin     string // default pivBin
	noToken bool   // --insecure-no-auth instead of --token-file
	extra   []string
}

// serveFleet is a demo fleet whose quote definition runs the technical PIV
// only (no functional suites: the browser journeys are not what these tests
// are about), with app-03 running the wrong version, and a second app,
// "hold", whose one spec holds until the test lets it go (hold listener).
func serveFleet(t *testing.T) (*fleettest.Fleet, net.Listener) {
	t.Helper()
	f := fleettest.Three(t, func(i int, s *fleettest.Spec) {
		if s.Name == "app-03" {
			s.Version = "2.4.0"
		}
	})
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { hold.Close() })
	q := strings.Replace(f.YAML(""), "suites: [quote]\n", "", 1)
	h := strings.Replace(f.YAML(fmt.Sprintf("settings: { hold: %q }\n", hold.Addr().String())), "suites: [quote]", "suites: [servehold]", 1)
	h = strings.Replace(h, "app: quote", "app: hold", 1)
	for name, y := range map[string]string{"quote.yaml": q, "hold.yaml": h} {
		if err := os.WriteFile(filepath.Join(f.Dir, name), []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return f, hold
}

func startServe(t *testing.T, f *fleettest.Fleet, o serveOpts) *pivServe {
	t.Helper()
	if o.bin == "" {
		o.bin = pivBin
	}
	b := make([]byte, 16)
	rand.Read(b)
	s := &pivServe{token: "piv-serve-test-" + hex.EncodeToString(b), out: t.TempDir(), exited: make(chan struct{})}
	args := []string{"serve", "--listen", "127.0.0.1:0", "--config", f.Dir, "--out", s.out}
	if !slices.Contains(o.extra, "--timeout") {
		args = append(args, "--timeout", "60s") // each flag once: a repeated flag is a usage error
	}
	if o.noToken {
		args = append(args, "--insecure-no-auth")
		s.token = ""
	} else {
		tf := filepath.Join(t.TempDir(), "token")
		if err := os.WriteFile(tf, []byte(s.token+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--token-file", tf)
	}
	s.cmd = exec.Command(o.bin, append(args, o.extra...)...)
	pr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.stderr.WriteString(line + "\n")
			if s.token != "" && strings.Contains(line, s.token) {
				s.tokenInStderr = true
			}
			s.mu.Unlock()
			if u, ok := strings.CutPrefix(line, "piv serve: listening on "); ok {
				urls <- u
			}
		}
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			s.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-s.exited:
			case <-time.After(serveBound):
				s.cmd.Process.Kill()
				t.Errorf("piv serve did not stop on SIGTERM:\n%s", s.log())
			}
		}
		if s.tokenInStderr {
			t.Errorf("the token appeared in piv serve's log")
		}
	})
	select {
	case s.url = <-urls:
	case <-s.exited:
		t.Fatalf("piv serve exited: %v\n%s", s.waitErr, s.log())
	case <-time.After(serveBound):
		t.Fatalf("piv serve did not listen:\n%s", s.log())
	}
	return s
}

func (s *pivServe) log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stderr.String()
}

type answer struct {
	status int
	header http.Header
	body   string
}

var serveClient = &http.Client{Timeout: serveBound}

func (s *pivServe) do(t *testing.T, req *http.Request) answer {
	t.Helper()
	resp, err := serveClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", req.Method, req.URL, err, s.log())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

// post sends body with the server's token (token "" : none).
func (s *pivServe) post(t *testing.T, path, token, body string) answer {
	t.Helper()
	req, _ := http.NewRequest("POST", s.url+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	return s.do(t, req)
}

func (a answer) gate(t *testing.T) *gate.Result {
	t.Helper()
	var g gate.Result
	if err := json.Unmarshal([]byte(a.body), &g); err != nil {
		t.Fatalf("answer is not gate.json (%d): %v\n%s", a.status, err, a.body)
	}
	return &g
}

func (a answer) errorMsg() string {
	var e struct{ Error string }
	json.Unmarshal([]byte(a.body), &e)
	return e.Error
}

// reportDirs are the gate folders under the server's --out.
func (s *pivServe) reportDirs(t *testing.T) []string {
	dirs, _ := filepath.Glob(filepath.Join(s.out, "*", "*"))
	return dirs
}

// keptGate is the gate.json kept on disk for runID.
func (s *pivServe) keptGate(t *testing.T, runID string) *gate.Result {
	t.Helper()
	for _, d := range s.reportDirs(t) {
		if g := readGate(t, d); g != nil && g.RunID == runID {
			return g
		}
	}
	t.Fatalf("no gate.json with run id %q kept under %s (folders %v)", runID, s.out, s.reportDirs(t))
	return nil
}

func (s *pivServe) metrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := serveClient.Get(s.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse: %v", err)
	}
	return mf
}

// sample is the value of the series of family name with exactly labels;
// ok false when there is none.
func sample(mf map[string]*dto.MetricFamily, name string, labels map[string]string) (float64, bool) {
	f := mf[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		match := len(m.Label) == len(labels)
		for _, l := range m.Label {
			match = match && labels[l.GetName()] == l.GetValue()
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for {
		var d map[string]any
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			return docs
		} else if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

func dig(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			l, _ := v.([]any)
			if k >= len(l) {
				return nil
			}
			v = l[k]
		}
	}
	return v
}

// argoRequest is the request Argo Rollouts sends for the piv-gate metric of
// examples/argo-rollouts/analysis-template.yaml, with the args substituted
// as Argo does when it creates the AnalysisRun: method, URL path, headers
// and jsonBody (sent as JSON with Content-Type application/json).
func argoRequest(t *testing.T, base string, args map[string]string) *http.Request {
	t.Helper()
	var web map[string]any
	var metric map[string]any
	for _, d := range yamlDocs(t, "../examples/argo-rollouts/analysis-template.yaml") {
		if dig(d, "kind") == "AnalysisTemplate" && dig(d, "metadata", "name") == "piv-gate" {
			metric, _ = dig(d, "spec", "metrics", 0).(map[string]any)
			web, _ = dig(metric, "provider", "web").(map[string]any)
		}
	}
	if web == nil {
		t.Fatal("no web provider in the piv-gate AnalysisTemplate")
	}
	// The conditions that let Argo tell the three verdicts apart.
	if metric["successCondition"] != `result == "pass"` || metric["failureCondition"] != `result == "fail"` || web["jsonPath"] != "{$.verdict}" {
		t.Fatalf("AnalysisTemplate conditions: %v %v %v", metric["successCondition"], metric["failureCondition"], web["jsonPath"])
	}
	subst := func(s string) string {
		for k, v := range args {
			s = strings.ReplaceAll(s, "{{ args."+k+" }}", v)
		}
		if strings.Contains(s, "{{") {
			t.Fatalf("unsubstituted placeholder in %q", s)
		}
		return s
	}
	body := map[string]string{}
	for k, v := range web["jsonBody"].(map[string]any) {
		body[k] = subst(v.(string))
	}
	jb, _ := json.Marshal(body)
	u := web["url"].(string)
	path := u[strings.Index(u[len("http://"):], "/")+len("http://"):]
	req, err := http.NewRequest(web["method"].(string), base+path, bytes.NewReader(jb))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range web["headers"].([]any) {
		hm := h.(map[string]any)
		req.Header.Set(hm["key"].(string), subst(hm["value"].(string)))
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}

// flaggerPayload is what Flagger POSTs for the piv-gate webhook of
// examples/flagger/canary.yaml (CanaryWebhookPayload: name, namespace,
// phase, checksum, metadata), with the metadata's node and token set.
func flaggerPayload(t *testing.T, node, token string) string {
	t.Helper()
	for _, d := range yamlDocs(t, "../examples/flagger/canary.yaml") {
		if dig(d, "kind") != "Canary" {
			continue
		}
		hooks, _ := dig(d, "spec", "analysis", "webhooks").([]any)
		for _, h := range hooks {
			if dig(h, "name") != "piv-gate" {
				continue
			}
			if dig(h, "type") != "pre-rollout" || !strings.HasSuffix(dig(h, "url").(string), "/v1/flagger") {
				t.Fatalf("webhook %v", h)
			}
			md := map[string]string{}
			for k, v := range dig(h, "metadata").(map[string]any) {
				md[k] = fmt.Sprint(v)
			}
			md["node"], md["token"] = node, token
			b, _ := json.Marshal(map[string]any{"name": dig(d, "metadata", "name"), "namespace": dig(d, "metadata", "namespace"),
				"phase": "Progressing", "checksum": "5f7d8c9b6c", "metadata": md})
			return string(b)
		}
	}
	t.Fatal("no piv-gate webhook in examples/flagger/canary.yaml")
	return ""
}

// Argo Rollouts' web provider, as the example AnalysisTemplate sends it: a
// pass, a fail on the node running the wrong version, and an inconclusive
// gate, each 200 with gate.json, each kept on disk, and counted in /metrics.
func TestServeArgoRolloutsWebProvider(t *testing.T) {
	f, _ := serveFleet(t)
	s := startServe(t, f, serveOpts{})
	argo := func(node string) answer {
		return s.do(t, argoRequest(t, s.url, map[string]string{"app": "quote", "node": node, "version": "2.4.1", "piv-token": s.token}))
	}

	pass := argo("app-02")
	g := pass.gate(t)
	if pass.status != 200 || g.Verdict != gate.Pass || g.Target.Node != "app-02" || g.ExpectedVersion != "2.4.1" || g.ObservedVersion != "2.4.1" {
		t.Fatalf("pass: %d %+v\n%s", pass.status, g, s.log())
	}
	if kept := s.keptGate(t, g.RunID); kept.Verdict != gate.Pass {
		t.Fatalf("kept gate.json says %q", kept.Verdict)
	}

	fail := argo("app-03")
	g = fail.gate(t)
	if fail.status != 200 || g.Verdict != gate.Fail || !strings.Contains(g.Reason, "version") || g.ObservedVersion != "2.4.0" {
		t.Fatalf("fail: %d verdict %q reason %q", fail.status, g.Verdict, g.Reason)
	}
	s.keptGate(t, g.RunID)

	// Nothing selected: inconclusive, never pass.
	inc := s.post(t, "/v1/gates", s.token, `{"app":"quote","node":"app-01","expectVersion":"2.4.1","labelFilter":"technical && browser"}`)
	g = inc.gate(t)
	if inc.status != 200 || g.Verdict != gate.Inconclusive || g.Reason == "" || inc.header.Get("X-Piv-Verdict") != "inconclusive" {
		t.Fatalf("inconclusive: %d %q %q", inc.status, g.Verdict, g.Reason)
	}
	s.keptGate(t, g.RunID)

	mf := s.metrics(t)
	for _, c := range []struct {
		name    string
		labels  map[string]string
		want    float64
		present bool
	}{
		{"piv_gates_total", map[string]string{"app": "quote", "target": "app-02", "verdict": "pass"}, 1, true},
		{"piv_gates_total", map[string]string{"app": "quote", "target": "app-03", "verdict": "fail"}, 1, true},
		{"piv_gates_total", map[string]string{"app": "quote", "target": "app-01", "verdict": "inconclusive"}, 1, true},
		{"piv_gates_total", map[string]string{"app": "quote", "target": "app-02", "verdict": "fail"}, 0, false},
		{"piv_gate_duration_seconds", map[string]string{"app": "quote", "target": "app-02", "verdict": "pass"}, 1, true},
		{"piv_gate_last_verdict", map[string]string{"app": "quote", "target": "app-02", "verdict": "pass"}, 1, true},
		{"piv_gate_last_verdict", map[string]string{"app": "quote", "target": "app-02", "verdict": "fail"}, 0, true},
		{"piv_gate_last_verdict", map[string]string{"app": "quote", "target": "app-03", "verdict": "fail"}, 1, true},
		{"piv_gate_last_verdict", map[string]string{"app": "quote", "target": "app-01", "verdict": "inconclusive"}, 1, true},
		{"piv_gates_running", map[string]string{}, 0, true},
	} {
		v, ok := sample(mf, c.name, c.labels)
		if ok != c.present || v != c.want {
			t.Errorf("%s%v = %v (present %v), want %v (present %v)", c.name, c.labels, v, ok, c.want, c.present)
		}
	}
	if _, ok := sample(mf, "piv_gate_last_timestamp_seconds", map[string]string{"app": "quote", "target": "app-03"}); !ok {
		t.Error("no piv_gate_last_timestamp_seconds for app-03")
	}
}

// Flagger's webhook, as the example Canary makes Flagger send it (the token
// in the metadata, since Flagger cannot send headers): 200 only on pass.
func TestServeFlaggerWebhook(t *testing.T) {
	f, _ := serveFleet(t)
	s := startServe(t, f, serveOpts{extra: []string{"--flagger-metadata-token", "token"}})
	pass := s.post(t, "/v1/flagger", "", flaggerPayload(t, "app-02", s.token))
	if pass.status != 200 || !strings.HasPrefix(pass.body, "PASS (canary prod/quote, phase Progressing, run ") {
		t.Fatalf("pass: %d %s\n%s", pass.status, pass.body, s.log())
	}
	fail := s.post(t, "/v1/flagger", "", flaggerPayload(t, "app-03", s.token))
	if fail.status != http.StatusPreconditionFailed || !strings.HasPrefix(fail.body, "FAIL: ") || !strings.Contains(fail.body, "version") {
		t.Fatalf("fail: %d %s", fail.status, fail.body)
	}
	if a := s.post(t, "/v1/flagger", "", flaggerPayload(t, "app-02", "not-the-token")); a.status != 401 {
		t.Fatalf("wrong metadata token: %d %s", a.status, a.body)
	}
	// Flagger's documented example payload carries none of piv's metadata.
	doc, err := os.ReadFile("testdata/serve/flagger-webhook-doc.json")
	if err != nil {
		t.Fatal(err)
	}
	if a := s.post(t, "/v1/flagger", s.token, string(doc)); a.status != 400 || !strings.Contains(a.errorMsg(), `unknown metadata key "test"`) {
		t.Fatalf("documented payload: %d %s", a.status, a.body)
	}
	if len(s.reportDirs(t)) != 2 {
		t.Fatalf("want the two gates' folders, got %v", s.reportDirs(t))
	}
}

// Unauthenticated, oversized, malformed and wrong requests are refused with
// a clear status and no gate run: no child, no report folder, no gate in
// /metrics. Unknown apps and nodes get `piv run`'s own messages.
func TestServeRefusesBeforeRunning(t *testing.T) {
	f, _ := serveFleet(t)
	s := startServe(t, f, serveOpts{extra: []string{"--max-body", "2048"}})
	good := `{"app":"quote","node":"app-02","expectVersion":"2.4.1"}`
	argoDoc, err := os.ReadFile("testdata/serve/argo-web-doc-body.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, token, body string
		status            int
		msg               string
	}{
		{"no token", "", good, 401, "bearer token"},
		{"wrong token", "piv-serve-test-wrong", good, 401, "bearer token"},
		{"token with a suffix", s.token + "x", good, 401, "bearer token"},
		{"oversized", s.token, `{"app":"quote","node":"app-02","labelFilter":"` + strings.Repeat("technical || ", 200) + `technical"}`, 413, "larger than 2048 bytes"},
		{"malformed", s.token, `{"app": "quote", "node": `, 400, "malformed JSON body"},
		{"Argo's documented example body", s.token, string(argoDoc), 400, `unknown field "key"`},
		{"empty node", s.token, `{"app":"quote","node":"","expectVersion":"2.4.1"}`, 400, `field "node" is empty`},
		{"no target", s.token, `{"app":"quote","expectVersion":"2.4.1"}`, 400, "say which target"},
		{"bad label filter", s.token, `{"app":"quote","node":"app-02","labelFilter":"technical &&"}`, 400, "--label-filter"},
	} {
		a := s.post(t, "/v1/gates", c.token, c.body)
		if a.status != c.status || !strings.Contains(a.errorMsg(), c.msg) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, a.status, a.body, c.status, c.msg)
		}
		if strings.Contains(a.body, s.token) {
			t.Errorf("%s: the token is in the answer", c.name)
		}
	}

	// Unknown node and app: 404 with exactly what `piv run` says.
	for _, c := range []struct{ body, node, app string }{
		{`{"app":"quote","node":"app-09"}`, "app-09", "quote"},
		{`{"app":"claims","scope":"service"}`, "", "claims"},
	} {
		a := s.post(t, "/v1/gates", s.token, c.body)
		args := []string{"run", c.app}
		if c.node != "" {
			args = append(args, "--node", c.node)
		}
		r := pivRun(t, f, nil, args...)
		wantExit(t, r, 2)
		if want := "piv: " + a.errorMsg() + "\n"; a.status != 404 || !strings.HasSuffix(r.stderr, want) {
			t.Errorf("%s: %d %q; piv run said %q", c.body, a.status, a.errorMsg(), r.stderr)
		}
	}

	if d := s.reportDirs(t); len(d) != 0 {
		t.Fatalf("refused requests made report folders: %v", d)
	}
	mf := s.metrics(t)
	if f := mf["piv_gates_total"]; f != nil && len(f.Metric) > 0 {
		t.Fatalf("gates counted for refused requests: %v", f.Metric)
	}
	for reason, want := range map[string]float64{"unauthorized": 3, "too_large": 1, "malformed": 4, "usage": 1, "not_found": 2} {
		if v, _ := sample(mf, "piv_serve_requests_refused_total", map[string]string{"reason": reason}); v != want {
			t.Errorf("refused{reason=%q} = %v, want %v", reason, v, want)
		}
	}
}

// holdGate starts a held gate on node and returns once its spec is running
// (it has dialled the hold listener), with the child's pid and a release.
func holdGate(t *testing.T, s *pivServe, hold net.Listener, node string) (answers chan answer, pid int, release func()) {
	t.Helper()
	answers = make(chan answer, 1)
	go func() {
		req, _ := http.NewRequest("POST", s.url+"/v1/gates", strings.NewReader(`{"app":"hold","node":"`+node+`","labelFilter":"functional"}`))
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := serveClient.Do(req)
		if err != nil {
			answers <- answer{status: -1, body: err.Error()}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		answers <- answer{resp.StatusCode, resp.Header, string(b)}
	}()
	hold.(*net.TCPListener).SetDeadline(time.Now().Add(serveBound))
	c, err := hold.Accept()
	if err != nil {
		t.Fatalf("the held gate on %s never started: %v\n%s", node, err, s.log())
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	pid, _ = strconv.Atoi(strings.TrimSpace(line))
	if err != nil || pid == 0 {
		t.Fatalf("held gate: pid line %q: %v", line, err)
	}
	return answers, pid, func() { c.Close() }
}

func waitAnswer(t *testing.T, ch chan answer) answer {
	t.Helper()
	select {
	case a := <-ch:
		return a
	case <-time.After(serveBound):
		t.Fatal("no answer from piv serve")
		return answer{}
	}
}

// One gate at a time per app and target (409), at most --max-concurrent at
// once (503 with Retry-After); the held gates then finish and pass.
func TestServeConcurrencyLimits(t *testing.T) {
	f, hold := serveFleet(t)
	s := startServe(t, f, serveOpts{extra: []string{"--max-concurrent", "2"}})
	a1, _, release1 := holdGate(t, s, hold, "app-01")
	busy := s.post(t, "/v1/gates", s.token, `{"app":"hold","node":"app-01","labelFilter":"functional"}`)
	if busy.status != http.StatusConflict || !strings.Contains(busy.errorMsg(), "already running") {
		t.Fatalf("same target: %d %s", busy.status, busy.body)
	}
	a2, _, release2 := holdGate(t, s, hold, "app-02")
	full := s.post(t, "/v1/gates", s.token, `{"app":"quote","node":"app-03","expectVersion":"2.4.0"}`)
	if full.status != http.StatusServiceUnavailable || full.header.Get("Retry-After") == "" || !strings.Contains(full.errorMsg(), "2 gates are running") {
		t.Fatalf("over the limit: %d %v %s", full.status, full.header, full.body)
	}
	if v, _ := sample(s.metrics(t), "piv_gates_running", map[string]string{}); v != 2 {
		t.Fatalf("piv_gates_running = %v, want 2", v)
	}
	release1()
	release2()
	for _, ch := range []chan answer{a1, a2} {
		a := waitAnswer(t, ch)
		if g := a.gate(t); a.status != 200 || g.Verdict != gate.Pass {
			t.Fatalf("held gate: %d %q %q\n%s", a.status, g.Verdict, g.Reason, s.log())
		}
	}
	// The target is free again.
	if a := s.post(t, "/v1/gates", s.token, `{"app":"quote","node":"app-03","expectVersion":"2.4.0"}`); a.status != 200 || a.gate(t).Verdict != gate.Pass {
		t.Fatalf("after the limit: %d %s", a.status, a.body)
	}
}

// SIGTERM with no drain: the running gate is interrupted, its caller gets
// an inconclusive gate.json, the report is kept, and no child is left.
func TestServeSIGTERMInterruptsRunningGates(t *testing.T) {
	f, hold := serveFleet(t)
	s := startServe(t, f, serveOpts{extra: []string{"--drain", "0s"}})
	ch, pid, release := holdGate(t, s, hold, "app-01")
	defer release()
	s.cmd.Process.Signal(syscall.SIGTERM)
	a := waitAnswer(t, ch)
	g := a.gate(t)
	if a.status != 200 || g.Verdict != gate.Inconclusive || !strings.Contains(g.Reason, "SIGTERM") {
		t.Fatalf("interrupted gate: %d %q %q\n%s", a.status, g.Verdict, g.Reason, s.log())
	}
	s.keptGate(t, g.RunID)
	select {
	case <-s.exited:
	case <-time.After(serveBound):
		t.Fatalf("piv serve still running after SIGTERM:\n%s", s.log())
	}
	if s.waitErr != nil {
		t.Fatalf("piv serve exit: %v\n%s", s.waitErr, s.log())
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("gate process %d still there after piv serve stopped: %v", pid, err)
	}
}

// SIGTERM with a drain: the running gate may finish, and passes.
func TestServeSIGTERMDrainsRunningGates(t *testing.T) {
	f, hold := serveFleet(t)
	s := startServe(t, f, serveOpts{extra: []string{"--drain", "60s"}})
	ch, _, release := holdGate(t, s, hold, "app-01")
	s.cmd.Process.Signal(syscall.SIGTERM)
	// Released only once the server has taken the signal.
	for i := 0; i < 900 && !strings.Contains(s.log(), "got SIGTERM"); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	release()
	a := waitAnswer(t, ch)
	if g := a.gate(t); a.status != 200 || g.Verdict != gate.Pass {
		t.Fatalf("drained gate: %d %q %q\n%s", a.status, g.Verdict, g.Reason, s.log())
	}
	select {
	case <-s.exited:
	case <-time.After(serveBound):
		t.Fatalf("piv serve still running:\n%s", s.log())
	}
	if s.waitErr != nil || !strings.Contains(s.log(), "piv serve: stopped") {
		t.Fatalf("exit %v\n%s", s.waitErr, s.log())
	}
}

// No authentication only on loopback; no token file is a usage error.
func TestServeAuthFlags(t *testing.T) {
	f, _ := serveFleet(t)
	for _, args := range [][]string{
		{"serve", "--insecure-no-auth", "--listen", "0.0.0.0:0"},
		{"serve", "--listen", "127.0.0.1:0"},
	} {
		r := pivRun(t, f, nil, args...)
		wantExit(t, r, 2)
		if !strings.Contains(r.stderr, "loopback") {
			t.Errorf("%v: %s", args, r.stderr)
		}
	}
	s := startServe(t, f, serveOpts{noToken: true})
	if a := s.post(t, "/v1/gates", "", `{"app":"quote","node":"app-09"}`); a.status != 404 {
		t.Fatalf("no-auth server: %d %s", a.status, a.body)
	}
	resp, err := serveClient.Get(s.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
}

// A gate that cannot start (piv's executable gone) answers inconclusive.
func TestServeGateThatCannotStartIsInconclusive(t *testing.T) {
	f, _ := serveFleet(t)
	bin := filepath.Join(t.TempDir(), "piv")
	b, err := os.ReadFile(pivBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, f, serveOpts{bin: bin})
	os.Remove(bin)
	a := s.post(t, "/v1/gates", s.token, `{"app":"quote","node":"app-02","expectVersion":"2.4.1"}`)
	g := a.gate(t)
	if a.status != 200 || g.Verdict != gate.Inconclusive || !strings.Contains(g.Reason, "could not start") {
		t.Fatalf("%d %q %q", a.status, g.Verdict, g.Reason)
	}
	if kept := readGate(t, s.reportDirs(t)[0]); kept == nil || kept.Verdict != gate.Inconclusive {
		t.Fatalf("kept: %+v", kept)
	}
}

// BenchmarkServeOverhead: the time piv serve adds to a gate over piv run,
// both measured in the same run against the same fleet and node.
func BenchmarkServeOverhead(b *testing.B) {
	f := fleettest.Three(b, nil)
	q := strings.Replace(f.YAML(""), "suites: [quote]\n", "", 1)
	os.WriteFile(filepath.Join(f.Dir, "quote.yaml"), []byte(q), 0o644)
	token := "bench-token"
	tf := filepath.Join(b.TempDir(), "token")
	os.WriteFile(tf, []byte(token), 0o600)
	out := b.TempDir()
	cmd := exec.Command(pivBin, "serve", "--listen", "127.0.0.1:0", "--config", f.Dir, "--token-file", tf, "--out", out)
	pr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	sc := bufio.NewScanner(pr)
	url := ""
	for url == "" && sc.Scan() {
		url, _ = strings.CutPrefix(sc.Text(), "piv serve: listening on ")
	}
	go io.Copy(io.Discard, pr)
	body := `{"app":"quote","node":"app-02","expectVersion":"2.4.1"}`
	pivRunOnce := func() time.Duration {
		start := time.Now()
		c := exec.Command(pivBin, "run", "quote", "--node=app-02", "--expect-version=2.4.1", "--format=json", "--out="+b.TempDir(), "--config="+f.Dir)
		c.Stdout, c.Stderr = io.Discard, io.Discard
		if err := c.Run(); err != nil {
			b.Fatalf("piv run: %v", err)
		}
		return time.Since(start)
	}
	var added []float64 // what the server adds around its child, from Server-Timing
	serveOnce := func() time.Duration {
		start := time.Now()
		req, _ := http.NewRequest("POST", url+"/v1/gates", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := serveClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		el := time.Since(start)
		var child float64
		if _, err := fmt.Sscanf(resp.Header.Get("Server-Timing"), `gate;desc="piv run";dur=%g`, &child); err != nil {
			b.Fatalf("Server-Timing %q: %v", resp.Header.Get("Server-Timing"), err)
		}
		added = append(added, el.Seconds()*1000-child)
		var g gate.Result
		if resp.StatusCode != 200 || json.Unmarshal(rb, &g) != nil || g.Verdict != gate.Pass {
			b.Fatalf("serve: %d %s", resp.StatusCode, rb)
		}
		return el
	}
	var runs, serves, diffs []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Alternate the order so neither side always runs on a warmer machine.
		var r, s time.Duration
		if i%2 == 0 {
			r, s = pivRunOnce(), serveOnce()
		} else {
			s, r = serveOnce(), pivRunOnce()
		}
		ms := func(d time.Duration) float64 { return d.Seconds() * 1000 }
		runs, serves, diffs = append(runs, ms(r)), append(serves, ms(s)), append(diffs, ms(s)-ms(r))
	}
	median := func(v []float64) float64 {
		w := append([]float64(nil), v...)
		sort.Float64s(w)
		if len(w)%2 == 1 {
			return w[len(w)/2]
		}
		return (w[len(w)/2-1] + w[len(w)/2]) / 2
	}
	b.ReportMetric(median(runs), "run-median-ms")
	b.ReportMetric(median(serves), "serve-median-ms")
	b.ReportMetric(median(diffs), "overhead-ms/gate")
	b.ReportMetric(median(added), "server-added-ms")
}

// piv serve killed outright (SIGKILL, no cleanup): its running gate still
// stops (the kernel sends it SIGTERM) and writes its inconclusive report.
func TestServeKilledLeavesNoGateBehind(t *testing.T) {
	f, hold := serveFleet(t)
	// The gate's own bound is far beyond this test's: only the kernel's
	// signal can stop it in time.
	s := startServe(t, f, serveOpts{extra: []string{"--timeout", "10m"}})
	_, pid, release := holdGate(t, s, hold, "app-01")
	defer release()
	s.cmd.Process.Kill()
	gone := func() bool {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		// A zombie nobody reaped has stopped all the same.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		return len(f) > 0 && f[0] == "Z"
	}
	for i := 0; i < 900 && !gone(); i++ {
		time.Sleep(100 * time.Millisecond)
	}
	if !gone() {
		t.Fatalf("gate process %d still running after piv serve was killed", pid)
	}
	dirs := s.reportDirs(t)
	if len(dirs) != 1 {
		t.Fatalf("report folders %v", dirs)
	}
	if g := readGate(t, dirs[0]); g == nil || g.Verdict != gate.Inconclusive {
		t.Fatalf("the orphaned gate's report: %+v", g)
	}
}

// "remediation" names a record in --remediations: the gate verifies it and
// gate.json carries its id; a name not in the folder is 404, a path 400.
func TestServeRemediation(t *testing.T) {
	f, _ := serveFleet(t)
	rec := remediationRecord(t, time.Now().Add(-time.Hour), "")
	s := startServe(t, f, serveOpts{extra: []string{"--remediations", filepath.Dir(rec)}})
	a := s.post(t, "/v1/gates", s.token, `{"app":"quote","node":"app-02","expectVersion":"2.4.1","labelFilter":"technical || remediation","remediation":"`+filepath.Base(rec)+`"}`)
	g := a.gate(t)
	if a.status != 200 || g.Verdict != gate.Pass || g.Remediation == nil || g.Remediation.ID != "CHG-2026-0412" || len(remediationChecks(g)) == 0 {
		t.Fatalf("%d %q %q remediation %+v\n%s", a.status, g.Verdict, g.Reason, g.Remediation, s.log())
	}
	if a := s.post(t, "/v1/gates", s.token, `{"app":"quote","node":"app-02","remediation":"CHG-1999-0001.yaml"}`); a.status != 404 {
		t.Fatalf("unknown record: %d %s", a.status, a.body)
	}
	if a := s.post(t, "/v1/gates", s.token, `{"app":"quote","node":"app-02","remediation":"`+rec+`"}`); a.status != 400 {
		t.Fatalf("a path: %d %s", a.status, a.body)
	}
}

// scope fleet is `piv run --fleet`: every node and the service in one gate;
// round robin cannot hide app-03's wrong version.
func TestServeFleetScope(t *testing.T) {
	f, _ := serveFleet(t)
	s := startServe(t, f, serveOpts{})
	a := s.post(t, "/v1/gates", s.token, `{"app":"quote","scope":"fleet","expectVersion":"2.4.1"}`)
	g := a.gate(t)
	if a.status != 200 || g.Verdict != gate.Fail || g.Target.Scope != "fleet" || !strings.Contains(g.Reason, "app-03") {
		t.Fatalf("%d %q %q %+v\n%s", a.status, g.Verdict, g.Reason, g.Target, s.log())
	}
	if v, _ := sample(s.metrics(t), "piv_gates_total", map[string]string{"app": "quote", "target": "fleet", "verdict": "fail"}); v != 1 {
		t.Fatalf("piv_gates_total{target=fleet,verdict=fail} = %v", v)
	}
}
