package cli

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/gate"
)

// SecretLeaksEnvVar is selftest.SecretLeaksEnv (suites/selftest builds
// only with -tags pivselftest).
const SecretLeaksEnvVar = "PIV_SELFTEST_SECRETLEAKS_VALUE"

// leakSecret is the attack's secret: HTML, URL and JSON specials,
// non-ASCII, and long enough for Gomega to truncate and hex.Dump to take
// four lines.
const leakSecret = `Zq8"<p&ss>/w rd+ÄÖ-LongTail0123456789abcdefghijklmnopqrstuvwx`

// leakForms are the forms of v the attack found in piv's output, beyond
// secretForms: the name an attachment's file would get, hex with
// separators, a decimal byte list, and base64 wrapped at 20 characters.
func leakForms(v string) map[string]string {
	f := secretForms(v)
	f["sanitised file name"] = regexp.MustCompile(`[^a-zA-Z0-9._-]+`).ReplaceAllString(v, "_")
	f["% x"] = fmt.Sprintf("% x", v)
	f["hex"] = hex.EncodeToString([]byte(v))
	f["byte list"] = strings.Trim(fmt.Sprint([]byte(v)), "[]")
	b64 := base64.StdEncoding.EncodeToString([]byte(v))
	for i := 0; i+20 <= len(b64); i += 20 {
		f[fmt.Sprintf("base64 line %d", i/20)] = b64[i : i+20]
	}
	for i := 0; i+4 <= len(v); i += 4 {
		f[fmt.Sprintf("spaced hex of bytes %d-%d", i, i+4)] = fmt.Sprintf("% x", v[i:i+4])
	}
	for i := 0; i+10 <= len(v); i++ {
		f[fmt.Sprintf("fragment %d", i)] = v[i : i+10]
	}
	return f
}

// media is every byte the run produced, by where: stdout, stderr, every
// file under --out, and the files' names.
func media(t *testing.T, r runOut) map[string][]byte {
	t.Helper()
	m := map[string][]byte{"stdout": []byte(r.stdout), "stderr": []byte(r.stderr)}
	var names []string
	err := filepath.Walk(r.out, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		names = append(names, strings.TrimPrefix(p, r.out))
		if !info.IsDir() {
			b, rerr := os.ReadFile(p)
			if rerr != nil {
				return rerr
			}
			m[strings.TrimPrefix(p, r.out+"/")] = b
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m["file names"] = []byte(strings.Join(names, "\n"))
	return m
}

func wantNoLeak(t *testing.T, r runOut, values ...string) {
	t.Helper()
	for medium, b := range media(t, r) {
		for _, v := range values {
			for form, enc := range leakForms(v) {
				if i := bytes.Index(b, []byte(enc)); i >= 0 {
					t.Errorf("%s holds the secret %s: %q", medium, form, b[max(0, i-40):min(len(b), i+len(enc)+20)])
				}
			}
		}
	}
}

func leakRun(t *testing.T, leak string, env ...string) runOut {
	t.Helper()
	dir := secretsAppFor(t, "selftest-secretleaks", "settings: { leak: "+leak+" }\n")
	return pivRun(t, nil, env, "run", "secrets", "--node", "app-01", "--label-filter", "functional", "--config", dir)
}

// S2: an attachment named after the secret gets a file name, a gate.json
// entry and a listing that hold it in no form, sanitised included.
func TestSecretNotInAttachmentNames(t *testing.T) {
	r := leakRun(t, "attachname", SecretLeaksEnvVar+"="+leakSecret)
	wantExit(t, r, 1)
	wantNoLeak(t, r, leakSecret)
	found := false
	for name := range media(t, r) {
		if strings.HasPrefix(name, "attachments/") && strings.Contains(name, "creds-") {
			found = true
		}
	}
	if !found {
		t.Errorf("the attachment is not there (redacted, not dropped):\n%s", r.stdout)
	}
}

// S5: two long secrets that differ in the middle: Gomega's diff no longer
// shows a cut (unredactable) piece of either, and the message in gate.json
// is whole, redacted.
func TestSecretNotCutByGomega(t *testing.T) {
	other := []byte(leakSecret)
	other[len(other)/2] ^= 1
	r := leakRun(t, "gomegalong", SecretLeaksEnvVar+"="+leakSecret, SecretLeaksEnvVar+"_OTHER="+string(other))
	wantExit(t, r, 1)
	wantNoLeak(t, r, leakSecret, string(other))
	if len(r.gate.Checks) == 0 || r.gate.Checks[0].Failure == nil || !strings.Contains(r.gate.Checks[0].Failure.Message, "[REDACTED]") {
		t.Errorf("the failure should show the values redacted: %+v", r.gate.Checks)
	}
}

// S5, the attack's own form: the secret against a copy of it with one
// character changed (not a secret): neither shows, whole or in pieces.
func TestSecretNotShownByGomegaNearCopy(t *testing.T) {
	r := leakRun(t, "gomeganear", SecretLeaksEnvVar+"="+leakSecret)
	wantExit(t, r, 1)
	wantNoLeak(t, r, leakSecret)
}

// S3, S4, S7: base64 wrapped over lines, hex with separators, hex.Dump
// (its ASCII column is the secret in 16-byte pieces) and a decimal byte
// list, on GinkgoWriter, in an attachment and in the failure.
func TestSecretNotInWrappedHexOrByteLists(t *testing.T) {
	r := leakRun(t, "encodings", SecretLeaksEnvVar+"="+leakSecret)
	wantExit(t, r, 1)
	wantNoLeak(t, r, leakSecret)
	for _, want := range []string{"bytes: ", "list: ", "mime body: ", "dump:"} {
		if !strings.Contains(r.stdout+r.stderr, want) {
			t.Errorf("the failure is not shown (%q missing)", want)
		}
	}
}

// S6: the secret drawn in red on a canvas does not show in the failure's
// screenshot.
func TestSecretNotOnACanvasInTheScreenshot(t *testing.T) {
	r := leakRun(t, "canvas", SecretLeaksEnvVar+"="+leakSecret)
	wantExit(t, r, 1)
	wantNoLeak(t, r, leakSecret)
	var shot []byte
	for name, b := range media(t, r) {
		if strings.HasSuffix(name, "screenshot.png") {
			shot = b
		}
	}
	if shot == nil {
		t.Fatalf("no screenshot attached:\n%s", r.stdout)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	red := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			if r>>8 > 180 && g>>8 < 90 && b>>8 < 90 {
				red++
			}
		}
	}
	if red != 0 {
		t.Errorf("the screenshot shows %d red pixels: the canvas was not covered", red)
	}
}

// H4: a secret piv cannot redact safely (too short, blank, not UTF-8) is
// a configuration error, exit 2, naming the variable, like a missing one.
func TestSecretUnusableIsAConfigError(t *testing.T) {
	for name, v := range map[string]string{"short": "abc", "blank": "   \t ", "not UTF-8": "pass\xff\xfeword"} {
		t.Run(name, func(t *testing.T) {
			r := leakRun(t, "read", SecretLeaksEnvVar+"="+v)
			wantExit(t, r, 2)
			if r.gate == nil || len(r.gate.MissingSecrets) != 1 || r.gate.MissingSecrets[0] != SecretLeaksEnvVar {
				t.Fatalf("gate.json should name %s as a configuration error: %+v", SecretLeaksEnvVar, r.gate)
			}
			if !strings.Contains(r.stdout+r.stderr, SecretLeaksEnvVar) {
				t.Errorf("the output does not name the variable")
			}
		})
	}
}

// H4: a secret that is also JSON ("null", "pass") leaves gate.json valid
// JSON, redacted.
func TestSecretThatIsJSONKeepsGateJSONValid(t *testing.T) {
	for _, v := range []string{"null", "pass", "true"} {
		t.Run(v, func(t *testing.T) {
			r := leakRun(t, "observe", SecretLeaksEnvVar+"="+v)
			b, err := os.ReadFile(filepath.Join(r.out, "gate.json"))
			if err != nil {
				t.Fatalf("no gate.json: %s", r.explain())
			}
			if !json.Valid(b) {
				t.Fatalf("gate.json is not valid JSON:\n%s", b)
			}
			// The check passes: the verdict is still one a pipeline reads.
			wantExit(t, r, 0)
			if r.gate.Verdict != gate.Pass {
				t.Errorf("verdict %q, want pass:\n%s", r.gate.Verdict, b)
			}
			if bytes.Contains(b, []byte(`"as `+v)) || !bytes.Contains(b, []byte(`"as [REDACTED]"`)) {
				t.Errorf("the observation is not redacted:\n%s", b)
			}
		})
	}
}
