//go:build pivselftest

package selftest

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/piv-gate/piv/pkg/piv"
)

// SecretLeaksEnv is the variable the secret-leaks selftest reads.
const SecretLeaksEnv = "PIV_SELFTEST_SECRETLEAKS_VALUE"

// The ways a secret got out past the redactor in the attack of issue 8
// (one per settings.leak), for cli/secretleaks_test.go to search every
// byte piv produced for:
//
//   - attachname: the secret in an attachment's name;
//   - gomegalong: Gomega's diff of two long secrets, which it truncated;
//   - gomeganear: the same with the secret and a copy one character off;
//   - encodings: base64 wrapped over lines (MIME), "% x", hex.Dump and a
//     decimal byte list, on GinkgoWriter (in pieces), in an attachment
//     and in the failure;
//   - canvas: the secret drawn in red on a canvas on the failing page;
//   - observe: an observation of null and the secret, which passes (for
//     a secret that is also JSON: null, pass);
//   - read: only reads the secret and fails (for unusable values).
var _ = piv.Describe("selftest-secretleaks", "secret leaks of issue 8", func() {
	It("leaks nothing it is given", piv.Functional, piv.Browser, func(ctx SpecContext) {
		s := piv.Secret(SecretLeaksEnv)
		v := s.Value()
		switch piv.SettingOr("leak", "read") {
		case "attachname":
			piv.Attach("creds-"+v+".txt", "text/plain", []byte("attached\n"))
			Fail("attached")
		case "gomegalong":
			// Two secrets that differ in the middle (a token and the one
			// expected): Gomega's truncated diff showed the bytes around
			// the difference, a fragment no redactor recognises.
			Expect(v).To(Equal(piv.Secret(SecretLeaksEnv + "_OTHER").Value()))
		case "gomeganear":
			// The attack's: the expected value is the secret with one
			// character changed, not itself a secret.
			other := []byte(v)
			other[len(other)/2] ^= 1
			Expect(v).To(Equal(string(other)))
		case "encodings":
			b64 := base64.StdEncoding.EncodeToString([]byte(v))
			var mime strings.Builder
			for len(b64) > 20 {
				mime.WriteString(b64[:20] + "\r\n")
				b64 = b64[20:]
			}
			mime.WriteString(b64)
			GinkgoWriter.Printf("% x\n", v)
			GinkgoWriter.Println(hex.Dump([]byte(v)))
			d := hex.Dumper(GinkgoWriter)
			d.Write([]byte(v))
			d.Close()
			GinkgoWriter.Println("\nmime:\n" + mime.String())
			piv.Attach("body.txt", "text/plain", []byte(mime.String()+"\n"+hex.Dump([]byte(v))))
			Fail(fmt.Sprintf("bytes: % x\nlist: %v\nmime body: %s\ndump:\n%s", v, []byte(v), mime.String(), hex.Dump([]byte(v))))
		case "canvas":
			js := `const v = new TextDecoder().decode(Uint8Array.from(atob("` + base64.StdEncoding.EncodeToString([]byte(v)) + `"), (c) => c.charCodeAt(0)));
document.querySelectorAll(".s").forEach((e) => e.remove());
const c = document.createElement("canvas"); c.width = 1200; c.height = 100; document.body.prepend(c);
const g = c.getContext("2d"); g.fillStyle = "#f00"; g.font = "40px sans-serif"; g.fillText(v, 10, 60);`
			piv.OpenPage(ctx, "/echo?"+url.Values{"pw": {"nothing"}, "js": {js}}.Encode())
			Fail("page check failed")
		case "observe":
			piv.Observe("note", nil)
			piv.Observe("login", "as "+v)
		case "read":
			Fail("selftest: piv.Secret returned for an unusable value")
		}
	})
})
