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
func Secret(name string) secret.Secret {
	ginkgo.GinkgoHelper()
	v, ok := os.LookupEnv(name)
	if !ok || v == "" {
		if r := Current(); r != nil {
			r.missingSecret(name)
		}
		failf("%s", MissingSecretsReason([]string{name}))
	}
	if len(v) < 4 {
		failf("secret %s is shorter than 4 characters: too short to redact safely", name)
	}
	if !utf8.ValidString(v) {
		// Registered anyway: whatever is printed next is still redacted.
		secret.Register(v)
		failf("secret %s is not valid UTF-8: it cannot be redacted in every form", name)
	}
	return secret.New(name, v)
}

func (r *Run) missingSecret(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !slices.Contains(r.missing, name) {
		r.missing = append(r.missing, name)
	}
}

// MissingSecrets lists, in the order first asked for, the secrets a spec
// read with Secret whose variable was unset or empty. Non-empty means the
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
