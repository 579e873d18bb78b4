package piv

import (
	"github.com/onsi/ginkgo/v2"

	"os"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/piv-gate/piv/pkg/secret"
)

// Secret reads a secret from the environment variable name. The value is
// redacted from every output, in every form, from this moment on.
//
// An unset or empty variable is a configuration error of the run (exit 2),
// not a verdict on the deployment: the spec stops, and the name is
// recorded on the run (Run.MissingSecrets) so the gate says which variable
// to export instead of failing the node. A pipeline's unset secret would
// otherwise roll back a good release.
//
// A value piv cannot redact safely is the same configuration error: blank
// or only whitespace (an empty pipeline variable with a newline), shorter
// than 4 bytes (redacting it would mangle every report, so it would not
// be redacted at all), or not valid UTF-8 (its forms cannot all be
// matched). It is recorded on the run like a missing one, so the gate
// exits 2 naming the variable rather than failing the node.
func Secret(name string) secret.Secret {
	ginkgo.GinkgoHelper()
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		secretUnusable(name)
		failf("%s", MissingSecretsReason([]string{name}))
	}
	if why := unusableSecret(v); why != "" {
		if len(v) >= 4 && strings.TrimSpace(v) != "" {
			// Registered anyway (invalid UTF-8): whatever is printed next
			// is still redacted as well as it can be.
			secret.Register(v)
		}
		secretUnusable(name)
		failf("secret %s is unusable: %s: export a usable value in the environment that runs piv (a configuration error, not a verdict)", name, why)
	}
	return secret.New(name, v)
}

// unusableSecret says why v cannot be a secret, or "".
func unusableSecret(v string) string {
	switch {
	case strings.TrimSpace(v) == "":
		return "it is blank (only whitespace)"
	case len(v) < 4:
		return "it is shorter than 4 bytes, too short to redact safely"
	case !utf8.ValidString(v):
		return "it is not valid UTF-8, so it cannot be redacted in every form"
	}
	return ""
}

func secretUnusable(name string) {
	if r := Current(); r != nil {
		r.missingSecret(name)
	}
}

func (r *Run) missingSecret(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.missing, name) {
		r.missing = append(r.missing, name)
	}
}

// MissingSecrets lists, in the order first asked for, the secrets a spec
// read with Secret whose variable was unset, empty or unusable (blank,
// shorter than 4 bytes, not UTF-8). Non-empty means the
// run is a configuration error (exit 2) whatever the checks say: the gate
// could not verify what it was asked to, and the deployment is not to
// blame. MissingSecretsReason says it in words for gate.json.
func (r *Run) MissingSecrets() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.missing)
}

// MissingSecretsReason is the gate's reason for missing secrets: which
// variables, and that they must be exported where piv runs.
func MissingSecretsReason(names []string) string {
	if len(names) == 0 {
		return ""
	}
	var exports []string
	for _, n := range names {
		exports = append(exports, "export "+n+"=…")
	}
	what := "secret " + names[0] + " is"
	if len(names) > 1 {
		what = "secrets " + strings.Join(names, ", ") + " are"
	}
	return what + " not set: " + strings.Join(exports, "; ") +
		" in the environment that runs piv (secrets are never read from files or flags)"
}
