package piv

import (
	"strings"
	"testing"

	"github.com/piv-gate/piv/pkg/config"
)

// An unset secret stops the spec and is recorded on the run, once, with a
// reason naming the variable and how to provide it.
func TestMissingSecretIsRecordedOnTheRun(t *testing.T) {
	prev := Current()
	defer func() {
		if prev != nil {
			Bind(prev)
		}
	}()
	r := &Run{App: &config.App{App: "quote"}}
	Bind(r)
	t.Setenv("PIV_TEST_EMPTY_SECRET", "")
	for range 2 {
		func() {
			defer func() {
				if recover() == nil {
					t.Fatal("Secret did not stop the spec")
				}
			}()
			Secret("PIV_TEST_EMPTY_SECRET")
		}()
	}
	func() {
		defer func() { recover() }()
		Secret("PIV_TEST_UNSET_SECRET_X")
	}()
	got := r.MissingSecrets()
	if strings.Join(got, ",") != "PIV_TEST_EMPTY_SECRET,PIV_TEST_UNSET_SECRET_X" {
		t.Fatalf("MissingSecrets = %v", got)
	}
	reason := MissingSecretsReason(got)
	for _, want := range []string{"export PIV_TEST_EMPTY_SECRET=", "export PIV_TEST_UNSET_SECRET_X=", "not set"} {
		if !strings.Contains(reason, want) {
			t.Errorf("reason %q lacks %q", reason, want)
		}
	}
	t.Setenv("PIV_TEST_SET_SECRET", "present-value")
	if s := Secret("PIV_TEST_SET_SECRET"); s.Value() != "present-value" || len(r.MissingSecrets()) != 2 {
		t.Fatalf("a set secret: %v %v", s, r.MissingSecrets())
	}
}
