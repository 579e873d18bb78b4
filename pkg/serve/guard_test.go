package serve

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// postWith sends body with the given headers (no defaults).
func postWith(t *testing.T, url, body string, h map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	for k, v := range h {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// ran says whether a child ran (it leaves a marker).
func markerChild(t *testing.T) (exe, marker string) {
	marker = filepath.Join(t.TempDir(), "ran")
	return child(t, "touch "+marker+"; echo '"+gateJSON("pass")+"'; exit 0"), marker
}

func ran(marker string) bool { _, err := os.Stat(marker); return err == nil }

// F8: a key given twice, at any depth, is a 400 before anything runs:
// encoding/json would keep the last one, a reader the first.
func TestDuplicateKeysAre400(t *testing.T) {
	exe, marker := markerChild(t)
	_, hs, _ := newTestServer(t, exe, func(o *Options) { o.FlaggerMetadataToken = "token" })
	for _, c := range []struct{ path, body, key string }{
		{"/v1/gates", `{"app":"quote","node":"down","node":"app-02"}`, `"node" at the top level`},
		{"/v1/gates", `{"app":"quote","app":"quote","scope":"service"}`, `"app" at the top level`},
		{"/v1/flagger", `{"name":"c","namespace":"n","phase":"Progressing","metadata":{"app":"quote","node":"down","node":"app-02","token":"tok-123"}}`, `"node" at metadata`},
		{"/v1/flagger", `{"name":"c","name":"d","namespace":"n","metadata":{"app":"quote","node":"app-02","token":"tok-123"}}`, `"name" at the top level`},
		{"/v1/flagger", `{"name":"c","namespace":"n","metadata":{"app":"quote","node":"app-02","token":"x","token":"tok-123"}}`, `"token" at metadata`},
	} {
		status, _, body := post(t, hs.URL+c.path, "tok-123", c.body)
		if status != 400 || !strings.Contains(errorOf(body)+body, "duplicate key "+c.key) {
			t.Errorf("%s %s: %d %s, want 400 naming duplicate key %s", c.path, c.body, status, body, c.key)
		}
	}
	if ran(marker) {
		t.Fatal("a gate ran for a request with a duplicate key")
	}
	// Repeated keys in different objects are fine.
	if status, _, body := post(t, hs.URL+"/v1/flagger", "tok-123", `{"name":"c","namespace":"n","metadata":{"app":"quote","node":"app-02","token":"tok-123"},"x":{"name":"y"}}`); status != 200 {
		t.Fatalf("distinct objects: %d %s", status, body)
	}
}

// V1: a POST that is not Content-Type application/json is a 415, always:
// a browser sends text/plain cross-site without asking.
func TestPostsNeedJSONContentType(t *testing.T) {
	exe, marker := markerChild(t)
	_, hs, _ := newTestServer(t, exe, nil)
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/jsonx"} {
		for _, path := range []string{"/v1/gates", "/v1/flagger"} {
			status, body := postWith(t, hs.URL+path, nodeGate, map[string]string{"Authorization": "Bearer tok-123", "Content-Type": ct})
			if status != http.StatusUnsupportedMediaType {
				t.Errorf("%s with Content-Type %q: %d %s, want 415", path, ct, status, body)
			}
		}
	}
	if ran(marker) {
		t.Fatal("a gate ran for a non-JSON POST")
	}
	if status, body := postWith(t, hs.URL+"/v1/gates", nodeGate, map[string]string{"Authorization": "Bearer tok-123", "Content-Type": "application/json; charset=utf-8"}); status != 200 {
		t.Fatalf("application/json; charset=utf-8: %d %s", status, body)
	}
}

// V1: without a token only a loopback Host and no Origin are answered
// (DNS rebinding, CSRF from a page on the developer's machine).
func TestNoAuthAnswersOnlyLocalPrograms(t *testing.T) {
	exe, marker := markerChild(t)
	_, hs, _ := newTestServer(t, exe, func(o *Options) { o.Token = nil })
	json := map[string]string{"Content-Type": "application/json"}
	with := func(k, v string) map[string]string {
		m := map[string]string{"Content-Type": "application/json"}
		m[k] = v
		return m
	}
	for name, h := range map[string]map[string]string{
		"rebound Host":         with("Host", "evil.example:8089"),
		"rebound Host no port": with("Host", "attacker.test"),
		"a page's Origin":      with("Origin", "https://evil.example"),
		"a null Origin":        with("Origin", "null"),
		"a local page":         with("Origin", "http://127.0.0.1:8089"),
	} {
		status, body := postWith(t, hs.URL+"/v1/gates", nodeGate, h)
		if status != http.StatusForbidden {
			t.Errorf("%s: %d %s, want 403", name, status, body)
		}
	}
	if ran(marker) {
		t.Fatal("a gate ran for a cross-site or rebound request")
	}
	for _, host := range []string{"", "localhost:8089", "[::1]:8089", "127.0.0.1"} {
		h := json
		if host != "" {
			h = with("Host", host)
		}
		if status, body := postWith(t, hs.URL+"/v1/gates", nodeGate, h); status != 200 {
			t.Fatalf("Host %q: %d %s", host, status, body)
		}
		os.Remove(marker)
	}
}
