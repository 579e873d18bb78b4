package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"

	"github.com/piv-gate/piv/pkg/gate"
)

// JSON renders gate.json: indented, fields in the order of the gate types,
// "checks", every check's "labels" and "attachments" as [] rather than null,
// startedAt in UTC, and a trailing newline. An empty Schema is written as
// gate.Schema. r is not modified.
func JSON(r *gate.Result) ([]byte, error) {
	c := normalized(r)
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // messages quote HTML; "<" reads better than "\u003c"
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil // Encode ends with a newline
}

// normalized returns a shallow copy of r with nil slices replaced by empty
// ones, so gate.json never says null where the schema says array.
func normalized(r *gate.Result) *gate.Result {
	c := *r
	if c.Schema == "" {
		c.Schema = gate.Schema
	}
	c.StartedAt = c.StartedAt.UTC()
	c.Checks = make([]gate.Check, len(r.Checks))
	for i, ch := range r.Checks {
		if ch.Labels == nil {
			ch.Labels = []string{}
		}
		if ch.Attachments == nil {
			ch.Attachments = []gate.Attachment{}
		}
		c.Checks[i] = ch
	}
	return &c
}

// WriteFileAtomic writes data to path so that readers see either the old
// file or the complete new one, never a partial write: a temporary file in
// the same directory, fsync, rename, then a best-effort fsync of the
// directory so the rename itself survives a crash. The file is 0644.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not supported everywhere; the data itself is already synced
		d.Close()
	}
	return nil
}

// RedactJSON applies redact to every string of the JSON text b — object
// keys and string values — and to nothing else, so the result is still
// valid JSON with the same shape and layout. Redacting the serialized
// bytes instead breaks the document when a secret is also JSON syntax or a
// key ("null", "pass", `", "`): the mask replaces the syntax. Each string
// is decoded before redact sees it (so a JSON-escaped secret is the
// secret again) and encoded back only when redact changed it, HTML left
// unescaped as JSON writes it. Numbers, true, false and null are left as
// they are. b must be valid JSON (report.JSON's output); an error says
// where it is not.
func RedactJSON(b []byte, redact func(string) string) ([]byte, error) {
	return redactJSON(b, redact, nil)
}

// RedactGateJSON is RedactJSON for gate.json: gate.json's own vocabulary
// is kept — its keys (every json name of the gate types) and the words
// of its enumerations (verdicts, check states, scopes, the schema) where
// a whole string is one — so that a secret that happens to be "pass" or
// "failed" does not turn the verdict into "[REDACTED]", which no pipeline
// could read. Such a word in any longer text (a reason, a message) is
// redacted as usual.
//
// ids are further whole values to keep: the run's own identity (its app,
// run ID, node, address, URL, image), which come from the definition and
// the command line, not from a secret, and which the supervising process
// matches gate.json by (an app "m-pass" with a secret "pass" must still
// be recognised as this run's).
func RedactGateJSON(b []byte, redact func(string) string, ids ...string) ([]byte, error) {
	return redactJSON(b, redact, func(s string, key bool) bool {
		if key {
			return gateKeys[s]
		}
		return gateWords[s] || s != "" && slices.Contains(ids, s)
	})
}

var gateKeys, gateWords = vocabulary()

func vocabulary() (keys, words map[string]bool) {
	keys, words = map[string]bool{}, map[string]bool{gate.Schema: true}
	for _, w := range []string{string(gate.Pass), string(gate.Fail), string(gate.Inconclusive),
		string(gate.Passed), string(gate.Failed), string(gate.Flaky), string(gate.Skipped), string(gate.Panicked), string(gate.Aborted),
		"node", "service", "image"} {
		words[w] = true
	}
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if name, _, _ := strings.Cut(f.Tag.Get("json"), ","); name != "" && name != "-" {
				keys[name] = true
			} else if f.IsExported() {
				keys[f.Name] = true
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(gate.Result{}))
	return keys, words
}

func redactJSON(b []byte, redact func(string) string, keep func(s string, key bool) bool) ([]byte, error) {
	if !json.Valid(b) {
		return nil, errors.New("report: RedactJSON: not valid JSON")
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		if b[i] != '"' {
			out = append(out, b[i])
			i++
			continue
		}
		// b is valid JSON, so a quote outside a string opens one; find its
		// end past escaped characters.
		j := i + 1
		for b[j] != '"' {
			if b[j] == '\\' {
				j++
			}
			j++
		}
		tok := b[i : j+1]
		var s string
		if err := json.Unmarshal(tok, &s); err != nil {
			return nil, fmt.Errorf("report: RedactJSON: string at %d: %w", i, err)
		}
		if keep != nil {
			k := j + 1
			for k < len(b) && (b[k] == ' ' || b[k] == '\n' || b[k] == '\t' || b[k] == '\r') {
				k++
			}
			if keep(s, k < len(b) && b[k] == ':') {
				out = append(out, tok...)
				i = j + 1
				continue
			}
		}
		if r := redact(s); r != s {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			if err := enc.Encode(r); err != nil {
				return nil, err
			}
			out = append(out, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
		} else {
			out = append(out, tok...)
		}
		i = j + 1
	}
	return out, nil
}
