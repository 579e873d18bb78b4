package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"

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
