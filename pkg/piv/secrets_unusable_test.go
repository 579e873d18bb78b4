package piv

import (
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/config"
)

// A value piv cannot redact safely is recorded on the run like a missing
// one (exit 2 through gate.Result.MissingSecrets), not a failed check.
func TestUnusableSecretIsRecordedLikeAMissingOne(t *testing.T) {
	prev := Current()
	defer func() {
		if prev != nil {
			Bind(prev)
		}
	}()
	r := &Run{App: &config.App{App: "quote"}}
	Bind(r)
	cases := map[string]string{
		"PIV_TEST_SHORT_SECRET":   "abc",
		"PIV_TEST_BLANK_SECRET":   " \t\n ",
		"PIV_TEST_SPACE1_SECRET":  " ",
		"PIV_TEST_NOTUTF8_SECRET": "ab\xffcdef",
	}
	var names []string
	for name, v := range cases {
		t.Setenv(name, v)
		names = append(names, name)
		func() {
			defer func() {
				rec := recover()
				if rec == nil {
					t.Fatalf("%s=%q: Secret did not stop the spec", name, v)
				}
				if msg := strings.ToLower(strings.TrimSpace(toString(rec))); v != "" && strings.Contains(msg, strings.TrimSpace(v)) && strings.TrimSpace(v) != "" {
					t.Errorf("%s: the failure quotes the value", name)
				}
			}()
			Secret(name)
		}()
	}
	got := r.MissingSecrets()
	if len(got) != len(names) {
		t.Fatalf("MissingSecrets = %v, want all of %v", got, names)
	}
	for _, n := range names {
		if !strings.Contains(strings.Join(got, ","), n) {
			t.Errorf("%s not recorded: %v", n, got)
		}
	}
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	if e, ok := v.(error); ok {
		return e.Error()
	}
	return ""
}
