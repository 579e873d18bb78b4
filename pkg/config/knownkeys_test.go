package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The "known keys" an unknown-key error lists must be every YAML key of that
// section: a list that lags behind the types tells a user that a key which
// exists (owner, exposure) does not. Walks the types from App, so a new
// section or key without its entry fails here.
func TestKnownKeysListEveryYAMLKey(t *testing.T) {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(typ reflect.Type) {
		for typ.Kind() == reflect.Pointer || typ.Kind() == reflect.Slice || typ.Kind() == reflect.Map {
			typ = typ.Elem()
		}
		if typ.Kind() != reflect.Struct || typ.PkgPath() != reflect.TypeOf(App{}).PkgPath() || seen[typ] {
			return
		}
		seen[typ] = true
		var keys []string
		for i := range typ.NumField() {
			f := typ.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			keys = append(keys, tag)
			walk(f.Type)
		}
		if len(keys) == 0 {
			return
		}
		got := slices.Clone(knownKeys[typ.Name()])
		slices.Sort(got)
		slices.Sort(keys)
		if !slices.Equal(got, keys) {
			t.Errorf("knownKeys[%q] = %v, the type's YAML keys are %v", typ.Name(), knownKeys[typ.Name()], keys)
		}
	}
	walk(reflect.TypeOf(App{}))
	if !seen[reflect.TypeOf(Owner{})] {
		t.Fatal("the walk did not reach Owner")
	}
}

func TestUnknownOwnerKeyNamesTheKnownOnes(t *testing.T) {
	_, err := Parse("claims.yaml", []byte("app: claims\nservice: {url: \"https://claims.test\"}\nowner: {team: claims, email: x}\n"))
	if err == nil || !strings.Contains(err.Error(), `claims.yaml:3: unknown key "email" in owner (known keys: team, tribe, contact)`) {
		t.Fatalf("got %v", err)
	}
}
